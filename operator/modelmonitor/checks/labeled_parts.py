"""The labeled rows that performance metrics and concept drift read, as a map over partitions and a merge.

Each side (the current window, and each baseline a ``performanceWindow`` check compares
with) is read partition by partition (``Source.partitions``), a batch at a time.
Pass one maps a partition to its labeled-row count, its distinct labels and predictions
and its earliest timestamp; the merge fixes the class codes and the width of the report's
time buckets. Pass two maps a partition to one confusion matrix per time bucket (exact
counts, which add up), the score column's tallies and, only where some check needs single
rows (score metrics, regression, the sequential detectors), the rows themselves as narrow
arrays; the merge adds the matrices and puts the rows in time order. Label metrics, their
intervals and their window comparisons need the matrices alone, so a classification
monitor's labels may be any size. In this process (``InProcess``) or on a Dask cluster's
workers, the same stages run over the same partitions: the results are identical.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from modelmonitor.api.concept_drift import CONCEPT_DRIFT_METHODS, Baseline
from modelmonitor.api.metrics import METRICS
from modelmonitor.api.monitor import ModelMonitorSpec, Task
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.executors import Executor
from modelmonitor.checks.labels import (
    ClassCoder,
    LabeledRows,
    class_text,
    distinct_union,
    labeled_mask,
    numeric_column,
    plain,
    to_labeled_rows,
    whole_numbers,
)
from modelmonitor.data.source_definition import Partition, RowFilter, Source
from modelmonitor.data.timestamps import utc_instants
from modelmonitor.engine.metrics import grouped_confusion_matrices
from modelmonitor.errors import ColumnError, DataError

CURRENT = "current"
BUCKET_SECONDS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400, 30 * 86400)
MOST_BUCKETS = 36
_ROLES = ("label", "prediction")
SAMPLE_SEED = 20_240_917  # gathered rows above data.maxGatheredRows: a fixed seed, so a run can be repeated


def bucket_seconds(span_seconds: float) -> int:
    """The shortest bucket from a ladder of round durations that cuts the span into at most MOST_BUCKETS."""
    for width in BUCKET_SECONDS:
        if span_seconds <= width * MOST_BUCKETS:
            return width
    return math.ceil(span_seconds / MOST_BUCKETS)


def sides(spec: ModelMonitorSpec) -> list[str]:
    """The current window, then each baseline a performanceWindow check compares with."""
    baselines = [c.baseline for c in spec.concept_drift if CONCEPT_DRIFT_METHODS[c.method].windowed]
    return [CURRENT, *dict.fromkeys(str(baseline) for baseline in baselines)]


def gathers(spec: ModelMonitorSpec, side: str) -> bool:
    """Whether some check of this side needs its single rows, not only their confusion matrices."""
    if spec.model.task is Task.REGRESSION:
        return True
    windows = [c for c in spec.concept_drift if CONCEPT_DRIFT_METHODS[c.method].windowed]
    scored = any(
        c.metric is not None and METRICS[c.metric].needs_scores for c in windows if side in (CURRENT, str(c.baseline))
    )
    if side != CURRENT:
        return scored
    sequential = any(not CONCEPT_DRIFT_METHODS[c.method].windowed for c in spec.concept_drift)
    return scored or sequential or any(METRICS[m.name].needs_scores for m in spec.metrics)


def _rows_of(context: CheckContext, side: str) -> tuple[Source, RowFilter | None]:
    if side == CURRENT:
        return context.current, context.current_rows
    if side == Baseline.REFERENCE:
        return context.reference, context.reference_rows
    return context.current, context.rows(context.spec.data.current, shift=1)


def _labeled_batches(context: CheckContext, side: str, partition: Partition) -> Iterator[pa.RecordBatch]:
    columns = context.spec.data.columns
    if columns.label is None:
        raise ColumnError("label", "data.columns.label is not set")
    named = (columns.prediction, columns.label, columns.score, columns.timestamp)
    source, rows = _rows_of(context, side)
    for batch in source.record_batches(list(dict.fromkeys(c for c in named if c)), rows, partition=partition):
        if (labeled := batch.filter(labeled_mask(batch, columns))).num_rows:
            yield labeled


def _seconds(values: pa.Array) -> NDArray[np.int64]:
    return utc_instants(values).to_numpy(zero_copy_only=False).astype("datetime64[s]").astype(np.int64)


@dataclass
class LabelScan:
    """Pass one over one partition: labeled rows, distinct classes, earliest second."""

    rows: int = 0
    classes: dict[str, pa.Array] = field(default_factory=dict)  # by role: the distinct values
    whole: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(_ROLES, True))  # floats all whole numbers
    earliest: int | None = None
    error: str = ""

    def merge(self, other: LabelScan) -> None:
        self.rows += other.rows
        for role, values in other.classes.items():
            self.classes[role] = distinct_union(self.classes.get(role), values)
            self.whole[role] = self.whole[role] and other.whole[role]
        if other.earliest is not None:
            self.earliest = other.earliest if self.earliest is None else min(self.earliest, other.earliest)
        self.error = self.error or other.error


def scan_labels(context: CheckContext, side: str, partition: Partition) -> LabelScan:
    columns = context.spec.data.columns
    classify = context.spec.model.task is not Task.REGRESSION
    result = LabelScan()
    try:
        for batch in _labeled_batches(context, side, partition):
            found = LabelScan(rows=batch.num_rows)
            if classify:
                for role, name in zip(_ROLES, (columns.label, columns.prediction), strict=True):
                    values = plain(batch.column(name))
                    found.classes[role] = pc.unique(values)
                    found.whole[role] = whole_numbers(values)
            if columns.timestamp:
                found.earliest = int(_seconds(batch.column(columns.timestamp)).min())
            result.merge(found)
    except (DataError, ValueError) as error:  # ValueError: arrow cannot convert a value
        result.error = str(error)
    return result


@dataclass(frozen=True)
class LabelPlan:
    """What pass two needs: class codes, each side's class text, the time buckets' width, who gathers rows."""

    sides: tuple[str, ...]
    coder: ClassCoder | None = None
    whole: dict[str, tuple[bool | None, bool | None]] = field(default_factory=dict)  # by side: label, prediction
    width: int = 0  # seconds per time bucket of the current window; 0 without timestamps
    gathering: frozenset[str] = frozenset()
    keep: dict[str, float] = field(default_factory=dict)  # by gathering side: the share of rows kept, when < 1
    error: str = ""


def plan_labels(context: CheckContext, named: list[str], *scans: list[LabelScan]) -> LabelPlan:
    """Merge pass one: ``scans`` holds each side's partition scans, in ``named`` order."""
    spec = context.spec
    merged: dict[str, LabelScan] = {}
    for side, parts in zip(named, scans, strict=True):
        merged[side] = total = LabelScan()
        for part in parts:
            total.merge(part)
        if total.error:
            return LabelPlan(tuple(named), error=total.error)
    classify = spec.model.task is not Task.REGRESSION
    whole = {
        side: (scan.whole["label"], scan.whole["prediction"]) if classify else (None, None)
        for side, scan in merged.items()
    }
    coder = None
    if classify:
        texts = {
            text
            for scan in merged.values()
            for role, values in scan.classes.items()
            for text in class_text(values, scan.whole[role]).to_pylist()
        }
        try:
            coder = ClassCoder(texts, spec.model.positive_label)
        except DataError as error:
            return LabelPlan(tuple(named), error=str(error))
    current = merged[CURRENT]
    width = 0
    if current.earliest is not None:
        window = context.current_rows
        start = window.start.timestamp() if window is not None and window.start is not None else current.earliest
        width = bucket_seconds(max(context.now.timestamp() - start, 1.0))
    gathering = frozenset(side for side in named if gathers(spec, side))
    limit = spec.data.max_gathered_rows
    keep = {side: limit / merged[side].rows for side in gathering if merged[side].rows > limit}
    return LabelPlan(tuple(named), coder, whole, width, gathering, keep)


