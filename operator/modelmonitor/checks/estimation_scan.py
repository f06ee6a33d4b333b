"""CBPE's first stage: each partition of the window and of the reference read for what the plan needs.

A window's partition maps to how many of its rows wait for a label, their distinct predictions
and, where ROC AUC is estimated, their distinct scores with counts; a reference's partition
maps to its labeled, scored rows (``modelmonitor.checks.estimation`` runs the stages).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from modelmonitor.api.data import Columns
from modelmonitor.api.metrics import MetricName
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.labels import all_present, distinct_union, numeric_column, plain, present, whole_numbers
from modelmonitor.data.source_definition import Partition
from modelmonitor.engine.cbpe import ESTIMABLE
from modelmonitor.engine.cbpe_multiclass import MULTICLASS_ESTIMABLE
from modelmonitor.engine.metrics import FORMULAS
from modelmonitor.errors import DataError


def score_columns(columns: Columns) -> list[str]:
    """A binary model's score column, or a multiclass model's one per class (in classScores' order)."""
    if columns.class_scores:
        return [entry.column for entry in columns.class_scores]
    assert columns.score is not None
    return [columns.score]


def unlabeled_batches(
    context: CheckContext, partition: Partition | None, also: Sequence[str] = ()
) -> Iterator[pa.RecordBatch]:
    """The window's rows with a prediction and every score but no label yet (null or NaN), a batch at a time.

    ``also`` names more columns to read beside them (a segment's, say).
    """
    columns = context.spec.data.columns
    assert columns.label is not None
    scores = score_columns(columns)
    named = list(dict.fromkeys([columns.prediction, columns.label, *scores, *also]))
    for batch in context.current.record_batches(named, context.current_rows, partition=partition):
        waiting = pc.and_kleene(pc.invert(present(batch.column(columns.label))), all_present(batch, scores))
        if (rows := batch.filter(pc.and_kleene(waiting, present(batch.column(columns.prediction))))).num_rows:
            yield rows


def estimated_metrics(context: CheckContext) -> tuple[MetricName, ...]:
    """The spec's metrics that can be estimated for this model."""
    estimable = MULTICLASS_ESTIMABLE if context.spec.data.columns.class_scores else ESTIMABLE
    return tuple(dict.fromkeys(m.name for m in context.spec.metrics if m.name in estimable))


def ranks_needed(context: CheckContext) -> bool:
    return any(FORMULAS[metric].ranked for metric in estimated_metrics(context))


@dataclass
class UnlabeledScan:
    """One partition of the window: its rows waiting for labels, their distinct predictions and scores."""

    rows: int = 0
    predictions: pa.Array | None = None
    whole: bool = True  # the predictions, if floats, are all whole numbers
    scores: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))  # distinct, sorted (ROC AUC only)
    counts: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    error: str = ""

    def merge(self, other: UnlabeledScan) -> None:
        self.rows += other.rows
        if other.predictions is not None:
            self.predictions = distinct_union(self.predictions, other.predictions)
            self.whole = self.whole and other.whole
        if other.scores.size:
            self.scores, self.counts = _counted(
                np.concatenate([self.scores, other.scores]), np.concatenate([self.counts, other.counts])
            )
        self.error = self.error or other.error


def _counted(values: NDArray[np.float64], counts: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    distinct, inverse = np.unique(values, return_inverse=True)
    return distinct, np.bincount(inverse, weights=counts, minlength=distinct.size).astype(np.int64)


def scan_unlabeled(context: CheckContext, partition: Partition) -> UnlabeledScan:
    columns = context.spec.data.columns
    result = UnlabeledScan()
    try:
        for batch in unlabeled_batches(context, partition):
            predictions = plain(batch.column(columns.prediction))
            found = UnlabeledScan(batch.num_rows, pc.unique(predictions), whole_numbers(predictions))
            if ranks_needed(context):
                found.scores, found.counts = np.unique(
                    numeric_column(batch, score_columns(columns)[0]), return_counts=True
                )
            result.merge(found)
    except (DataError, ValueError) as error:  # ValueError: arrow cannot convert a value
        result.error = str(error)
    return result


@dataclass(frozen=True)
class ReferencePart:
    """One partition of the reference: its labeled rows with every score (label, prediction and scores)."""

    table: pa.Table | None = None
    error: str = ""


def read_reference(context: CheckContext, partition: Partition) -> ReferencePart:
    columns = context.spec.data.columns
    assert columns.label is not None
    scores = score_columns(columns)
    named = list(dict.fromkeys([columns.prediction, columns.label, *scores]))
    try:
        batches = [
            batch.filter(all_present(batch, [columns.label, columns.prediction, *scores]))
            for batch in context.reference.record_batches(named, context.reference_rows, partition=partition)
        ]
        return ReferencePart(pa.Table.from_batches(batches) if batches else None)
    except (DataError, ValueError) as error:
        return ReferencePart(error=str(error))
