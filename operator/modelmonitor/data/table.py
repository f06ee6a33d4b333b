"""Read columns of a data set through pyarrow datasets, in any format of ``data/formats`` and from
any storage of ``data/stores`` (each one module, registered here by its name or its schemes).

Only the requested columns are read, and the time window is pushed into the scan as a
filter, so a partitioned Parquet directory larger than memory is read a column at a time.
An HTTP server that does not answer range requests is the one exception: its file is
downloaded whole, once, into memory.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from modelmonitor.api.data import DataFormat
from modelmonitor.data import formats, stores
from modelmonitor.data.source_definition import (
    ColumnBatches,
    Credentials,
    DataFormatDefinition,
    Partition,
    Piece,
    RowFilter,
    Store,
)
from modelmonitor.data.time_partitions import TIME_KEYS, ends_by
from modelmonitor.data.timestamps import utc_instants, window_expression
from modelmonitor.errors import ColumnError, NoData, SourceError

PARTITION_ROWS = 1 << 22  # a partition's rows, as far as files and row groups allow


def _registered_formats() -> dict[str, DataFormatDefinition]:
    return {name: importlib.import_module(f"{formats.__name__}.{name}").FORMAT for name in DataFormat}


def _registered_stores() -> list[Store]:
    names = sorted(module.name for module in pkgutil.iter_modules(stores.__path__))
    found = [importlib.import_module(f"{stores.__name__}.{name}").STORE for name in names]
    return sorted(found, key=lambda store: "" not in store.schemes)  # a local path first, as people write them


FORMATS = _registered_formats()
STORES = {scheme: store for store in _registered_stores() for scheme in store.schemes}


def _supported() -> str:
    """The storages, as the error for an unsupported scheme lists them."""
    described = [store.described for store in dict.fromkeys(STORES.values())]
    return ", ".join(described[:-1]) + " or " + described[-1]


def storage_options(uri: str, credentials: Credentials) -> dict[str, Any]:
    """The fsspec options to write at ``uri`` with these credentials (the stores' own, so an export
    reaches a bucket as its monitor's sources do); SourceError for a storage that is not written
    to, or whose client library is not installed."""
    store = STORES.get(urlparse(uri).scheme)
    if store is None or store.storage_options is None:
        writable = [store.described for store in dict.fromkeys(STORES.values()) if store.storage_options is not None]
        raise SourceError(uri, f"cannot be written to: use {', '.join(writable[:-1])} or {writable[-1]}")
    if store.package is not None:
        try:
            importlib.import_module(store.package)
        except ImportError as error:
            raise SourceError(uri, _missing_package(store, error)) from None
    return store.storage_options(credentials)


@dataclass
class TableSource(ColumnBatches):
    """One data set: a file or a (hive-partitioned) directory, local or remote."""

    uri: str
    format: str = "parquet"
    env: Mapping[str, str] | None = field(default=None, repr=False)
    bookkeeping: tuple[str, ...] = ()  # columns that say where a row came from: never default features
    missing: str = "no such file or directory"  # what nothing at the URI means
    _dataset: ds.Dataset | None = field(default=None, repr=False)
    _in_window: dict[datetime, ds.Dataset] = field(default_factory=dict, repr=False)
    _partitions: dict[datetime | None, list[Partition]] = field(default_factory=dict, repr=False)
    _fragments: dict[str, ds.Fragment] | None = field(default=None, repr=False)

    @property
    def dataset(self) -> ds.Dataset:
        if self._dataset is None:
            self._dataset = self._open()
        return self._dataset

    def _open(self) -> ds.Dataset:
        dataset = self._discover()
        if isinstance(dataset, ds.FileSystemDataset) and not dataset.files:
            raise NoData(self.uri, "no data files in this directory (names starting with . or _ are skipped)")
        return dataset

    def _discover(self) -> ds.Dataset:
        scheme = urlparse(self.uri).scheme
        try:
            if (store := STORES.get(scheme)) is None:
                raise SourceError(self.uri, f"unsupported scheme {scheme!r}: use {_supported()}")
            return store.open(self.uri, FORMATS[self.format], self.env)
        except SourceError:
            raise
        except ImportError as error:
            raise SourceError(self.uri, _missing_package(STORES[scheme], error)) from None
        except FileNotFoundError:
            raise NoData(self.uri, self.missing) from None
        except (*_read_errors(), ValueError) as error:
            raise _failure(self.uri, f"cannot read as {self.format}", error) from None

    def _scanned(self, rows: RowFilter | None) -> ds.Dataset:
        """The data set without the hive partitions that end before the window starts (see ``time_partitions``).

        They are left out unopened: a year of hourly partitions costs a 24-hour window a listing, not 8,760 footers.
        """
        dataset = self.dataset
        start = _window_start(rows)
        if start is None or not isinstance(dataset, ds.FileSystemDataset):
            return dataset
        if start not in self._in_window:
            fragments = list(dataset.get_fragments())
            kept = [f for f in fragments if not ends_by(ds.get_partition_keys(f.partition_expression), start)]
            self._in_window[start] = (
                dataset
                if len(kept) == len(fragments)
                else ds.FileSystemDataset(kept, dataset.schema, dataset.format, dataset.filesystem)
            )
        return self._in_window[start]

    @property
    def schema(self) -> pa.Schema:
        return self.dataset.schema

    @property
    def column_names(self) -> list[str]:
        return list(self.schema.names)

    @property
    def non_feature_columns(self) -> list[str]:
        """The bookkeeping columns there are, and the hive partition keys that name time (date=, hour=...):
        where rows were filed, not what they hold."""
        partitioning = getattr(self.dataset, "partitioning", None)
        keys = [] if partitioning is None else partitioning.schema.names
        return [name for name in self.bookkeeping if name in self.column_names] + [
            name for name in keys if name.lower() in TIME_KEYS
        ]

    def require(self, column: str) -> pa.DataType:
        if column not in self.schema.names:
            raise ColumnError(column, f"not found in {self.uri} (columns: {', '.join(self.schema.names[:20])})")
        return self.schema.field(column).type

    def _filter(self, rows: RowFilter | None) -> ds.Expression | None:
        if rows is None:
            return None
        parts = []
        for name, value in rows.equals:
            self.require(name)
            parts.append(ds.field(name).cast(pa.string()) == value)
        if rows.timestamp is not None and rows.end is not None:
            parts.append(window_expression(rows.timestamp, self.require(rows.timestamp), rows.end, rows.start))
        if not parts:
            return None
        expression = parts[0]
        for part in parts[1:]:
            expression = expression & part
        return expression

    def read(self, columns: list[str], rows: RowFilter | None = None) -> pa.Table:
        """The named columns of the rows inside the window."""
        for column in columns:
            self.require(column)
        try:
            return self._scanned(rows).to_table(columns=columns, filter=self._filter(rows))
        except _read_errors() as error:
            raise _failure(self.uri, f"cannot read {', '.join(columns)}", error) from None

    def partitions(self, rows: RowFilter | None = None) -> list[Partition]:
        """The data set in slices of about ``PARTITION_ROWS`` rows, in the order a whole scan reads them.

        Parquet files are cut at row groups and small ones joined; other formats split by file. With
        ``rows``, hive partitions that end before its window are left out, their footers unread.
        """
        start = _window_start(rows)
        if start not in self._partitions:
            self._partitions[start] = self._split(self._scanned(rows))
        return self._partitions[start]

    def _split(self, dataset: ds.Dataset) -> list[Partition]:
        if not isinstance(dataset, ds.FileSystemDataset):
            return [Partition()]
        partitions: list[Partition] = []
        pieces: list[Piece] = []
        rows = 0

        def close() -> None:
            nonlocal pieces, rows
            if pieces:
                partitions.append(Partition(tuple(pieces)))
            pieces, rows = [], 0

        try:
            for fragment in dataset.get_fragments():
                if not isinstance(fragment, ds.ParquetFileFragment):
                    close()
                    pieces.append(Piece(fragment.path))
                    close()
                    continue
                groups = [group.num_rows for group in fragment.row_groups]
                start = 0
                for index, group_rows in enumerate(groups):
                    if rows and rows + group_rows > PARTITION_ROWS:
                        if index > start:
                            pieces.append(Piece(fragment.path, tuple(range(start, index))))
                        close()
                        start = index
                    rows += group_rows
                if start < len(groups):
                    pieces.append(Piece(fragment.path, None if start == 0 else tuple(range(start, len(groups)))))
        except _read_errors() as error:
            raise _failure(self.uri, "cannot read the Parquet footers", error) from None
        close()
        return partitions

    def _partition_dataset(self, partition: Partition) -> ds.Dataset:
        dataset = self.dataset
        if not partition.pieces:
            return dataset
        if self._fragments is None:
            self._fragments = {fragment.path: fragment for fragment in dataset.get_fragments()}
        try:
            fragments = [
                self._fragments[piece.path]
                if piece.row_groups is None
                else self._fragments[piece.path].subset(row_group_ids=list(piece.row_groups))
                for piece in partition.pieces
            ]
        except KeyError as error:
            raise SourceError(self.uri, f"file {error.args[0]} left the data set during the check") from None
        return ds.FileSystemDataset(fragments, dataset.schema, dataset.format, dataset.filesystem)

    def record_batches(
        self,
        columns: list[str],
        rows: RowFilter | None = None,
        batch_size: int = 1 << 18,
        *,
        partition: Partition | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """The named columns of the selected rows (of one partition, if given), a batch at a time."""
        for column in columns:
            self.require(column)
        dataset = self._scanned(rows) if partition is None else self._partition_dataset(partition)
        try:
            batches = dataset.to_batches(
                columns=columns,
                filter=self._filter(rows),
                batch_size=batch_size,
                batch_readahead=1,
                fragment_readahead=1,  # read-ahead would hold many batches at once
                fragment_scan_options=FORMATS[self.format].scan_options,
                use_threads=False,  # a background scan outruns a slower consumer and buffers without bound
            )
            yield from batches
        except _read_errors() as error:
            raise _failure(self.uri, f"cannot read {', '.join(columns)}", error) from None

    def time_range(self, column: str) -> tuple[datetime, datetime] | None:
        """The earliest and latest time in a timestamp column, as UTC moments (None: no times at all)."""
        earliest = latest = None
        for values in self.batches(column):
            bounds = pc.min_max(utc_instants(values, column))
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            if low is not None:
                earliest = low if earliest is None else min(earliest, low)
                latest = high if latest is None else max(latest, high)
        return None if earliest is None or latest is None else (earliest, latest)

    def count(self, rows: RowFilter | None = None) -> int:
        try:
            return int(self._scanned(rows).count_rows(filter=self._filter(rows)))
        except _read_errors() as error:
            raise _failure(self.uri, "cannot count rows", error) from None

    def total_bytes(self, rows: RowFilter | None = None) -> int | None:
        """The size of the files the rows are read from, where the filesystem lists them (not over HTTP)."""
        store = STORES.get(urlparse(self.uri).scheme)
        if store is not None and not store.lists_sizes:
            return None
        dataset = self._scanned(rows)
        if not isinstance(dataset, ds.FileSystemDataset):
            return None
        try:
            infos = dataset.filesystem.get_file_info(dataset.files)
        except _read_errors() as error:
            raise _failure(self.uri, "cannot list the files' sizes", error) from None
        return sum(info.size or 0 for info in infos)


def _window_start(rows: RowFilter | None) -> datetime | None:
    """Where the rows' window starts, as an aware moment; None: no window, or none that starts."""
    if rows is None or rows.timestamp is None or rows.start is None:
        return None
    start = rows.start
    return start if start.tzinfo is not None else start.replace(tzinfo=UTC)


def _missing_package(store: Store, error: ImportError) -> str:
    """What to install: the storage's own extra (fsspec's error names no module, so the storage says it)."""
    if store.extra is None:
        return f"needs a package that is not installed: {_one_line(error)}"
    return f"needs the package {store.package}: pip install 'modelmonitor[{store.extra}]'"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:500]


