"""Labels kept apart from their predictions, joined to them by request id in bounded memory.

Labels arrive after the predictions (a loan defaults months later), in a data set of their own
keyed by the request id. A ``pandas.merge`` of both would hold every prediction and every label
at once. Here the labels alone are indexed, once per source and process: each id becomes a
64-bit SipHash (``pandas.util.hash_array``) and a 32-bit check from a second key, kept sorted
beside the label values, about 12 bytes per label plus the label itself. The predictions then
stream past a batch at a time, each batch's ids hashed and looked up with ``numpy.searchsorted``:
a prediction joins a label when both hashes agree. Two different ids agree on 96 bits with
odds of about 1 in 10^28 per pair.

Only labels known by the check's moment and no older than the earliest window it reads can
belong to its predictions: the index reads those alone (a label is never known before its
prediction is made). An id labelled twice keeps the latest label (by the labels' timestamp,
else the last one read).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from modelmonitor.data.source_definition import ColumnBatches, Partition, RowFilter, Source
from modelmonitor.data.timestamps import utc_instants
from modelmonitor.errors import ColumnError, DataError, NoData

_KEY = "modelmonitor-ids1"[:16]  # SipHash keys: 16 bytes each, fixed so that every process hashes alike
_CHECK_KEY = "modelmonitor-ids2"[:16]


@dataclass(frozen=True)
class LabelColumns:
    """Where the labels keep the request id, the outcome and (optionally) when it was known."""

    id: str
    label: str
    timestamp: str | None = None


def hashed_ids(ids: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each id's 64-bit hash and 32-bit check, compared as text (an id 7 is the id "7"), and which ids are there."""
    text = pc.cast(ids, pa.string())
    there = pc.is_valid(text).to_numpy(zero_copy_only=False)
    values = pc.fill_null(text, "").to_numpy(zero_copy_only=False)
    keys = pd.util.hash_array(values, hash_key=_KEY, categorize=False)
    checks = (pd.util.hash_array(values, hash_key=_CHECK_KEY, categorize=False) >> np.uint64(32)).astype(np.uint32)
    return keys, checks, there


