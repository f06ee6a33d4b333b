"""Labeled rows as arrays: classes coded as integers, in time order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from modelmonitor.api.data import Columns
from modelmonitor.api.monitor import Task
from modelmonitor.data.source_definition import RowFilter, Source
from modelmonitor.data.timestamps import utc_instants
from modelmonitor.errors import ColumnError, DataError


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

    @classmethod
    def concatenated(cls, parts: Sequence[LabeledRows]) -> LabeledRows:
        """Some rows one after the other (all with the same columns)."""

        def joined(arrays: list[Any]) -> Any:
            return None if arrays[0] is None else np.concatenate(arrays)

        return cls(
            joined([p.y_true for p in parts]),
            joined([p.y_pred for p in parts]),
            joined([p.score for p in parts]),
            joined([p.timestamps for p in parts]),
        )

    def take(self, index: NDArray[np.int64]) -> LabeledRows:
        return LabeledRows(
            self.y_true[index],
            self.y_pred[index],
            None if self.score is None else self.score[index],
            None if self.timestamps is None else self.timestamps[index],
        )


def read_labeled(source: Source, columns: Columns, rows: RowFilter | None, also: Sequence[str] = ()) -> pa.Table:
    """The prediction, label, score and timestamp columns of the labeled rows, and the ``also`` columns."""
    if columns.label is None:
        raise ColumnError("label", "data.columns.label is not set")
    named = (columns.prediction, columns.label, columns.score, columns.timestamp, *also)
    wanted = list(dict.fromkeys(column for column in named if column))
    table = source.read(wanted, rows)
    table = table.filter(labeled_mask(table, columns))
    if columns.timestamp:
        index = table.schema.get_field_index(columns.timestamp)
        table = table.set_column(index, columns.timestamp, utc_instants(table[columns.timestamp], columns.timestamp))
        table = table.sort_by(columns.timestamp)
    return table


def labeled_mask(rows: pa.Table | pa.RecordBatch, columns: Columns) -> pa.ChunkedArray | pa.Array:
    """Which rows have both a label and a prediction: a null or NaN label is one yet to arrive."""
    assert columns.label is not None
    return all_present(rows, [columns.label, columns.prediction])


def all_present(rows: pa.Table | pa.RecordBatch, names: Sequence[str]) -> pa.ChunkedArray | pa.Array:
    """Which rows have a value (not null, not NaN) in each named column."""
    mask = present(rows.column(names[0]))
    for name in names[1:]:
        mask = pc.and_kleene(mask, present(rows.column(name)))
    return mask


def present(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Which values are there: not null, and not NaN."""
    if pa.types.is_floating(values.type):
        return pc.and_kleene(pc.is_valid(values), pc.invert(pc.is_nan(values)))
    return pc.is_valid(values)


def plain(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Dictionary-encoded values decoded; any others as they are."""
    return pc.cast(values, values.type.value_type) if pa.types.is_dictionary(values.type) else values


def distinct_union(known: pa.Array | None, more: pa.Array) -> pa.Array:
    """The distinct values of two lists of distinct values (the first may be None: none yet)."""
    return more if known is None else pc.unique(pa.concat_arrays([known, more]))


def whole_numbers(values: pa.ChunkedArray | pa.Array) -> bool:
    """Whether floats are all whole numbers: 1.0 and 1 then name the same class."""
    if not pa.types.is_floating(values.type):
        return False
    as_int = pc.cast(values, pa.int64(), safe=False)
    return pc.all(pc.equal(pc.cast(as_int, values.type, safe=False), values)).as_py() is not False


def class_text(values: pa.ChunkedArray | pa.Array, whole: bool | None = None) -> pa.ChunkedArray | pa.Array:
    """Class values as text; ``whole`` (found from the values when None) writes whole floats as integers."""
    values = plain(values)
    if whole if whole is not None else whole_numbers(values):
        values = pc.cast(values, pa.int64(), safe=False)
    return pc.cast(values, pa.string())


class ClassCoder:
    """Codes class values as integers, the same way for every table of one check."""

    def __init__(self, classes: Iterable[str], positive_label: str | None) -> None:
        self.classes: list[str] = sorted(set(classes), key=lambda value: (*_class_order(value), value))
        self.positive = self._positive(positive_label)
        self._lookup = pa.array(self.classes, pa.string())

    @classmethod
    def of_tables(cls, tables: list[pa.Table], columns: Columns, positive_label: str | None) -> ClassCoder:
        """The classes among the labels and predictions of some tables (nulls are labels yet to arrive; a table may
        hold predictions alone)."""
        values = [
            class_text(table[name]).drop_null()
            for table in tables
            for name in (columns.label, columns.prediction)
            if table.num_rows and name in table.column_names
        ]
        return cls({value for chunk in values for value in chunk.to_pylist()}, positive_label)

    def _positive(self, positive_label: str | None) -> int:
        if positive_label is not None:
            if positive_label not in self.classes:
                raise ColumnError("label", f"positiveLabel {positive_label!r} is not among the classes {self.classes}")
            return self.classes.index(positive_label)
        for conventional in ("1", "true", "True"):
            if conventional in self.classes:
                return self.classes.index(conventional)
        return max(len(self.classes) - 1, 0)

    def encode(self, values: pa.ChunkedArray | pa.Array, whole: bool | None = None) -> NDArray[np.signedinteger]:
        """Class codes of some values (``whole`` as in :func:`class_text`)."""
        codes = pc.index_in(class_text(values, whole), value_set=self._lookup)
        if codes.null_count > values.null_count:
            raise DataError("labels or predictions changed while the check read them: a class it had not seen")
        return codes.to_numpy(zero_copy_only=False).astype(self._code_type)

    @property
    def _code_type(self) -> type[np.signedinteger]:
        """The narrowest integer that holds every code: rows held for rank metrics take 1 byte a class, not 8."""
        return np.int8 if len(self.classes) < 2**7 else np.int16 if len(self.classes) < 2**15 else np.int32


def _class_order(value: str) -> tuple[int, float | str]:
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


def to_labeled_rows(
    table: pa.Table | pa.RecordBatch,
    columns: Columns,
    task: Task,
    coder: ClassCoder | None,
    whole: tuple[bool | None, bool | None] = (None, None),
) -> LabeledRows:
    """The rows as arrays; ``whole`` says for the label and the prediction column whether their floats are whole."""
    assert columns.label is not None
    if task is Task.REGRESSION:
        y_true = numeric_column(table, columns.label)
        y_pred = numeric_column(table, columns.prediction)
    else:
        assert coder is not None
        y_true = coder.encode(table[columns.label], whole[0])
        y_pred = coder.encode(table[columns.prediction], whole[1])
    score = numeric_column(table, columns.score) if columns.score else None
    timestamps = None
    if columns.timestamp:
        timestamps = utc_instants(table[columns.timestamp], columns.timestamp).to_numpy(zero_copy_only=False)
    return LabeledRows(y_true, y_pred, score, timestamps)


def numeric_column(table: pa.Table | pa.RecordBatch, column: str) -> NDArray[np.float64]:
    values = table[column]
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type) or pa.types.is_boolean(values.type)):
        raise ColumnError(column, f"is {values.type}: expected numbers")
    return values.to_numpy(zero_copy_only=False).astype(np.float64)