def _read_errors() -> tuple[type[BaseException], ...]:
    """What reading may raise: Arrow's errors, OSError, and botocore's own (s3fs lets some through).

    Evaluated when an exception is matched, so botocore is looked for only if it was imported.
    """
    errors: tuple[type[BaseException], ...] = (pa.ArrowInvalid, pa.ArrowTypeError, OSError)
    botocore = sys.modules.get("botocore.exceptions")
    return errors + ((botocore.BotoCoreError,) if botocore is not None else ())


def _unreachable(error: BaseException) -> bool:
    botocore = sys.modules.get("botocore.exceptions")
    return isinstance(error, ConnectionError | TimeoutError) or (
        botocore is not None and isinstance(error, botocore.ConnectionError)
    )


def _failure(uri: str, doing: str, error: BaseException) -> SourceError:
    if _unreachable(error):
        return SourceError(uri, f"cannot reach the storage ({_one_line(error)})")
    if isinstance(error, PermissionError):  # a local file's mode, or what s3fs and gcsfs make of a 403
        remote = urlparse(uri).scheme not in ("", "file")
        hint = ": a wrong key, or one that may not read this" if remote else ""
        return SourceError(uri, f"access denied ({_one_line(error)}){hint}")
    return SourceError(uri, f"{doing}: {_one_line(error)}")


def open_table(uri: str, format: str = "parquet", env: Mapping[str, str] | None = None) -> TableSource:
    """A :class:`TableSource`; opening is lazy, the first read raises :class:`SourceError`."""
    return TableSource(uri, format, env)
