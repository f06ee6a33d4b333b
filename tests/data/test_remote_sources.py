"""s3:// against moto's S3 server and http:// against an HTTP server, both on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.parsing import parse_spec
from modelmonitor.checks import run_checks
from modelmonitor.errors import SourceError
from tests.checks.conftest import NOW, logged, spec_for
from tests.servers import local_server


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with local_server([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "{port}"]) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch, s3_endpoint: str) -> str:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return s3_endpoint


def _upload(endpoint: str, bucket: str, files: dict[str, pa.Table]) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    for key, table in files.items():
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        s3.put_object(Bucket=bucket, Key=key, Body=sink.getvalue().to_pybytes())


def test_s3_files_and_partitioned_directories(s3_env: str) -> None:
    current = logged(2000, seed=1)
    _upload(
        s3_env,
        "logs",
        {
            "credit/day=1/part-0.parquet": current.slice(0, 1000),
            "credit/day=2/part-0.parquet": current.slice(1000),
            "train.parquet": logged(3000, seed=2),
        },
    )
    spec = spec_for("s3://logs/credit/", "s3://logs/train.parquet")
    spec["data"]["columns"]["features"] = ["x", "y", "colour"]
    results = run_checks(parse_spec(spec), now=NOW)
    assert results.window.rows == 2000 and results.reference_rows == 3000
    assert results.healthy, results.to_document()


def test_a_missing_s3_object_is_a_source_error(s3_env: str) -> None:
    _upload(s3_env, "empty-bucket", {})
    spec = spec_for("s3://empty-bucket/nothing.parquet", "s3://empty-bucket/nothing.parquet")
    with pytest.raises(SourceError, match=r"s3://empty-bucket/nothing\.parquet"):
        run_checks(parse_spec(spec), now=NOW)


def test_http_files(tmp_path: Path) -> None:
    pq.write_table(logged(1500, seed=3), tmp_path / "current.parquet")
    pq.write_table(logged(1500, seed=4), tmp_path / "reference.parquet")
    argv = [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    with local_server(argv) as port:
        base = f"http://127.0.0.1:{port}"
        results = run_checks(parse_spec(spec_for(f"{base}/current.parquet", f"{base}/reference.parquet")), now=NOW)
        assert results.window.rows == 1500 and results.healthy
        with pytest.raises(SourceError, match=r"missing\.parquet"):
            run_checks(parse_spec(spec_for(f"{base}/missing.parquet", f"{base}/reference.parquet")), now=NOW)


def test_file_uris(tmp_path: Path) -> None:
    pq.write_table(logged(500, seed=5), tmp_path / "current.parquet")
    pq.write_table(logged(500, seed=6), tmp_path / "reference.parquet")
    spec = spec_for(f"file://{tmp_path}/current.parquet", f"file://{tmp_path}/reference.parquet")
    assert run_checks(parse_spec(spec), now=NOW).window.rows == 500


def test_an_unsupported_scheme_is_named() -> None:
    with pytest.raises(SourceError, match="unsupported scheme 'ftp'"):
        run_checks(parse_spec(spec_for("ftp://host/x.parquet", "ftp://host/y.parquet")), now=NOW)


def test_an_unreachable_s3_endpoint_is_a_source_error_that_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's EndpointConnectionError escaped the data layer (and failed the operator's run-now handler)."""
    from modelmonitor.checks import data_bytes
    from modelmonitor_tools.devcluster.processes import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    spec = parse_spec(spec_for("s3://logs/current.parquet", "s3://logs/reference.parquet"))
    for attempt in (lambda: data_bytes(spec), lambda: run_checks(spec, now=NOW)):
        with pytest.raises(SourceError, match=r"s3://logs/current\.parquet.*cannot reach the storage"):
            attempt()
