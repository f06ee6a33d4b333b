"""s3:// against a real S3-compatible server: SeaweedFS built from its Go module, on loopback.

Each error is one line that names the URI, and no message shows a secret.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.parsing import parse_spec
from modelmonitor.checks import run_checks
from modelmonitor.data.table import open_table
from modelmonitor.data.time_partitions import ends_by
from modelmonitor.errors import SourceError
from modelmonitor_tools.devcluster.object_store import ObjectStore
from tests.checks.conftest import NOW, logged, spec_for
from tests.data.test_source_kinds import write_payload_logs
from tests.data.test_time_partitions import HOURS, partition_keys, write_hourly
from tests.helpers import eventually
from tests.requestlog import RequestLog

READER = {"accessKey": "reader", "secretKey": "reader-secret-value"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    # a second identity that may read one bucket only
    reader = {"name": "reader", "credentials": [READER], "actions": ["Read:logs", "List:logs"]}
    running = ObjectStore(tmp_path_factory.mktemp("seaweedfs"), identities=[reader]).start()
    try:
        yield running
    finally:
        running.stop()


def _put(store: ObjectStore, files: dict[str, bytes]) -> None:
    for path, body in files.items():
        store.put(path, body)


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _csv(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(table, sink)
    return sink.getvalue()


def _jsonl(table: pa.Table) -> bytes:
    frame = table.to_pandas()
    frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # JSON carries times as text
    return frame.to_json(orient="records", lines=True).encode()


@pytest.mark.parametrize("data_format", ["parquet", "csv", "jsonl"])
def test_each_format_is_read_with_the_monitors_credentials(store: ObjectStore, data_format: str) -> None:
    encode = {"parquet": _parquet, "csv": _csv, "jsonl": _jsonl}[data_format]
    _put(
        store,
        {
            f"logs/{data_format}/current.{data_format}": encode(logged(1200, seed=21)),
            f"logs/{data_format}/reference.{data_format}": encode(logged(1500, seed=22)),
        },
    )
    spec = spec_for(
        f"s3://logs/{data_format}/current.{data_format}", f"s3://logs/{data_format}/reference.{data_format}"
    )
    spec["data"]["current"]["format"] = spec["data"]["reference"]["format"] = data_format
    results = run_checks(parse_spec(spec), now=NOW, env=store.environment())
    assert results.window.rows == 1200 and results.healthy


def test_the_process_environment_serves_when_the_monitor_names_no_credentials(
    store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI and the Job runner: the standard AWS variables, AWS_ENDPOINT_URL_S3 among them."""
    _put(store, {"logs/env/current.parquet": _parquet(logged(600, seed=23))})
    for variable, value in store.environment().items():
        monkeypatch.setenv(variable, value)
    spec = spec_for("s3://logs/env/current.parquet", "s3://logs/env/current.parquet")
    assert run_checks(parse_spec(spec), now=NOW).window.rows == 600


def _refusal(store: ObjectStore, uri: str, env: dict[str, str]) -> str:
    with pytest.raises(SourceError) as refused:
        run_checks(parse_spec(spec_for(uri, uri)), now=NOW, env=env)
    message = str(refused.value)
    assert uri in message and "\n" not in message and "Traceback" not in message
    assert not any(secret in message for secret in (store.secret_key, READER["secretKey"], "wrong-secret"))
    return message


def test_a_missing_bucket_is_an_error_naming_the_uri(store: ObjectStore) -> None:
    message = _refusal(store, "s3://no-such-bucket/current.parquet", store.environment())
    assert "no such file or directory" in message


def test_a_wrong_key_is_refused_without_showing_it(store: ObjectStore) -> None:
    _put(store, {"logs/keys/current.parquet": _parquet(logged(300, seed=24))})
    wrong = {**store.environment(), "AWS_SECRET_ACCESS_KEY": "wrong-secret"}
    assert "access denied" in _refusal(store, "s3://logs/keys/current.parquet", wrong)


def test_a_read_the_identity_may_not_make_is_denied(store: ObjectStore) -> None:
    _put(store, {"private/current.parquet": _parquet(logged(300, seed=25))})
    reader = {
        **store.environment(),
        "AWS_ACCESS_KEY_ID": READER["accessKey"],
        "AWS_SECRET_ACCESS_KEY": READER["secretKey"],
    }
    assert "access denied" in _refusal(store, "s3://private/current.parquet", reader)
    spec = spec_for("s3://logs/keys/current.parquet", "s3://logs/keys/current.parquet")
    assert run_checks(parse_spec(spec), now=NOW, env=reader).window.rows == 300  # its own bucket it reads


