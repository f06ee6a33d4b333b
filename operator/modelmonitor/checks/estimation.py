"""Performance before the labels arrive: CBPE over the window's rows whose labels are still missing."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.labels import ClassCoder, numeric_column, read_labeled
from modelmonitor.engine.cbpe import (
    ESTIMABLE,
    MULTICLASS_ESTIMABLE,
    Calibration,
    ClassCalibration,
    Estimate,
    calibrate,
    calibrate_classes,
    estimate,
    estimate_classes,
)
from modelmonitor.engine.results import EstimatedMetric, MetricResult, PerformanceEstimation
from modelmonitor.engine.verdict import Verdict, describe_bounds, judge_interval
from modelmonitor.spec import Columns, MetricSpec, PerformanceEstimationSpec

Estimator = Callable[[MetricSpec], Estimate | None]  # None: this metric cannot be estimated


def score_columns(columns: Columns) -> list[str]:
    """A binary model's score column, or a multiclass model's one per class (in classScores' order)."""
    if columns.class_scores:
        return [entry.column for entry in columns.class_scores]
    assert columns.score is not None
    return [columns.score]


def read_unlabeled(context: CheckContext, columns: Columns) -> pa.Table:
    """The prediction and scores of the window's rows that have them all, but no label yet."""
    assert columns.label is not None
    scores = score_columns(columns)
    table = context.current.read([columns.prediction, columns.label, *scores], context.current_rows)
    return table.filter(_all_valid(table, [columns.prediction, *scores], pc.is_null(table[columns.label])))


def _all_valid(table: pa.Table, names: list[str], mask: pa.ChunkedArray | None = None) -> pa.ChunkedArray:
    for name in names:
        mask = pc.is_valid(table[name]) if mask is None else pc.and_(mask, pc.is_valid(table[name]))
    assert mask is not None
    return mask


def estimate_metrics(
    context: CheckContext, estimation: PerformanceEstimationSpec, metrics: list[MetricResult]
) -> tuple[list[MetricResult], PerformanceEstimation]:
    """Each metric with its ``estimated`` part, and how the estimation went."""
    columns = context.spec.data.columns
    unlabeled = read_unlabeled(context, columns)
    scores = score_columns(columns)
    reference = read_labeled(context.reference, columns, context.reference_rows, also=scores)
    reference = reference.filter(_all_valid(reference, scores))
    coder = ClassCoder.of_tables([reference, unlabeled], columns, context.spec.model.positive_label)
    method, rows = str(estimation.method), unlabeled.num_rows

    def judged(
        status: Verdict, reason: str, calibration: Calibration | ClassCalibration | None = None
    ) -> PerformanceEstimation:
        return PerformanceEstimation(
            method,
            status,
            reason,
            rows,
            reference.num_rows,
            calibration.error if calibration else None,
            calibration.raw_error if calibration else None,
        )

    if reference.num_rows < context.min_samples:
        reason = f"{reference.num_rows} labeled, scored reference rows < minSamples {context.min_samples}"
        return metrics, judged(Verdict.INCONCLUSIVE, reason)
    if unscored := _unscored_classes(coder, columns):
        reason = (
            f"class {unscored[0]!r} appears among labels or predictions but has no column in data.columns.classScores"
        )
        return metrics, judged(Verdict.INCONCLUSIVE, reason)
    positions = _score_positions(coder, columns)
    calibration = _calibrate(reference, coder, columns, positions)
    if calibration.error > estimation.max_calibration_error:
        reason = (
            f"the calibrated scores are off by {calibration.error:.3f} on held-out reference rows "
            f"(expected calibration error) > maxCalibrationError {estimation.max_calibration_error:g}: "
            "no honest estimate"
        )
        return metrics, judged(Verdict.INCONCLUSIVE, reason, calibration)
    if rows < context.min_samples:
        return metrics, judged(
            Verdict.INCONCLUSIVE, f"{rows} rows without labels < minSamples {context.min_samples}", calibration
        )
    estimator = _estimator(calibration, unlabeled, coder, columns, positions, estimation.confidence)
    estimated = []
    for metric in metrics:
        spec = next(m for m in context.spec.metrics if str(m.name) == metric.name)
        found = estimator(spec)
        if found is None:
            estimated.append(metric)
            continue
        if not np.isfinite(found.value):
            part = EstimatedMetric(None, None, None, rows, Verdict.INCONCLUSIVE, f"{spec.name} is undefined here")
        else:
            status = judge_interval(found.value, found.lower, found.upper, minimum=spec.min, maximum=spec.max)
            reason = (
                f"estimated {spec.name} "
                + describe_bounds(found.value, minimum=spec.min, maximum=spec.max)
                + f" ({estimation.confidence:.0%} interval {found.lower:.4g}-{found.upper:.4g},"
                f" {rows} rows without labels)"
            )
            part = EstimatedMetric(found.value, found.lower, found.upper, rows, status, reason)
        estimated.append(dataclasses.replace(metric, estimated=part))
    reason = f"{rows} rows without labels, calibrated on {calibration.rows} reference rows"
    return estimated, judged(Verdict.PASSED, reason, calibration)


def _unscored_classes(coder: ClassCoder, columns: Columns) -> list[str]:
    """A multiclass model's classes seen in the data that have no score column."""
    if not columns.class_scores:
        return []
    scored = {entry.label for entry in columns.class_scores}
    return [name for name in coder.classes if name not in scored]


def _score_positions(coder: ClassCoder, columns: Columns) -> NDArray[np.int64] | None:
    """For each class code, the index of its score column (multiclass); None for a binary model."""
    if not columns.class_scores:
        return None
    scored = [entry.label for entry in columns.class_scores]
    return np.array([scored.index(name) for name in coder.classes], dtype=np.int64)


def _scores(table: pa.Table, columns: Columns) -> NDArray[np.float64]:
    return np.column_stack([numeric_column(table, name) for name in score_columns(columns)])


def _calibrate(
    reference: pa.Table, coder: ClassCoder, columns: Columns, positions: NDArray[np.int64] | None
) -> Calibration | ClassCalibration:
    assert columns.label is not None
    label = coder.encode(reference[columns.label])
    if positions is not None:
        return calibrate_classes(_scores(reference, columns), positions[label])
    return calibrate(_scores(reference, columns)[:, 0], label == coder.positive)


def _estimator(
    calibration: Calibration | ClassCalibration,
    unlabeled: pa.Table,
    coder: ClassCoder,
    columns: Columns,
    positions: NDArray[np.int64] | None,
    confidence: float,
) -> Estimator:
    predicted = coder.encode(unlabeled[columns.prediction])
    scores = _scores(unlabeled, columns)
    if isinstance(calibration, ClassCalibration):
        assert positions is not None
        probabilities = calibration.probability(scores)
        resampled_classes = calibration.resampled_probabilities(scores)
        predicted_class = positions[predicted]

        def of_classes(spec: MetricSpec) -> Estimate | None:
            if spec.name not in MULTICLASS_ESTIMABLE:
                return None
            return estimate_classes(
                spec.name,
                probabilities,
                resampled_classes,
                predicted_class,
                average=spec.average or "macro",
                confidence=confidence,
            )

        return of_classes
    score = scores[:, 0]
    probability, resampled = calibration.probability(score), calibration.resampled_probabilities(score)
    positive = predicted == coder.positive

    def of_binary(spec: MetricSpec) -> Estimate | None:
        if spec.name not in ESTIMABLE:
            return None
        return estimate(spec.name, probability, resampled, positive, score, confidence=confidence)

    return of_binary
