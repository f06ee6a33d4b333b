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

from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from modelmonitor.api.drift import Correction
from modelmonitor.api.metrics import MetricSpec
from modelmonitor.api.monitor import Task
from modelmonitor.api.results import DriftResult, MetricResult, SegmentResult
from modelmonitor.api.segments import SegmentSpec
from modelmonitor.api.verdict import Verdict, worst
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.labeled_parts import CURRENT, gathers
from modelmonitor.checks.labels import LabeledRows, class_text, labeled_mask, to_labeled_rows
from modelmonitor.checks.performance import Labeled, PerformanceData, standard_error
from modelmonitor.checks.segment_drift import SegmentDrift, segment_drift
from modelmonitor.engine.drift import adjust_p_values
from modelmonitor.engine.metrics import grouped_confusion_matrices
from modelmonitor.engine.verdict import breach_p_value, describe_bounds, judge

OTHER = "other"
SAMPLE_SEED = 20_261_207


@dataclass
class ColumnSegments:
    """One column's segments: their values (the pooled rest last, if any) and their rows in the window."""

    spec: SegmentSpec
    values: list[str]
    rows: list[int]
    pooled: bool = False

    def codes(self, values: pa.Array | pa.ChunkedArray) -> NDArray[np.int64]:
        """Each row's segment, -1 for none (no value, or a value not listed)."""
        named = len(self.values) - self.pooled
        found = pc.index_in(class_text(values), value_set=pa.array(self.values[:named], pa.string()))
        codes = found.to_numpy(zero_copy_only=False)
        codes = np.where(np.isnan(codes.astype(np.float64)), -1, codes).astype(np.int64)
        if self.pooled:
            codes[(codes < 0) & np.asarray(pc.is_valid(values).to_numpy(zero_copy_only=False))] = named
        return codes


def _segments(context: CheckContext) -> list[ColumnSegments]:
    """Pass one: each column's values counted over the window, and its segments chosen."""
    spec = context.spec
    for segment in spec.segments:
        context.current.require(segment.column)
    counted: dict[str, Counter[str]] = {segment.column: Counter() for segment in spec.segments}
    for batch in context.current.record_batches(list(counted), context.current_rows):
        for column, counts in counted.items():
            tally = pc.value_counts(class_text(batch.column(column)).drop_null())
            counts.update(dict(zip(tally.field("values").to_pylist(), tally.field("counts").to_pylist(), strict=True)))
    chosen = []
    for segment in spec.segments:
        counts = counted[segment.column]
        if segment.values is not None:
            chosen.append(ColumnSegments(segment, list(segment.values), [counts.get(v, 0) for v in segment.values]))
        elif len(counts) <= spec.max_segments:
            top = counts.most_common()
            chosen.append(ColumnSegments(segment, [v for v, _ in top], [n for _, n in top]))
        else:
            top = counts.most_common(spec.max_segments - 1)
            rest = sum(counts.values()) - sum(n for _, n in top)
            chosen.append(ColumnSegments(segment, [*(v for v, _ in top), OTHER], [*(n for _, n in top), rest], True))
    return chosen


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


def _adjusted(found: list[list[list[MetricResult]]], alpha: float) -> list[list[list[MetricResult]]]:
    """Benjamini-Hochberg across every segment's tested metrics; a breach it does not confirm is Inconclusive."""
    tested = [m for column in found for segment in column for m in segment if m.adjusted_p_value is not None]
    adjusted = iter(adjust_p_values([m.adjusted_p_value for m in tested], Correction.FDR))  # type: ignore[misc]

    def settled(metric: MetricResult) -> MetricResult:
        if metric.adjusted_p_value is None:
            return metric
        p_value = next(adjusted)
        if metric.status is Verdict.FAILED and p_value > alpha:
            reason = f"{metric.reason}, not significantly (adjusted p {p_value:.2g} > segmentAlpha {alpha:g})"
            return replace(metric, status=Verdict.INCONCLUSIVE, reason=reason, adjusted_p_value=p_value)
        if metric.status is Verdict.FAILED:
            reason = f"{metric.reason} (adjusted p {p_value:.2g})"
            return replace(metric, reason=reason, adjusted_p_value=p_value)
        return replace(metric, adjusted_p_value=p_value)

    return [[[settled(m) for m in segment] for segment in column] for column in found]


_RANK = {Verdict.FAILED: 0, Verdict.ERROR: 1, Verdict.INCONCLUSIVE: 2, Verdict.PASSED: 3}


def evaluate_segments(context: CheckContext, data: PerformanceData, drift: DriftResult | None) -> list[SegmentResult]:
    """Each segment's metrics, drift (with a drift check) and verdict, the worst first (failed, then by p-value).

    A segment whose features drifted as a dataset drifts (``segment_drift``) fails, as the overall drift does.
    """
    if not context.spec.segments:
        return []
    columns = _segments(context)
    tallies = _tally(context, data, columns)
    found = [[[_measured(context, data, m, part) for m in context.spec.metrics] for part in t.parts()] for t in tallies]
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
                    verdict=worst(*(m.status for m in metrics), *([Verdict.FAILED] if drifted else [])),
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


def _severity(segment: SegmentResult) -> tuple[int, float]:
    p_values = [m.adjusted_p_value for m in segment.metrics if m.adjusted_p_value is not None]
    return _RANK.get(segment.verdict, 4), min(p_values, default=1.0)