def test_the_store_stops_by_its_process_id(tmp_path: Path) -> None:
    from modelmonitor_tools.devcluster.processes import is_alive

    running = ObjectStore(tmp_path).start()
    pid = running.pid
    assert pid is not None and is_alive(pid)
    running.stop()
    assert not is_alive(pid)


def test_the_request_log_shows_no_read_of_a_partition_before_the_window(store: ObjectStore, tmp_path: Path) -> None:
    """Hourly partitions over 48 hours, a 24-hour window: the objects of the 23 partitions that end before it
    (all but the first, which discovery reads for the schema) are never fetched, only listed."""
    files = write_hourly(tmp_path, logged(3000, seed=26, hours=HOURS))
    for file in files:
        store.put(f"logs/hourly/{file.relative_to(tmp_path)}", file.read_bytes())
    log = RequestLog(int(store.endpoint.rsplit(":", 1)[1]))
    try:
        spec = spec_for("s3://logs/hourly", "s3://logs/hourly", **{"data.reference.window": "24h"})
        results = run_checks(
            parse_spec(spec), now=NOW, env={**store.environment(), "AWS_ENDPOINT_URL_S3": log.endpoint}
        )
        fetched = {path.split("?")[0] for method, path in log.requests() if method in ("GET", "HEAD")}
    finally:
        log.close()
    assert results.window.rows > 1000 and not results.errors
    start = NOW - timedelta(hours=24)
    before = [file for file in files[1:] if ends_by(partition_keys(file), start)]
    inside = [file for file in files if not ends_by(partition_keys(file), start)]
    assert len(before) == 23 and len(inside) == 24
    objects = {f"/logs/hourly/{quote(str(file.relative_to(tmp_path)))}" for file in files}
    read = fetched & objects
    assert read >= {f"/logs/hourly/{quote(str(file.relative_to(tmp_path)))}" for file in inside}
    assert not read & {f"/logs/hourly/{quote(str(file.relative_to(tmp_path)))}" for file in before}, sorted(read)


def test_a_kserve_source_reads_the_collectors_layout_in_a_bucket(store: ObjectStore, tmp_path: Path) -> None:
    write_payload_logs(tmp_path, logged(2000, seed=27, hours=36))
    for file in tmp_path.rglob("*.parquet"):
        store.put(f"model-logs/kserve/{file.relative_to(tmp_path)}", file.read_bytes())
    store.put("model-logs/train.parquet", _parquet(logged(1500, seed=28).drop_columns(["label"])))
    spec = spec_for("s3://model-logs/train.parquet", "s3://model-logs/train.parquet", metrics=[])
    spec["data"]["current"] = {
        "kserve": {"inferenceService": "credit-risk", "logs": "s3://model-logs/kserve"},
        "window": "24h",
    }
    spec["data"]["columns"] = {"prediction": "prediction"}
    results = run_checks(parse_spec(spec, namespace="ml"), now=NOW, env=store.environment())
    assert results.window.rows > 1000 and not results.errors
    assert results.drift is not None and {f.feature for f in results.drift.features} == {"x", "y", "colour", "score"}


def test_the_collector_writes_to_the_bucket_and_a_kserve_monitor_reads_it(store: ObjectStore, tmp_path: Path) -> None:
    """The collector's sink an s3:// URI, its keys the standard AWS variables; no key in its log."""
    from modelmonitor_tools.kserve_traffic import CollectorProcess as Collector
    from modelmonitor_tools.kserve_traffic import post
    from tests.collector.kserve_events import pair

    store.create_bucket("collected")
    env = {**os.environ, **store.environment()}
    collector = Collector("s3://collected/kserve", tmp_path / "wal", tmp_path / "collector.log", env=env).start()
    try:
        for number in range(300):
            for found, body in pair(f"s{number}", {"x": float(number)}, [0.1, 0.9], time=None):
                assert post(collector.port, found, body) == 200
    finally:
        assert collector.stop() == 0
    assert store.secret_key not in (tmp_path / "collector.log").read_text()
    spec = spec_for("s3://logs/hourly", "s3://logs/hourly", metrics=[])
    spec["data"]["current"] = {"kserve": {"inferenceService": "credit-risk", "logs": "s3://collected/kserve"}}
    spec["data"]["columns"] = {"prediction": "prediction", "score": "score"}
    spec["data"]["reference"] = {"kserve": {"inferenceService": "credit-risk", "logs": "s3://collected/kserve"}}
    results = run_checks(parse_spec(spec, namespace="ml"), now=datetime.now(UTC), env=store.environment())
    assert results.window.rows == 300 and results.reference_rows == 300 and not results.errors


