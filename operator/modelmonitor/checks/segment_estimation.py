"""Estimated performance in each segment: CBPE on each segment's rows still waiting for their labels.

The overall estimation (``checks.estimation``) calibrates the scores on the whole reference. A
model can be calibrated overall and off in one region, so each segment is calibrated on its own
labelled reference rows (the reference needs the segment column). A segment's estimate is
refused, Inconclusive, as the overall one is: too few reference rows or rows waiting for labels
(``data.minSamples``), or a held-out calibration error above ``maxCalibrationError``. The
simulation is the overall one (``batch_sums``) on the segment's rows alone, with ranks among
the segment's own scores where ROC AUC is estimated, and each segment's batches draw from their
own random streams.

The reference is read once with the segment columns; the window's rows waiting for labels twice
(their count and, for ROC AUC, their scores per segment; then the simulation), in this process.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from modelmonitor.api.metrics import MetricName, MetricSpec
from modelmonitor.api.results import EstimatedMetric
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.estimation import (
    Estimation,
    EstimationPlan,
    batch_sums,
    calibrate_reference,
    estimates_of,
)
from modelmonitor.checks.estimation_scan import UnlabeledScan, ranks_needed, score_columns, unlabeled_batches
from modelmonitor.checks.labels import all_present, numeric_column
from modelmonitor.checks.segment_columns import ColumnSegments
from modelmonitor.engine.cbpe import DrawSums, Estimate, score_ranks
from modelmonitor.engine.verdict import breach_p_value, describe_bounds, judge
from modelmonitor.errors import DataError

_STREAMS = 1 << 50  # a segment's random streams lie apart from the overall estimation's and each other's


@dataclass(frozen=True)
class SegmentEstimate:
    """One segment's estimated metrics, or why none were made (``reason``)."""

    rows: int = 0  # rows waiting for labels
    reference_rows: int = 0  # labelled, scored reference rows of the segment
    estimates: dict[MetricName, Estimate] = field(default_factory=dict)
    reason: str = ""


def estimate_segments(
    context: CheckContext, estimation: Estimation, columns: list[ColumnSegments]
) -> list[list[SegmentEstimate]]:
    """Each column's segments' estimates, in the columns' and their values' order."""
    plan = estimation.plan
    if why := _no_estimate(context, estimation, columns):
        return [[SegmentEstimate(reason=why) for _ in column.values] for column in columns]
    scans = _scan(context, plan, columns)
    plans = _plans(context, plan, columns, scans)
    totals: list[list[DrawSums | None]] = [[None for _ in column.values] for column in columns]
    simulated = any(isinstance(planned, EstimationPlan) for column in plans for planned in column)
    for index, batch in enumerate(_batches(context, columns) if simulated else ()):
        for place, column in enumerate(columns):
            codes = column.codes(batch.column(column.spec.column))
            for code, planned in enumerate(plans[place]):
                if isinstance(planned, str) or not (chosen := np.flatnonzero(codes == code)).size:
                    continue
                part = _STREAMS * (1 + place) + (code << 24) + index
                found = batch_sums(planned, batch.take(chosen), context.spec.data.columns, part)
                before = totals[place][code]
                totals[place][code] = found if before is None else before + found
    return [
        [_estimated(context, planned, total) for planned, total in zip(plans[place], totals[place], strict=True)]
        for place in range(len(columns))
    ]


def _no_estimate(context: CheckContext, estimation: Estimation, columns: list[ColumnSegments]) -> str:
    """Why no segment can be estimated, if none can: the overall estimation made none, or no segment column."""
    if estimation.error:
        return f"the overall estimation failed: {estimation.error}"
    plan = estimation.plan
    if plan.coder is None or plan.calibration is None:
        return f"no overall estimate: {plan.reason}"
    missing = [c.spec.column for c in columns if c.spec.column not in context.reference.column_names]
    if missing:
        return f"the reference has no {', '.join(missing)}: no segment's own calibration"
    return ""


def _batches(context: CheckContext, columns: list[ColumnSegments]) -> Iterator[pa.RecordBatch]:
    return unlabeled_batches(context, None, also=[column.spec.column for column in columns])


def _scan(context: CheckContext, plan: EstimationPlan, columns: list[ColumnSegments]) -> list[list[UnlabeledScan]]:
    """Each segment's rows waiting for labels and, where ROC AUC is estimated, their distinct scores with counts."""
    scans = [[UnlabeledScan() for _ in column.values] for column in columns]
    ranked = ranks_needed(context) and plan.scores is not None
    score = score_columns(context.spec.data.columns)[0]
    for batch in _batches(context, columns):
        scores = numeric_column(batch, score) if ranked else None
        for place, column in enumerate(columns):
            codes = column.codes(batch.column(column.spec.column))
            for code, scan in enumerate(scans[place]):
                inside = codes == code
                found = UnlabeledScan(int(inside.sum()))
                if scores is not None:
                    found.scores, found.counts = np.unique(scores[inside], return_counts=True)
                scan.merge(found)
    return scans