@dataclass(frozen=True)
class LabelIndex:
    """The latest label of each id: the ids' hashes sorted (``keys``), their checks, and the labels in that order."""

    keys: np.ndarray
    checks: np.ndarray
    values: pa.Array
    read: int  # label rows read, an id labelled twice counted twice

    @property
    def size(self) -> int:
        return len(self.keys)

    @classmethod
    def build(cls, batches: Iterable[pa.RecordBatch], columns: LabelColumns, label_type: pa.DataType) -> LabelIndex:
        keys: list[np.ndarray] = []
        checks: list[np.ndarray] = []
        times: list[np.ndarray] = []
        values: list[pa.Array] = []
        read = 0
        for batch in batches:
            batch_keys, batch_checks, there = hashed_ids(batch.column(columns.id))
            read += batch.num_rows
            keys.append(batch_keys[there])
            checks.append(batch_checks[there])
            values.append(batch.column(columns.label).filter(pa.array(there)))
            if columns.timestamp is not None:
                instants = utc_instants(batch.column(columns.timestamp), columns.timestamp).cast(pa.int64())
                times.append(pc.fill_null(instants, np.iinfo(np.int64).min).to_numpy()[there])
        if not keys:
            return cls(np.empty(0, np.uint64), np.empty(0, np.uint32), pa.array([], label_type), 0)
        all_keys, all_checks = _concatenated(keys), _concatenated(checks)
        all_times = _concatenated(times) if times else None
        # in the order of the keys; equal keys (one id labelled twice, or two ids on one 64-bit hash) in the
        # order they were read, then sorted by check and time among themselves alone
        rows = np.argsort(all_keys, kind="stable")
        all_keys.sort()  # in place: the same values as all_keys[rows], without a second copy
        repeated = all_keys[1:] == all_keys[:-1]
        if repeated.any():
            in_run = np.zeros(len(all_keys), dtype=bool)
            in_run[1:] |= repeated
            in_run[:-1] |= repeated
            at = np.flatnonzero(in_run)
            run = rows[at]
            when = all_times[run] if all_times is not None else run  # no time: the one read last is the latest
            rows[at] = run[np.lexsort((when, all_checks[run], all_keys[at]))]
        del all_times, repeated
        all_checks = all_checks[rows]
        last = np.ones(len(all_keys), dtype=bool)  # of each id's run, its last (latest) label
        last[:-1] = (all_keys[1:] != all_keys[:-1]) | (all_checks[1:] != all_checks[:-1])
        if not last.all():  # ids labelled twice: only then a copy of the index without their earlier labels
            rows, all_keys, all_checks = rows[last], all_keys[last], all_checks[last]
        labels = pa.chunked_array(values, type=label_type).take(pa.array(rows)).combine_chunks()
        return cls(all_keys, all_checks, labels, read)

    def positions(self, ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Where each id's label is in the index, or -1 where it has none."""
        keys, checks, there = hashed_ids(ids)
        found = np.full(len(keys), -1, dtype=np.int64)
        if not self.size:
            return found
        # searched in the order of the hashes: each search starts where the last one ended, which is
        # three times faster than searching a large index in random order
        ascending = np.argsort(keys)
        at = np.empty(len(keys), dtype=np.int64)
        at[ascending] = np.searchsorted(self.keys, keys[ascending])
        # ids whose 64-bit hash collides share a run of equal keys: step along it until the check agrees
        candidates = np.flatnonzero(there)
        while len(candidates):
            at_candidates = at[candidates]
            inside = at_candidates < self.size
            candidates, at_candidates = candidates[inside], at_candidates[inside]
            same_key = self.keys[at_candidates] == keys[candidates]
            candidates, at_candidates = candidates[same_key], at_candidates[same_key]
            agreed = self.checks[at_candidates] == checks[candidates]
            found[candidates[agreed]] = at_candidates[agreed]
            candidates = candidates[~agreed]
            at[candidates] += 1
        return found

    def lookup(self, ids: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Each id's label, null where none has arrived."""
        at = self.positions(ids)
        return self.values.take(pa.array(at, mask=at < 0))


def _concatenated(parts: list[np.ndarray]) -> np.ndarray:
    """The parts as one array, the list emptied: the parts' memory is freed as soon as the whole is made."""
    whole = np.concatenate(parts)
    parts.clear()
    return whole


@dataclass
class LabeledSource(ColumnBatches):
    """Predictions with their labels joined by request id as one more column: a :class:`Source` like any other.

    ``keep_own``: a data set with a label column of its own (a labelled reference) keeps it; otherwise
    (the current rows) such a column is refused, as it would say two things. ``pinned``: the labels'
    slices to read, as listed once for the whole check, so every process of a Dask check joins the
    same labels however many arrive meanwhile.
    """

    predictions: Source
    labels: Source
    label_rows: RowFilter | None  # the labels that can belong to the predictions read: known by now, since a start
    request_id: str  # the predictions' id column
    columns: LabelColumns
    label: str  # the joined column's name (data.columns.label)
    keep_own: bool = False
    pinned: tuple[Partition, ...] | None = None
    _index: LabelIndex | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def uri(self) -> str:
        return self.predictions.uri

    def _own(self) -> bool:
        if self.label not in self.predictions.column_names:
            return False
        if self.keep_own:
            return True
        raise ColumnError(
            self.label,
            f"{self.predictions.uri} has a column {self.label} of its own and data.labels joins one: "
            "rename one (data.columns.label) or remove data.labels",
        )

    def _label_type(self, *, strict: bool = True) -> pa.DataType:
        """The labels' type; null while none has arrived (nothing at their URI yet).

        Not ``strict``: null also when the labels cannot be read, for the schema, so that checks
        without labels (feature drift) still run; the join itself then raises.
        """
        try:
            for name in (self.columns.id, self.columns.label, self.columns.timestamp):
                if name is not None:
                    self.labels.require(name)
            return self.labels.require(self.columns.label)
        except NoData:
            return pa.null()
        except DataError:
            if strict:
                raise
            return pa.null()

    @property
    def absent(self) -> str | None:
        """Why no label can join yet: nothing at the labels' URI (None: labels are there)."""
        try:
            self.labels.schema  # noqa: B018 - opens the labels
        except NoData as error:
            return str(error)
        return None

    @property
    def schema(self) -> pa.Schema:
        schema = self.predictions.schema
        return schema if self._own() else schema.append(pa.field(self.label, self._label_type(strict=False)))

    @property
    def column_names(self) -> list[str]:
        return list(self.schema.names)

    @property
    def non_feature_columns(self) -> list[str]:
        """The predictions' own, and the request id: an id is never a feature."""
        own = self.predictions.non_feature_columns
        return [*own, self.request_id] if self.request_id in self.predictions.column_names else own

    def require(self, column: str) -> pa.DataType:
        if column == self.label and not self._own():
            return self._label_type()
        return self.predictions.require(column)

    def index(self) -> LabelIndex:
        """The labels' index, built at the first join and kept (the threads of a check share it)."""
        with self._lock:
            if self._index is None:
                if self.request_id not in self.predictions.column_names:
                    raise ColumnError(
                        self.request_id,
                        f"{self.predictions.uri} has neither a column {self.label} nor {self.request_id}, "
                        "the request id data.labels join on (data.columns.requestId)",
                    )
                label_type = self._label_type()
                names = [name for name in (self.columns.id, self.columns.label, self.columns.timestamp) if name]
                if label_type == pa.null():
                    self._index = LabelIndex.build((), self.columns, label_type)
                    return self._index
                slices = self.pinned if self.pinned is not None else self.labels.partitions(self.label_rows)
                batches = (
                    batch
                    for piece in slices
                    for batch in self.labels.record_batches(names, self.label_rows, partition=piece)
                )
                self._index = LabelIndex.build(batches, self.columns, label_type)
            return self._index

    def label_slices(self) -> tuple[Partition, ...]:
        """The labels' slices this check reads, listed now: what the Dask workers are pinned to (none: no join)."""
        if self.pinned is not None:
            return self.pinned
        if self._own() or self.absent is not None:
            return ()
        return tuple(self.labels.partitions(self.label_rows))

    def read(self, columns: list[str], rows: RowFilter | None = None) -> pa.Table:
        whole = self.schema  # built once: each build asks the labels' schema again
        schema = pa.schema([whole.field(name) for name in columns])
        return pa.Table.from_batches(list(self.record_batches(columns, rows)), schema=schema)

    def partitions(self, rows: RowFilter | None = None) -> list[Partition]:
        return self.predictions.partitions(rows)

    def record_batches(
        self,
        columns: list[str],
        rows: RowFilter | None = None,
        batch_size: int = 1 << 18,
        *,
        partition: Partition | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """The named columns of the selected predictions, the label among them joined batch by batch."""
        if self.label not in columns or self._own():
            yield from self.predictions.record_batches(columns, rows, batch_size, partition=partition)
            return
        index = self.index()
        read = list(dict.fromkeys([name for name in columns if name != self.label] + [self.request_id]))
        for batch in self.predictions.record_batches(read, rows, batch_size, partition=partition):
            joined = {name: batch.column(name) for name in read}
            joined[self.label] = index.lookup(batch.column(self.request_id))
            yield pa.RecordBatch.from_arrays([joined[name] for name in columns], names=columns)

    def time_range(self, column: str) -> tuple[datetime, datetime] | None:
        return self.predictions.time_range(column)

    def count(self, rows: RowFilter | None = None) -> int:
        return self.predictions.count(rows)

    def total_bytes(self, rows: RowFilter | None = None) -> int | None:
        """The predictions' bytes and the labels' a check reads."""
        predictions, labels = self.predictions.total_bytes(rows), self.labels.total_bytes(self.label_rows)
        return None if predictions is None or labels is None else predictions + labels
