"""One file over HTTP(S). A server that answers range requests is read a part at a time; one that
does not is downloaded whole, once, into memory."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.dataset as ds

from modelmonitor.data.source_definition import Credentials, DataFormatDefinition, Store


def open_http(uri: str, data_format: DataFormatDefinition, credentials: Credentials) -> ds.Dataset:
    import fsspec

    filesystem, _ = fsspec.core.url_to_fs(uri)
    # a server that honours ranges answers a one-byte request with one byte
    if len(filesystem.cat_file(uri, start=0, end=1)) == 1:
        return ds.dataset(uri, format=data_format.dataset_format(), filesystem=filesystem)
    return ds.dataset(data_format.read_whole(pa.BufferReader(filesystem.cat_file(uri))))


# its files' sizes are not listed: opening may download the whole file just to learn one
STORE = Store(schemes=("http", "https"), described="http(s)://", open=open_http, lists_sizes=False)
