"""The registries of data formats and storages: one module each, and what each storage does."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import boto3
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.data import DataFormat
from modelmonitor.data import formats, stores
from modelmonitor.data.stores import gcs, s3
from modelmonitor.data.table import FORMATS, STORES, open_table
from modelmonitor.errors import SourceError
from tests.checks.conftest import logged
from tests.servers import local_server


def test_every_format_module_is_a_format_of_the_spec_and_back() -> None:
    modules = {module.name for module in pkgutil.iter_modules(formats.__path__)}
    assert modules == {str(name) for name in DataFormat} == set(FORMATS)
    assert next(iter(DataFormat)) is DataFormat.PARQUET  # the default leads the CRD's enum


def test_each_scheme_has_one_storage_and_an_unsupported_one_is_told_them_all() -> None:
    modules = {module.name for module in pkgutil.iter_modules(stores.__path__)}
    assert len(set(STORES.values())) == len(modules) == 4
    assert set(STORES) == {"", "file", "s3", "gs", "gcs", "http", "https"}
    with pytest.raises(
        SourceError, match=r"unsupported scheme 'ftp': use a path, file://, gs://, http\(s\):// or s3://"
    ):
        open_table("ftp://host/x.parquet").count()


def test_s3_takes_its_endpoint_from_the_settings_and_keys_only_from_the_monitors_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://general:9000")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-process")
    assert s3.storage_options(None) == {"endpoint_url": "http://general:9000"}  # botocore's chain finds the keys
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://s3-only:8333")
    assert s3.storage_options(None) == {"endpoint_url": "http://s3-only:8333"}
    credentials = {"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_ENDPOINT_URL_S3": "http://own:1"}
    assert s3.storage_options(credentials) == {"endpoint_url": "http://own:1", "key": "id", "secret": "secret"}


def test_gcs_uses_a_key_file_named_in_the_monitors_credentials() -> None:
    assert gcs.storage_options({"GOOGLE_APPLICATION_CREDENTIALS": "/secrets/key.json"}) == {
        "token": "/secrets/key.json"
    }
    assert gcs.storage_options(None) == gcs.storage_options({}) == {}


def test_http_reads_a_part_at_a_time_where_the_server_answers_ranges_and_downloads_once_where_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")  # for the upload only: the reads over HTTP carry none
    table = logged(800, seed=11)
    pq.write_table(table, tmp_path / "current.parquet")
    plain = [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    with local_server(plain) as port:  # Python's server ignores Range: the whole file is sent
        whole = open_table(f"http://127.0.0.1:{port}/current.parquet")
        assert isinstance(whole.dataset, ds.InMemoryDataset) and whole.count() == 800
        assert whole.total_bytes() is None
    ranged = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "{port}"]
    with local_server(ranged) as port:  # moto serves objects with ranges, to anyone
        bucket = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
        bucket.create_bucket(Bucket="public")
        body = (tmp_path / "current.parquet").read_bytes()
        bucket.put_object(Bucket="public", Key="current.parquet", Body=body, ACL="public-read")
        parts = open_table(f"http://127.0.0.1:{port}/public/current.parquet")
        assert isinstance(parts.dataset, ds.FileSystemDataset) and parts.count() == 800
        assert parts.read(["ts"]).num_rows == 800


@pytest.mark.parametrize(("scheme", "package", "extra"), [("s3", "s3fs", "s3"), ("gs", "gcsfs", "gcs")])
def test_a_missing_client_library_is_named_with_the_extra_that_brings_it(
    monkeypatch: pytest.MonkeyPatch, scheme: str, package: str, extra: str
) -> None:
    """fsspec's ImportError names no module: the message said 'needs an extra package: None' before."""
    registry = importlib.import_module("fsspec.registry")  # the module: fsspec.registry is its read-only view

    monkeypatch.setitem(sys.modules, package, None)  # not installed
    monkeypatch.delitem(registry._registry, scheme, raising=False)  # nor imported by an earlier test
    with pytest.raises(SourceError, match=rf"needs the package {package}: pip install 'modelmonitor\[{extra}\]'$"):
        open_table(f"{scheme}://bucket/key.parquet", env={}).count()