@dataclass
class ScoreTally:
    """The score column over labeled rows: how many lack a score, and how many are not probabilities."""

    labeled: int = 0
    missing: int = 0
    outside: int = 0
    low: float = math.inf
    high: float = -math.inf

    def merge(self, other: ScoreTally) -> None:
        self.labeled += other.labeled
        self.missing += other.missing
        self.outside += other.outside
        self.low, self.high = min(self.low, other.low), max(self.high, other.high)

    @property
    def scored(self) -> int:
        return self.labeled - self.missing

    @classmethod
    def of(cls, score: NDArray[np.float64]) -> ScoreTally:
        present = score[~np.isnan(score)]
        tally = cls(score.size, score.size - present.size, int(np.count_nonzero((present < 0) | (present > 1))))
        if present.size:
            tally.low, tally.high = float(present.min()), float(present.max())
        return tally


Matrices = dict[int, NDArray[np.int64]]  # a time bucket's number (seconds // width) → its confusion matrix


def _add_matrices(total: Matrices, more: Matrices) -> None:
    for bucket, matrix in more.items():
        total[bucket] = total[bucket] + matrix if bucket in total else matrix


def _bucket_matrices(rows: LabeledRows, buckets: NDArray[np.int64], classes: int) -> Matrices:
    numbers, inverse = np.unique(buckets, return_inverse=True)
    counts = grouped_confusion_matrices(inverse, rows.y_true, rows.y_pred, numbers.size, classes)
    return dict(zip(numbers.tolist(), counts, strict=True))


