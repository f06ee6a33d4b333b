"""The monitor's metrics in each segment (``spec.segments``), as well as overall.

Pass one counts each segment column's values over the window: the segments are the listed
values, or the ``maxSegments`` most frequent (the rest pooled as ``other``). Pass two reads the
labelled rows once for every column: a confusion matrix per segment (exact counts), and, where
a metric needs single rows (scores, regression), the rows themselves, sampled as the overall
metrics sample them (``data.maxGatheredRows``). Each segment's metric is then judged as the
overall one is; a segment below ``data.minSamples`` labelled rows is Inconclusive.

Many segments mean many chances of a false alarm. A segment fails a threshold only when its
value breaks it and a one-sided test (the metric's bootstrap standard error, a normal
approximation) says so at ``segmentAlpha`` after Benjamini-Hochberg across every segment and
metric; a value past the threshold that the test cannot confirm is Inconclusive.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from modelmonitor.api.drift import Correction
from modelmonitor.api.metrics import MetricSpec
from modelmonitor.api.monitor import Task
from modelmonitor.api.results import DriftResult, EstimatedMetric, MetricResult, SegmentResult
from modelmonitor.api.verdict import Verdict, worst
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.estimation import Estimation
from modelmonitor.checks.labeled_parts import CURRENT, gathers
from modelmonitor.checks.labels import LabeledRows, labeled_mask, to_labeled_rows
from modelmonitor.checks.performance import Labeled, PerformanceData, standard_error
from modelmonitor.checks.segment_columns import ColumnSegments, choose_segments
from modelmonitor.checks.segment_drift import SegmentDrift, segment_drift
from modelmonitor.checks.segment_estimation import SegmentEstimate, estimate_segments, estimated_metric
from modelmonitor.engine.drift import adjust_p_values
from modelmonitor.engine.metrics import grouped_confusion_matrices
from modelmonitor.engine.verdict import breach_p_value, describe_bounds, judge

SAMPLE_SEED = 20_261_207


@dataclass
class SegmentTally:
    """Pass two for one column: a confusion matrix per segment, labelled rows per segment, gathered rows."""

    matrices: NDArray[np.int64] | None
    labeled: NDArray[np.int64]
    rows: list[LabeledRows] = field(default_factory=list)
    codes: list[NDArray[np.int64]] = field(default_factory=list)

    def parts(self) -> list[Labeled]:
        """Each segment's labelled rows as the overall metrics take them: a matrix, and rows where gathered."""
        rows = LabeledRows.concatenated(self.rows) if self.rows else None
        codes = np.concatenate(self.codes) if self.codes else None
        return [
            Labeled(
                int(self.labeled[code]),
                self.matrices[code] if self.matrices is not None else None,
                rows.take(np.flatnonzero(codes == code)) if rows is not None and codes is not None else None,
            )
            for code in range(len(self.labeled))
        ]


def _tally(context: CheckContext, data: PerformanceData, columns: list[ColumnSegments]) -> list[SegmentTally]:
    spec = context.spec
    named = spec.data.columns.model_copy(update={"timestamp": None})
    classes = data.n_classes
    tallies = [
        SegmentTally(
            np.zeros((len(c.values), classes, classes), np.int64) if spec.model.task is not Task.REGRESSION else None,
            np.zeros(len(c.values), np.int64),
        )
        for c in columns
    ]
    gathering = gathers(spec, CURRENT)
    keep = min(1.0, spec.data.max_gathered_rows / max(data.current.size, 1))
    rng = np.random.default_rng(SAMPLE_SEED)
    wanted = [named.label, named.prediction, named.score, *(c.spec.column for c in columns)]
    for batch in context.current.record_batches(list(dict.fromkeys(w for w in wanted if w)), context.current_rows):
        labeled = batch.filter(labeled_mask(batch, named))
        if not labeled.num_rows:
            continue
        rows = to_labeled_rows(labeled, named, spec.model.task, data.coder, data.whole)
        kept = np.flatnonzero(rng.random(rows.size) < keep) if gathering and keep < 1 else None
        for segment, tally in zip(columns, tallies, strict=True):
            codes = segment.codes(labeled.column(segment.spec.column))
            inside = codes >= 0
            tally.labeled += np.bincount(codes[inside], minlength=len(segment.values))
            if tally.matrices is not None:
                tally.matrices += grouped_confusion_matrices(
                    codes[inside], rows.y_true[inside], rows.y_pred[inside], len(segment.values), classes
                )
            if gathering:
                tally.rows.append(rows if kept is None else rows.take(kept))
                tally.codes.append(codes if kept is None else codes[kept])
    return tallies


def _measured(context: CheckContext, data: PerformanceData, metric: MetricSpec, part: Labeled) -> MetricResult:
    """One metric in one segment, its p-value (of a broken threshold) not yet adjusted."""
    name, minimum = str(metric.name), context.min_samples
    if part.size < minimum:
        reason = f"{part.size:,} labeled rows < minSamples {minimum}"
        return MetricResult(name, None, metric.min, metric.max, part.size, Verdict.INCONCLUSIVE, reason)
    try:
        value, used = data.score_metric(metric, part)
    except ValueError as error:
        return MetricResult(name, None, metric.min, metric.max, part.size, Verdict.ERROR, str(error))
    error = standard_error(data, metric, part, used) if np.isfinite(value) else None
    if error is None:
        reason = f"{name} is undefined on this segment's rows"
        return MetricResult(name, None, metric.min, metric.max, used, Verdict.INCONCLUSIVE, reason)
    p_value = breach_p_value(value, error, minimum=metric.min, maximum=metric.max)
    reason = f"{name} " + describe_bounds(value, minimum=metric.min, maximum=metric.max)
    verdict = judge(value, minimum=metric.min, maximum=metric.max)
    return MetricResult(name, value, metric.min, metric.max, used, verdict, reason, adjusted_p_value=p_value)


