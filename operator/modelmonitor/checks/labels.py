"""Labeled rows as arrays: classes coded as integers, in time order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from modelmonitor.data.source import RowFilter, TableSource
from modelmonitor.errors import ColumnError
from modelmonitor.spec import Columns, Task


@dataclass(frozen=True)
class LabeledRows:
    """Rows that have both a label and a prediction, sorted by time when there is one."""

    y_true: NDArray[np.float64] | NDArray[np.int64]
    y_pred: NDArray[np.float64] | NDArray[np.int64]
    score: NDArray[np.float64] | None
    timestamps: NDArray[np.datetime64] | None

    @property
    def size(self) -> int:
        return int(self.y_true.size)

    def errors(self, task: Task) -> NDArray[np.float64]:
        """The per-row error stream: 0/1 for classification, absolute error for regression."""
        if task is Task.REGRESSION:
            return np.abs(self.y_pred - self.y_true).astype(np.float64)
        return (self.y_pred != self.y_true).astype(np.float64)

    def take(self, index: NDArray[np.int64]) -> LabeledRows:
        return LabeledRows(
            self.y_true[index],
            self.y_pred[index],
            None if self.score is None else self.score[index],
            None if self.timestamps is None else self.timestamps[index],
        )


def read_labeled(source: TableSource, columns: Columns, rows: RowFilter | None, also: Sequence[str] = ()) -> pa.Table:
    """The prediction, label, score and timestamp columns of the labeled rows, and the ``also`` columns."""
    if columns.label is None:
        raise ColumnError("label", "data.columns.label is not set")
    named = (columns.prediction, columns.label, columns.score, columns.timestamp, *also)
    wanted = list(dict.fromkeys(column for column in named if column))
    table = source.read(wanted, rows)
    table = table.filter(pc.and_(pc.is_valid(table[columns.label]), pc.is_valid(table[columns.prediction])))
    if columns.timestamp:
        index = table.schema.get_field_index(columns.timestamp)
        table = table.set_column(index, columns.timestamp, utc_timestamps(table[columns.timestamp]))
        table = table.sort_by(columns.timestamp)
    return table


def utc_timestamps(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Timestamps, ISO-8601 strings or epoch seconds as UTC instants (naive ones taken as UTC)."""
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        micros = pc.cast(pc.round(pc.multiply(pc.cast(values, pa.float64()), 1e6)), pa.int64())
        return pc.cast(micros, pa.timestamp("us", tz="UTC"))
    return pc.cast(values, pa.timestamp("us", tz="UTC"))


def _as_text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_floating(values.type):
        # 1.0 and 1 name the same class when labels are ints and predictions floats
        as_int = pc.cast(values, pa.int64(), safe=False)
        if pc.all(pc.equal(pc.cast(as_int, values.type), values)).as_py() is not False:
            values = as_int
    if pa.types.is_dictionary(values.type):
        values = pc.cast(values, values.type.value_type)
    return pc.cast(values, pa.string())


class ClassCoder:
    """Codes class values as integers, the same way for every table of one check."""

    def __init__(self, tables: list[pa.Table], columns: Columns, positive_label: str | None) -> None:
        values = [  # nulls are labels yet to arrive, not a class
            pc.drop_null(_as_text(table[name]))
            for table in tables
            for name in (columns.label, columns.prediction)
            if table.num_rows
        ]
        seen = (
            pc.unique(pa.chunked_array([c for v in values for c in v.chunks], pa.string()))
            if values
            else pa.array([], pa.string())
        )
        self.classes: list[str] = sorted(seen.to_pylist(), key=_class_order)
        self.positive = self._positive(positive_label)
        self._lookup = pa.array(self.classes, pa.string())

    def _positive(self, positive_label: str | None) -> int:
        if positive_label is not None:
            if positive_label not in self.classes:
                raise ColumnError("label", f"positiveLabel {positive_label!r} is not among the classes {self.classes}")
            return self.classes.index(positive_label)
        for conventional in ("1", "true", "True"):
            if conventional in self.classes:
                return self.classes.index(conventional)
        return max(len(self.classes) - 1, 0)

    def encode(self, values: pa.ChunkedArray) -> NDArray[np.int64]:
        return pc.index_in(_as_text(values), value_set=self._lookup).to_numpy(zero_copy_only=False).astype(np.int64)


def _class_order(value: str) -> tuple[int, float | str]:
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


def to_labeled_rows(table: pa.Table, columns: Columns, task: Task, coder: ClassCoder | None) -> LabeledRows:
    assert columns.label is not None
    if task is Task.REGRESSION:
        y_true = numeric_column(table, columns.label)
        y_pred = numeric_column(table, columns.prediction)
    else:
        assert coder is not None
        y_true = coder.encode(table[columns.label])
        y_pred = coder.encode(table[columns.prediction])
    score = numeric_column(table, columns.score) if columns.score else None
    timestamps = None
    if columns.timestamp:
        timestamps = table[columns.timestamp].to_numpy()
    return LabeledRows(y_true, y_pred, score, timestamps)


def numeric_column(table: pa.Table, column: str) -> NDArray[np.float64]:
    values = table[column]
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type) or pa.types.is_boolean(values.type)):
        raise ColumnError(column, f"is {values.type}: expected numbers")
    return values.to_numpy().astype(np.float64)