def bucket_numbers(timestamps: NDArray[np.datetime64] | None, size: int, width: int) -> NDArray[np.int64]:
    """Each row's time bucket: its second // width (all 0 without timestamps)."""
    if timestamps is None or width == 0:
        return np.zeros(size, dtype=np.int64)
    return timestamps.astype("datetime64[s]").astype(np.int64) // width


@dataclass
class LabeledPart:
    """Pass two over one partition (or a whole side, merged)."""

    rows: int = 0
    matrices: Matrices = field(default_factory=dict)
    scores: ScoreTally = field(default_factory=ScoreTally)
    gathered: list[LabeledRows] = field(default_factory=list)
    error: str = ""


def summarize_labels(
    context: CheckContext, side: str, number: int, partition: Partition, plan: LabelPlan
) -> LabeledPart:
    """Pass two over the side's partition ``number``."""
    columns, task = context.spec.data.columns, context.spec.model.task
    result = LabeledPart()
    if plan.error:
        return result
    classes = max(len(plan.coder.classes), 1) if plan.coder else 0
    try:
        for index, batch in enumerate(_labeled_batches(context, side, partition)):
            rows = to_labeled_rows(batch, columns, task, plan.coder, plan.whole[side])
            result.rows += rows.size
            if classes:
                buckets = bucket_numbers(rows.timestamps, rows.size, plan.width if side == CURRENT else 0)
                _add_matrices(result.matrices, _bucket_matrices(rows, buckets, classes))
            if columns.score:
                result.scores.merge(ScoreTally.of(numeric_column(batch, columns.score)))
            if side in plan.gathering:
                keep = plan.keep.get(side, 1.0)
                # each batch its own stream, so the sample is the same wherever the partition is read
                stream = (plan.sides.index(side), number, index)
                result.gathered.append(rows if keep >= 1 else _sample(rows, keep, stream))
    except (DataError, ValueError) as error:
        result.error = str(error)
    if len(result.gathered) > 1:
        result.gathered = [LabeledRows.concatenated(result.gathered)]
    return result


