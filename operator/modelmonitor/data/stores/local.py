"""Files on the machine that reads them: a path, or a file:// URI."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pyarrow.dataset as ds

from modelmonitor.data.source_definition import Credentials, DataFormatDefinition, Store
from modelmonitor.errors import SourceError


def open_local(uri: str, data_format: DataFormatDefinition, credentials: Credentials) -> ds.Dataset:
    parsed = urlparse(uri)
    path = Path(parsed.path if parsed.scheme == "file" else uri).expanduser()
    if not path.exists():
        raise FileNotFoundError(uri)  # worded by the source, as every storage's
    if not (path.is_file() or path.is_dir()):
        raise SourceError(uri, "not a regular file or directory (a device, pipe or socket)")
    return ds.dataset(str(path.resolve()), format=data_format.dataset_format(), partitioning="hive")


STORE = Store(schemes=("", "file"), described="a path, file://", open=open_local, storage_options=lambda _: {})
