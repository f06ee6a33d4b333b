"""Performance before the labels arrive: CBPE over the window's rows whose labels are still missing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.labels import ClassCoder, numeric_column, read_labeled
from modelmonitor.engine.cbpe import ESTIMABLE, Calibration, calibrate, estimate
from modelmonitor.engine.results import EstimatedMetric, MetricResult, PerformanceEstimation
from modelmonitor.engine.verdict import Verdict, describe_bounds, judge_interval
from modelmonitor.spec import Columns, PerformanceEstimationSpec


def read_unlabeled(context: CheckContext, columns: Columns) -> pa.Table:
    """The prediction and score of the window's rows that have both, but no label yet."""
    assert columns.label is not None and columns.score is not None
    table = context.current.read([columns.prediction, columns.label, columns.score], context.current_rows)
    waiting = pc.and_(pc.is_null(table[columns.label]), pc.is_valid(table[columns.prediction]))
    return table.filter(pc.and_(waiting, pc.is_valid(table[columns.score])))


def estimate_metrics(
    context: CheckContext, estimation: PerformanceEstimationSpec, metrics: list[MetricResult]
) -> tuple[list[MetricResult], PerformanceEstimation]:
    """Each metric with its ``estimated`` part, and how the estimation went."""
    columns = context.spec.data.columns
    assert columns.label is not None and columns.score is not None
    unlabeled = read_unlabeled(context, columns)
    reference = read_labeled(context.reference, columns, context.reference_rows)
    reference = reference.filter(pc.is_valid(reference[columns.score]))
    coder = ClassCoder([reference, unlabeled], columns, context.spec.model.positive_label)
    method, rows = str(estimation.method), unlabeled.num_rows

    def refused(
        reason: str, calibration: Calibration | None = None
    ) -> tuple[list[MetricResult], PerformanceEstimation]:
        judged = PerformanceEstimation(
            method,
            Verdict.INCONCLUSIVE,
            reason,
            rows,
            reference.num_rows,
            calibration.error if calibration else None,
            calibration.raw_error if calibration else None,
        )
        return metrics, judged

    if reference.num_rows < context.min_samples:
        return refused(f"{reference.num_rows} labeled, scored reference rows < minSamples {context.min_samples}")
    reference_label = coder.encode(reference[columns.label]) == coder.positive
    reference_score = numeric_column(reference, columns.score)
    calibration = calibrate(reference_score, reference_label)
    if calibration.error > estimation.max_calibration_error:
        return refused(
            f"the calibrated scores are off by {calibration.error:.3f} on held-out reference rows "
            f"(expected calibration error) > maxCalibrationError {estimation.max_calibration_error:g}: "
            "no honest estimate",
            calibration,
        )
    if rows < context.min_samples:
        return refused(f"{rows} rows without labels < minSamples {context.min_samples}", calibration)
    score = numeric_column(unlabeled, columns.score)
    predicted = coder.encode(unlabeled[columns.prediction]) == coder.positive
    probability, resampled = calibration.probability(score), calibration.resampled_probabilities(score)
    estimated = []
    for metric in metrics:
        spec = next(m for m in context.spec.metrics if str(m.name) == metric.name)
        if spec.name not in ESTIMABLE:
            estimated.append(metric)
            continue
        found = estimate(spec.name, probability, resampled, predicted, score, confidence=estimation.confidence)
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
    done = PerformanceEstimation(
        method,
        Verdict.PASSED,
        f"{rows} rows without labels, calibrated on {calibration.rows} reference rows",
        rows,
        calibration.rows,
        calibration.error,
        calibration.raw_error,
    )
    return estimated, done