def _sample(rows: LabeledRows, keep: float, stream: tuple[int, ...]) -> LabeledRows:
    """A uniform random sample of the rows (each kept with probability ``keep``), in their order."""
    chosen = np.random.default_rng([SAMPLE_SEED, *stream]).random(rows.size) < keep
    return rows.take(np.flatnonzero(chosen))


@dataclass(frozen=True)
class LabeledSide:
    """One side's labeled rows after the merge: counts always, the rows themselves when gathered."""

    rows: int
    classes: int  # 0 for regression
    matrices: Matrices
    scores: ScoreTally
    gathered: LabeledRows | None  # in time order

    @property
    def matrix(self) -> NDArray[np.int64] | None:
        """The whole side's confusion matrix (classification)."""
        if not self.classes:
            return None
        return sum(self.matrices.values(), np.zeros((self.classes, self.classes), dtype=np.int64))


def merge_labeled(context: CheckContext, side: str, plan: LabelPlan, parts: list[LabeledPart]) -> LabeledSide | str:
    """The side, or why it could not be read."""
    if error := plan.error or next((part.error for part in parts if part.error), ""):
        return error
    total = LabeledPart()
    for part in parts:
        total.rows += part.rows
        _add_matrices(total.matrices, part.matrices)
        total.scores.merge(part.scores)
        total.gathered += part.gathered
    gathered = None
    if side in plan.gathering:
        gathered = LabeledRows.concatenated(total.gathered) if total.gathered else _no_rows(context, plan)
        total.gathered.clear()
        times = gathered.timestamps
        if times is not None and times.size and not (times[1:] >= times[:-1]).all():  # logs are mostly in order
            gathered = gathered.take(np.argsort(times, kind="stable"))  # as one stable sort of it all
    classes = max(len(plan.coder.classes), 1) if plan.coder else 0
    return LabeledSide(total.rows, classes, total.matrices, total.scores, gathered)


def _no_rows(context: CheckContext, plan: LabelPlan) -> LabeledRows:
    columns = context.spec.data.columns
    kind = np.int64 if plan.coder else np.float64
    return LabeledRows(
        np.empty(0, kind),
        np.empty(0, kind),
        np.empty(0) if columns.score else None,
        np.empty(0, "datetime64[us]") if columns.timestamp else None,
    )


@dataclass(frozen=True)
class LabeledData:
    """Every side of a check's labeled rows, or why they could not be read."""

    plan: LabelPlan
    sides: dict[str, LabeledSide] = field(default_factory=dict)
    error: str = ""


def _collected(context: CheckContext, plan: LabelPlan, *merged: LabeledSide | str) -> LabeledData:
    if error := next((side for side in merged if isinstance(side, str)), ""):
        return LabeledData(plan, error=error)
    return LabeledData(plan, dict(zip(plan.sides, merged, strict=True)))  # type: ignore[arg-type]


def _unlisted(context: CheckContext, named: list[str], error: str) -> LabeledData:
    return LabeledData(LabelPlan(tuple(named)), error=error)


@dataclass(frozen=True)
class LabelsTask:
    """Read the labeled rows of every side a check's performance metrics and concept drift need."""

    def submit(self, context: CheckContext, executor: Executor) -> Any:
        named = sides(context.spec)
        try:
            partitions = [source.partitions(rows) for source, rows in (_rows_of(context, side) for side in named)]
        except DataError as error:
            return executor.submit(_unlisted, named, str(error))
        each = list(zip(named, partitions, strict=True))
        scans = [[executor.submit(scan_labels, side, part) for part in found] for side, found in each]
        plan = executor.submit(plan_labels, named, *scans)
        summaries = [
            [executor.submit(summarize_labels, side, number, part, plan) for number, part in enumerate(found)]
            for side, found in each
        ]
        merged = [
            executor.submit(merge_labeled, side, plan, parts) for side, parts in zip(named, summaries, strict=True)
        ]
        return executor.submit(_collected, plan, *merged)
