"""What a data format's module and a storage's module declare, for ``modelmonitor.data.source``.

A format (``data/formats/NAME.py``, the name the spec's ``format`` uses) says how Arrow reads
it: as a dataset of files, and as one file held whole. A storage (``data/stores/NAME.py``)
says which URI schemes it serves and how a data set at such a URI is opened: with which
credentials (the monitor's own, or the process environment's), and whether its files' sizes can
be listed without reading them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds


@dataclass(frozen=True)
class DataFormatDefinition:
    """How Arrow reads a format: ``dataset_format`` for files, ``read_whole`` for a file held in memory."""

    dataset_format: Callable[[], ds.FileFormat]
    read_whole: Callable[[pa.BufferReader], pa.Table]
    scan_options: ds.FragmentScanOptions | None = None  # how a batch-at-a-time scan reads it


Credentials = Mapping[str, str] | None  # the monitor's credentials (a Secret's keys); None: the process's


@dataclass(frozen=True)
class Store:
    """Where data sets live: the URI schemes served, and how a data set is opened there.

    ``open`` takes the URI, the format and the credentials, and returns the dataset; it raises
    :class:`~modelmonitor.errors.SourceError`, or what reading raises, which the source words.
    ``described``: how the error for an unsupported scheme names this storage. ``extra`` and
    ``package``: what to install when the storage's client library is missing.
    """

    schemes: tuple[str, ...]
    described: str
    open: Callable[[str, DataFormatDefinition, Credentials], ds.Dataset]
    lists_sizes: bool = True  # a file's size is known without reading it
    extra: str | None = None  # the extra it needs installed (pip install 'modelmonitor[EXTRA]')
    package: str | None = None  # the client library that extra brings


def environment(credentials: Credentials) -> Mapping[str, str]:
    """Where a storage looks for its settings: the monitor's credentials, or the process environment."""
    return os.environ if credentials is None else credentials


def open_with_fsspec(uri: str, data_format: DataFormatDefinition, options: dict[str, Any]) -> ds.Dataset:
    """A file or a hive-partitioned directory on an fsspec filesystem (imported here: it is an extra's)."""
    import fsspec

    filesystem, path = fsspec.core.url_to_fs(uri, **options)
    return ds.dataset(path, format=data_format.dataset_format(), filesystem=filesystem, partitioning="hive")
