"""Which drifted feature explains the loss, when a metric fails or concept drift is found (``engine.attribution``).

The metrics to explain are those that failed, and the metric behind each concept-drift check
that fired (accuracy for a classifier's error-rate detectors, mae for a regression's). The
features are those the drift check found drifted, each with the bins of its drift picture. One
pass over the window's labelled rows counts, per feature and bin, a confusion matrix (or the
error sums of a regression): memory is features × bins × classes², whatever the rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from modelmonitor.api.metrics import METRICS, MetricName
from modelmonitor.api.monitor import Task
from modelmonitor.api.results import AttributionResult, ConceptDriftResult, DriftResult, MetricResult
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.labels import labeled_mask, to_labeled_rows
from modelmonitor.checks.performance import PerformanceData
from modelmonitor.engine import attribution as engine
from modelmonitor.engine.metrics import grouped_confusion_matrices

REWEIGHTED_REGRESSION = ("mae", "rmse", "mape")


def _targets(metrics: Sequence[MetricResult], concept: Sequence[ConceptDriftResult], task: Task) -> list[str]:
    """The metrics whose loss is to be explained: those that failed, and those behind concept drift found."""
    named = [m.name for m in metrics if m.status is Verdict.FAILED]
    for check in concept:
        if check.detected:
            named.append(check.metric or ("mae" if task is Task.REGRESSION else "accuracy"))
    return list(dict.fromkeys(named))


def _reweightable(name: str, task: Task) -> bool:
    if task is Task.REGRESSION:
        return name in REWEIGHTED_REGRESSION
    return not METRICS[MetricName(name)].needs_scores


@dataclass
class FeatureTally:
    """One drifted feature's labelled rows by bin: rows, and per-bin sums (confusion matrices, or error sums)."""

    bins: engine.Bins
    rows: NDArray[np.int64]
    sums: NDArray[np.float64]  # (bins, classes, classes) or (bins, REGRESSION_SUMS)

    @classmethod
    def empty(cls, bins: engine.Bins, shape: tuple[int, ...]) -> FeatureTally:
        return cls(bins, np.zeros(bins.size, np.int64), np.zeros((bins.size, *shape)))

    def add(self, values: pa.ChunkedArray | pa.Array, rows: Outcomes) -> None:
        if self.bins.edges is not None:
            codes = self.bins.codes_of_numbers(np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64))
        else:
            codes = self.bins.codes_of_text([None if v is None else str(v) for v in values.to_pylist()])
        self.rows += np.bincount(codes, minlength=self.bins.size)
        if isinstance(rows, ClassCodes):  # a confusion matrix per bin, counted without a row per cell
            self.sums += grouped_confusion_matrices(codes, rows.y_true, rows.y_pred, self.bins.size, rows.classes)
        else:
            np.add.at(self.sums, codes, rows)


@dataclass(frozen=True)
class ClassCodes:
    """Each labelled row's true and predicted class codes, of ``classes`` classes."""

    y_true: NDArray[np.int64]
    y_pred: NDArray[np.int64]
    classes: int


Outcomes = ClassCodes | NDArray[np.float64]  # classification's cells, or a regression's error sums per row


def _bins(feature: str, drift: DriftResult) -> engine.Bins | None:
    found = next((f for f in drift.features if f.feature == feature), None)
    if found is None:
        return None
    if found.histogram is not None:
        return engine.Bins.of_histogram(found.histogram)
    if found.categories is not None:
        return engine.Bins.of_categories(found.categories)
    return None


def _outcomes(performance: PerformanceData, batch: pa.RecordBatch, context: CheckContext) -> Outcomes:
    """Each labelled row as what its metric adds up: its classes, or its error sums."""
    task = context.spec.model.task
    columns = context.spec.data.columns.model_copy(update={"timestamp": None, "score": None})  # labels, predictions
    rows = to_labeled_rows(batch, columns, task, performance.coder, performance.whole)
    if task is Task.REGRESSION:
        return engine.regression_sums(rows.y_true, rows.y_pred)
    return ClassCodes(rows.y_true.astype(np.int64), rows.y_pred.astype(np.int64), performance.n_classes)


def attribute(
    context: CheckContext,
    performance: PerformanceData,
    metrics: Sequence[MetricResult],
    concept: Sequence[ConceptDriftResult],
    drift: DriftResult | None,
) -> list[AttributionResult]:
    """Each drifted feature's share of each lost metric, the largest first; none without both a loss and drift."""
    task = context.spec.model.task
    targets = [name for name in _targets(metrics, concept, task) if _reweightable(name, task)]
    if not targets or drift is None:
        return []
    binned = {f.feature: bins for f in drift.features if f.drifted and (bins := _bins(f.feature, drift)) is not None}
    if not binned:
        return []
    shape = (engine.REGRESSION_SUMS,) if task is Task.REGRESSION else (performance.n_classes,) * 2
    tallies = {feature: FeatureTally.empty(bins, shape) for feature, bins in binned.items()}
    columns = context.spec.data.columns
    named = [columns.label, columns.prediction, *binned]
    for batch in context.current.record_batches(list(dict.fromkeys(c for c in named if c)), context.current_rows):
        labeled = batch.filter(labeled_mask(batch, columns))
        if not labeled.num_rows:
            continue
        outcomes = _outcomes(performance, labeled, context)
        for feature, tally in tallies.items():
            tally.add(labeled.column(feature), outcomes)
    found = []
    for name in targets:
        for feature, tally in tallies.items():
            if (scored := _scored(context, performance, name, tally)) is not None:
                value, weighted = scored
                better = weighted - value if METRICS[MetricName(name)].higher_is_better else value - weighted
                found.append(AttributionResult(feature, better, name, value, weighted))
    return sorted(found, key=lambda item: (targets.index(item.metric), -item.explained_drop))


def _scored(
    context: CheckContext, performance: PerformanceData, name: str, tally: FeatureTally
) -> tuple[float, float] | None:
    """The metric on the rows as they are, and reweighted; None where either is undefined."""
    if context.spec.model.task is Task.REGRESSION:
        weighted_rows = float(engine.bin_weights(tally.rows, tally.bins.reference_shares) @ tally.rows)
        value = engine.regression_value(name, tally.sums.sum(axis=0), float(tally.rows.sum()))
        weighted = engine.regression_value(name, engine.reweighted(tally.sums, tally.rows, tally.bins), weighted_rows)
    else:
        configured = next((m for m in context.spec.metrics if m.name == name), MetricName(name))  # its average
        of_counts = performance.counts_metric(configured)
        assert of_counts is not None
        value = float(of_counts(tally.sums.sum(axis=0)[None])[0])
        weighted = float(of_counts(engine.reweighted(tally.sums, tally.rows, tally.bins)[None])[0])
    if not (math.isfinite(value) and math.isfinite(weighted)):
        return None
    return value, weighted