def test_a_sink_away_keeps_what_was_acknowledged_and_writes_it_once_it_is_back(
    store: ObjectStore, tmp_path: Path
) -> None:
    """The bucket unreachable for a while: events are still acknowledged (the log holds them), the flush fails
    and is tried again, and once the bucket is back every row is written, once."""
    from modelmonitor_tools.kserve_traffic import CollectorProcess as Collector
    from modelmonitor_tools.kserve_traffic import post
    from tests.collector.kserve_events import pair

    store.create_bucket("outage")
    upstream = int(store.endpoint.rsplit(":", 1)[1])
    relay = RequestLog(upstream)
    env = {**os.environ, **store.environment(), "AWS_ENDPOINT_URL_S3": relay.endpoint}
    log = tmp_path / "collector.log"
    collector = Collector("s3://outage/kserve", tmp_path / "wal", log, extra=("--flush-seconds", "0.3"), env=env)
    collector.start()
    try:

        def send(numbers: range) -> None:
            for number in numbers:
                for found, body in pair(f"o{number}", {"x": float(number)}, [0.5, 0.5], time=None):
                    assert post(collector.port, found, body) == 200

        def written() -> int:
            try:
                return len(rows_of_bucket())
            except (OSError, SourceError):
                return 0

        def rows_of_bucket() -> list[str]:
            table = open_table("s3://outage/kserve/ml/credit-risk", env=store.environment()).read(["request_id"])
            return table["request_id"].to_pylist()

        send(range(50))
        eventually(lambda: written() == 50, timeout=30, what="the first 50 rows in the bucket")
        relay.close()
        send(range(50, 100))  # acknowledged though the bucket cannot be reached
        eventually(lambda: "cannot write to the sink" in log.read_text(), timeout=30, what="a failed flush")
        relay = RequestLog(upstream, port=relay.port)
        eventually(lambda: written() == 100, timeout=60, what="the rows held while the bucket was away")
    finally:
        assert collector.stop() == 0
        relay.close()
    assert sorted(rows_of_bucket()) == sorted(f"o{n}" for n in range(100))


def test_a_source_opened_again_sees_the_files_written_since(store: ObjectStore) -> None:
    """A long-lived process (the operator, a Dask worker) opens the same prefix run after run: each sees the
    files there are then. fsspec's cached client and listings hid every file written after the first look."""
    _put(store, {"logs/growing/part-1.parquet": _parquet(logged(100, seed=29))})
    assert open_table("s3://logs/growing", env=store.environment()).count() == 100
    _put(store, {"logs/growing/part-2.parquet": _parquet(logged(50, seed=30))})
    assert open_table("s3://logs/growing", env=store.environment()).count() == 150


def test_a_check_asks_the_store_nothing_of_an_object_the_listing_described(store: ObjectStore, tmp_path: Path) -> None:
    """The listing that finds the files tells their sizes too: opening a file for each column of each pass sends
    no HEAD of it (each request is a round trip; a window of small files paid one per file and column)."""
    files = write_hourly(tmp_path, logged(2000, seed=31, hours=24))
    for file in files:
        store.put(f"logs/asked/{file.relative_to(tmp_path)}", file.read_bytes())
    log = RequestLog(int(store.endpoint.rsplit(":", 1)[1]))
    try:
        spec = spec_for("s3://logs/asked", "s3://logs/asked")
        env = {**store.environment(), "AWS_ENDPOINT_URL_S3": log.endpoint}
        results = run_checks(parse_spec(spec), now=NOW, env=env)
        heads = Counter(path.split("?")[0] for method, path in log.requests() if method == "HEAD")
    finally:
        log.close()
    assert results.window.rows > 1000 and not results.errors
    assert not {path: count for path, count in heads.items() if path.endswith(".parquet")}, heads.most_common(3)
    assert heads["/logs/asked"] <= 2  # the prefix, once for each side