Judged = TypeVar("Judged", MetricResult, EstimatedMetric)


def _settled(item: Judged, p_value: float, alpha: float) -> Judged:
    """A metric with its adjusted p-value: a breach the adjusted p-value does not confirm is Inconclusive."""
    if item.status is Verdict.FAILED and p_value > alpha:
        reason = f"{item.reason}, not significantly (adjusted p {p_value:.2g} > segmentAlpha {alpha:g})"
        return replace(item, status=Verdict.INCONCLUSIVE, reason=reason, adjusted_p_value=p_value)
    if item.status is Verdict.FAILED:
        return replace(item, reason=f"{item.reason} (adjusted p {p_value:.2g})", adjusted_p_value=p_value)
    return replace(item, adjusted_p_value=p_value)


def _adjusted(found: list[list[list[MetricResult]]], alpha: float) -> list[list[list[MetricResult]]]:
    """Benjamini-Hochberg across every segment's tested metrics, the measured and the estimated apart."""
    everyone = [m for column in found for segment in column for m in segment]
    measured = [m for m in everyone if m.adjusted_p_value is not None]
    estimated = [m.estimated for m in everyone if m.estimated is not None and m.estimated.adjusted_p_value is not None]
    settled: dict[int, MetricResult | EstimatedMetric] = {}
    for family in (measured, estimated):
        adjusted = adjust_p_values([item.adjusted_p_value for item in family], Correction.FDR)  # type: ignore[misc]
        settled.update((id(item), _settled(item, p, alpha)) for item, p in zip(family, adjusted, strict=True))

    def rebuilt(metric: MetricResult) -> MetricResult:
        judged = settled.get(id(metric), metric)
        assert isinstance(judged, MetricResult)
        if metric.estimated is None:
            return judged
        estimate = settled.get(id(metric.estimated), metric.estimated)
        assert isinstance(estimate, EstimatedMetric)
        return replace(judged, estimated=estimate)

    return [[[rebuilt(m) for m in segment] for segment in column] for column in found]


_RANK = {Verdict.FAILED: 0, Verdict.ERROR: 1, Verdict.INCONCLUSIVE: 2, Verdict.PASSED: 3}


def evaluate_segments(
    context: CheckContext, data: PerformanceData, drift: DriftResult | None, estimation: Estimation | None = None
) -> list[SegmentResult]:
    """Each segment's metrics, drift (with a drift check) and verdict, the worst first (failed, then by p-value).

    A segment whose features drifted as a dataset drifts (``segment_drift``) fails, as the overall drift does.
    With the window's ``estimation`` (CBPE), each segment's metrics are estimated on its rows without labels too.
    """
    if not context.spec.segments:
        return []
    columns = choose_segments(context)
    tallies = _tally(context, data, columns)
    estimates = (
        estimate_segments(context, estimation, columns)
        if estimation is not None
        else [[None for _ in column.values] for column in columns]
    )
    found = [
        [
            [_with_estimate(context, _measured(context, data, m, part), m, estimate) for m in context.spec.metrics]
            for part, estimate in zip(tally.parts(), column_estimates, strict=True)
        ]
        for tally, column_estimates in zip(tallies, estimates, strict=True)
    ]
    drifts: dict[tuple[str, str], SegmentDrift] = {}
    if drift is not None and context.spec.drift is not None:
        named = [(c.spec.column, c.values, c.pooled) for c in columns]
        drifts = segment_drift(context, drift, named, context.spec.drift.dataset_drift_share)
    results = []
    for column, tally, segments in zip(columns, tallies, _adjusted(found, context.spec.segment_alpha), strict=True):
        for code, metrics in enumerate(segments):
            pooled = column.pooled and code == len(column.values) - 1
            reason = (
                f"the {len(column.values) - 1:,} most frequent values of {column.spec.column} are segments "
                "(maxSegments); the rest pooled here"
                if pooled
                else ""
            )
            moved = drifts.get((column.spec.column, column.values[code]), SegmentDrift())
            drifted = moved.share is not None and moved.share >= context.spec.drift.dataset_drift_share  # type: ignore[union-attr]
            results.append(
                SegmentResult(
                    column=column.spec.column,
                    value=column.values[code],
                    rows=column.rows[code],
                    verdict=worst(
                        *(m.status for m in metrics),
                        *(m.estimated.status for m in metrics if m.estimated is not None),
                        *([Verdict.FAILED] if drifted else []),
                    ),
                    metrics=metrics,
                    labeled_rows=int(tally.labeled[code]),
                    pooled=pooled,
                    reason=reason,
                    drifted_features=moved.drifted,
                    drifted_share=moved.share,
                    dataset_drift=drifted,
                    drift_reason=moved.reason,
                )
            )
    return sorted(results, key=_severity)


def _with_estimate(
    context: CheckContext, measured: MetricResult, spec: MetricSpec, estimate: SegmentEstimate | None
) -> MetricResult:
    if estimate is None or (estimated := estimated_metric(context, spec, estimate)) is None:
        return measured
    return replace(measured, estimated=estimated)


def _severity(segment: SegmentResult) -> tuple[int, float]:
    p_values = [m.adjusted_p_value for m in segment.metrics if m.adjusted_p_value is not None]
    p_values += [
        m.estimated.adjusted_p_value
        for m in segment.metrics
        if m.estimated is not None and m.estimated.adjusted_p_value is not None
    ]
    return _RANK.get(segment.verdict, 4), min(p_values, default=1.0)
