"""What a data source is, and what each kind, format and storage module declares.

A kind (``data/kinds/NAME.py``, the field of the spec's ``DataSource`` it is named after) opens
a spec's source as a :class:`Source`: the checks, the Job and the Dask workers read every kind
through that protocol alone. A format (``data/formats/NAME.py``, the name the spec's ``format``
uses) says how Arrow reads it: as a dataset of files, and as one file held whole. A storage
(``data/stores/NAME.py``) says which URI schemes it serves and how a data set at such a URI is
opened: with which credentials (the monitor's own, or the process environment's), whether
its files' sizes can be listed without reading them, and with which fsspec options an export
writes there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.dataset as ds

from modelmonitor.api.data import DataSource


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
    # the fsspec options a writer beside the readers (an export) opens this storage with; None: not writable
    storage_options: Callable[[Credentials], dict[str, Any]] | None = None
    extra: str | None = None  # the extra it needs installed (pip install 'modelmonitor[EXTRA]')
    package: str | None = None  # the client library that extra brings


def environment(credentials: Credentials) -> Mapping[str, str]:
    """Where a storage looks for its settings: the monitor's credentials, or the process environment."""
    return os.environ if credentials is None else credentials


def open_with_fsspec(uri: str, data_format: DataFormatDefinition, options: dict[str, Any]) -> ds.Dataset:
    """A file or a hive-partitioned directory on an fsspec filesystem (imported here: it is an extra's)."""
    import fsspec

    # a fresh client at each opening: fsspec otherwise keeps one client per set of options, with every listing
    # it made, and a long-lived process (the operator, a Dask worker) never saw new files. Within one opening
    # its listings are kept: they give each file's size, so opening a file for a column sends no HEAD of it
    filesystem, path = fsspec.core.url_to_fs(uri, skip_instance_cache=True, **options)
    return ds.dataset(path, format=data_format.dataset_format(), filesystem=filesystem, partitioning="hive")


@dataclass(frozen=True)
class RowFilter:
    """Which rows to read: ``start < timestamp <= end`` (no start: everything up to ``end``),
    and only rows whose ``equals`` columns hold the given values, compared as text."""

    timestamp: str | None = None
    end: datetime | None = None
    start: datetime | None = None
    equals: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Piece:
    """One file of a data set, or some of a Parquet file's row groups (``None``: all of them)."""

    path: str
    row_groups: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Partition:
    """A slice of a data set that one task reads: consecutive pieces, about ``PARTITION_ROWS`` rows.

    No pieces: the whole data set (one that is not a set of files, as a download held in memory).
    """

    pieces: tuple[Piece, ...] = ()


class Source(Protocol):
    """A data set the checks read: its columns, its rows in a window, in partitions a task each, a batch at a time.

    Every read raises :class:`~modelmonitor.errors.SourceError` (naming ``uri``) or
    :class:`~modelmonitor.errors.ColumnError`, never the storage's own exceptions.
    """

    @property
    def uri(self) -> str:
        """How messages name the data set."""
        ...

    @property
    def schema(self) -> pa.Schema: ...

    @property
    def column_names(self) -> list[str]: ...

    @property
    def non_feature_columns(self) -> list[str]:
        """Columns that say where a row was filed or came from, never what the model saw: not default features."""
        ...

    def require(self, column: str) -> pa.DataType: ...

    def read(self, columns: list[str], rows: RowFilter | None = None) -> pa.Table: ...

    def partitions(self, rows: RowFilter | None = None) -> list[Partition]: ...

    def batches(
        self,
        column: str,
        rows: RowFilter | None = None,
        batch_size: int = 1 << 18,
        *,
        partition: Partition | None = None,
    ) -> Iterator[pa.Array]: ...

    def record_batches(
        self,
        columns: list[str],
        rows: RowFilter | None = None,
        batch_size: int = 1 << 18,
        *,
        partition: Partition | None = None,
    ) -> Iterator[pa.RecordBatch]: ...

    def time_range(self, column: str) -> tuple[datetime, datetime] | None: ...

    def count(self, rows: RowFilter | None = None) -> int: ...

    def total_bytes(self, rows: RowFilter | None = None) -> int | None: ...


class ColumnBatches:
    """A source's ``batches``, made of its ``record_batches``: one column a batch at a time."""

    def batches(
        self: Source,
        column: str,
        rows: RowFilter | None = None,
        batch_size: int = 1 << 18,
        *,
        partition: Partition | None = None,
    ) -> Iterator[pa.Array]:
        """One column of the selected rows (of one partition, if given), a batch at a time: memory stays one batch."""
        for batch in self.record_batches([column], rows, batch_size, partition=partition):
            yield batch.column(0)


@dataclass(frozen=True)
class ReadSpan:
    """The times a caller reads a source over, ``start < t <= end`` (no start: up to ``end``): a stream (Kafka)
    seeks to them instead of reading all it keeps; a table ignores it (its reads filter by time)."""

    end: datetime
    start: datetime | None = None


@dataclass(frozen=True)
class SourceKindDefinition:
    """How a kind of source opens the spec's source, lazily: the first read raises, not the opening."""

    open: Callable[[DataSource, Credentials, ReadSpan | None], Source]