def _plans(
    context: CheckContext, plan: EstimationPlan, columns: list[ColumnSegments], scans: list[list[UnlabeledScan]]
) -> list[list[EstimationPlan | str]]:
    """Each segment's plan (its own calibration and ranks), or why it gets no estimate."""
    named = context.spec.data.columns
    assert named.label is not None and plan.coder is not None
    scores = score_columns(named)
    wanted = list(dict.fromkeys([named.prediction, named.label, *scores, *(c.spec.column for c in columns)]))
    batches = [
        batch.filter(all_present(batch, [named.label, named.prediction, *scores]))
        for batch in context.reference.record_batches(wanted, context.reference_rows)
    ]
    reference = pa.Table.from_batches(batches) if batches else None
    estimation = context.spec.performance_estimation
    assert estimation is not None
    least = context.min_samples
    plans: list[list[EstimationPlan | str]] = []
    for column, column_scans in zip(columns, scans, strict=True):
        codes = column.codes(reference[column.spec.column]) if reference is not None else np.empty(0, np.int64)
        found: list[EstimationPlan | str] = []
        for code, scan in enumerate(column_scans):
            rows = reference.filter(pa.array(codes == code)) if reference is not None else None
            if rows is None or rows.num_rows < least:
                counted = 0 if rows is None else rows.num_rows
                found.append(f"{counted:,} labeled, scored reference rows of the segment < minSamples {least}")
                continue
            if scan.rows < least:
                found.append(f"{scan.rows:,} rows without labels < minSamples {least}")
                continue
            try:
                calibration = calibrate_reference(rows, plan.coder, named, plan.positions)
            except (DataError, ValueError) as error:
                found.append(str(error))
                continue
            if calibration.debiased_error > estimation.max_calibration_error:
                found.append(
                    f"the segment's calibrated scores are off by {calibration.debiased_error:.3f} on its "
                    f"{rows.num_rows:,} held-out reference rows (debiased) > maxCalibrationError "
                    f"{estimation.max_calibration_error:g}: no honest estimate"
                )
                continue
            ranks = score_ranks(scan.scores, scan.counts) if plan.scores is not None else None
            found.append(
                dataclasses.replace(
                    plan,
                    rows=scan.rows,
                    reference_rows=rows.num_rows,
                    calibration=calibration,
                    scores=scan.scores if ranks is not None else None,
                    ranks=ranks,
                )
            )
        plans.append(found)
    return plans


def _estimated(context: CheckContext, planned: EstimationPlan | str, total: DrawSums | None) -> SegmentEstimate:
    if isinstance(planned, str):
        return SegmentEstimate(reason=planned)
    if total is None or not total.rows:
        return SegmentEstimate(reason="the segment's rows waiting for labels were gone when read again")
    return SegmentEstimate(total.rows, planned.reference_rows, estimates_of(context, planned, total))


def estimated_metric(context: CheckContext, spec: MetricSpec, found: SegmentEstimate) -> EstimatedMetric | None:
    """One metric's estimate in one segment, its p-value (of a broken threshold) not yet adjusted.

    The p-value is the normal approximation the measured segments use, with the spread of the
    estimate's draws as its standard error; None: the metric is not estimated for this model.
    """
    if found.reason:
        return EstimatedMetric(None, None, None, found.rows, Verdict.INCONCLUSIVE, found.reason)
    value = found.estimates.get(spec.name)
    if value is None:
        return None
    if not (np.isfinite(value.value) and np.isfinite(value.standard_error)):
        reason = f"{spec.name} is undefined on this segment's rows"
        return EstimatedMetric(None, None, None, found.rows, Verdict.INCONCLUSIVE, reason)
    assert context.spec.performance_estimation is not None
    confidence = context.spec.performance_estimation.confidence
    reason = (
        f"estimated {spec.name} "
        + describe_bounds(value.value, minimum=spec.min, maximum=spec.max)
        + f" ({confidence:.0%} interval {value.lower:.4g}-{value.upper:.4g}, {found.rows:,} rows without labels)"
    )
    return EstimatedMetric(
        value.value,
        value.lower,
        value.upper,
        found.rows,
        judge(value.value, minimum=spec.min, maximum=spec.max),
        reason,
        breach_p_value(value.value, value.standard_error, minimum=spec.min, maximum=spec.max),
    )
