"""Performance metrics and concept drift over the labeled rows of the current window."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.labels import ClassCoder, LabeledRows, read_labeled, to_labeled_rows
from modelmonitor.engine import concept
from modelmonitor.engine.intervals import bootstrap_standard_error, normal_interval
from modelmonitor.engine.metrics import classification_metric, regression_metric
from modelmonitor.engine.results import ConceptDriftResult, DataQualityFinding, MetricPoint, MetricResult, MetricSeries
from modelmonitor.engine.verdict import Verdict, describe_bounds, judge
from modelmonitor.spec import (
    LOWER_IS_BETTER,
    METRIC_RANGES,
    SCORE_METRICS,
    Baseline,
    ConceptDriftMethod,
    ConceptDriftSpec,
    MetricName,
    MetricSpec,
    Task,
)

BUCKET_SECONDS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400, 30 * 86400)
MOST_BUCKETS = 36
SERIES_CONFIDENCE = 0.95


class PerformanceData:
    """The labeled rows of the current window and, lazily, of each baseline."""

    def __init__(self, context: CheckContext) -> None:
        self.context = context
        spec = context.spec
        self.task = spec.model.task
        self._columns = spec.data.columns
        current_table = read_labeled(context.current, self._columns, context.current_rows)
        baseline_tables = {}
        for check in spec.concept_drift:
            if check.method is ConceptDriftMethod.PERFORMANCE_WINDOW and check.baseline not in baseline_tables:
                baseline_tables[check.baseline] = self._read_baseline(check.baseline)
        self.coder = None
        if self.task is not Task.REGRESSION:
            self.coder = ClassCoder(
                [current_table, *baseline_tables.values()], self._columns, spec.model.positive_label
            )
        self.current = to_labeled_rows(current_table, self._columns, self.task, self.coder)
        self.baselines = {
            name: to_labeled_rows(table, self._columns, self.task, self.coder)
            for name, table in baseline_tables.items()
        }

    def _read_baseline(self, baseline: Baseline):
        if baseline is Baseline.REFERENCE:
            return read_labeled(self.context.reference, self._columns, self.context.reference_rows)
        previous = self.context.rows(self.context.spec.data.current, shift=1)
        return read_labeled(self.context.current, self._columns, previous)

    @property
    def n_classes(self) -> int:
        return len(self.coder.classes) if self.coder else 0

    def score_metric(self, metric: MetricSpec | MetricName, rows: LabeledRows) -> tuple[float, int]:
        """The metric's value over some rows, and how many rows it used."""
        name = metric.name if isinstance(metric, MetricSpec) else metric
        if self.task is Task.REGRESSION:
            return regression_metric(name, rows.y_true, rows.y_pred), rows.size
        assert self.coder is not None
        if self.task is Task.BINARY and self.n_classes > 2:
            raise ValueError(
                f"binaryClassification, but {self.n_classes} classes seen: {', '.join(self.coder.classes[:10])}"
            )
        average = metric.average if isinstance(metric, MetricSpec) and metric.average else None
        average = average or ("binary" if self.task is Task.BINARY else "macro")
        if name in SCORE_METRICS:
            assert rows.score is not None
            scored = ~np.isnan(rows.score)
            rows = rows.take(np.flatnonzero(scored))
            if name is MetricName.LOG_LOSS and rows.size and (rows.score.min() < 0 or rows.score.max() > 1):
                raise ValueError("logLoss needs probabilities, and some scores lie outside [0, 1]")
        value = classification_metric(
            name,
            rows.y_true,
            rows.y_pred,
            n_classes=max(self.n_classes, 1),
            positive=self.coder.positive,
            average=average,
            score=rows.score,
        )
        return value, rows.size


def evaluate_metrics(context: CheckContext, data: PerformanceData) -> list[MetricResult]:
    results = []
    for metric in context.spec.metrics:
        name = str(metric.name)
        if data.current.size < context.min_samples:
            reason = f"{data.current.size} labeled rows < minSamples {context.min_samples}"
            results.append(
                MetricResult(name, None, metric.min, metric.max, data.current.size, Verdict.INCONCLUSIVE, reason)
            )
            continue
        try:
            value, samples = data.score_metric(metric, data.current)
        except ValueError as error:
            results.append(
                MetricResult(name, None, metric.min, metric.max, data.current.size, Verdict.ERROR, str(error))
            )
            continue
        if samples < context.min_samples:
            reason = f"{samples} scored rows < minSamples {context.min_samples}"
            results.append(MetricResult(name, value, metric.min, metric.max, samples, Verdict.INCONCLUSIVE, reason))
            continue
        if not np.isfinite(value):
            results.append(
                MetricResult(
                    name, None, metric.min, metric.max, samples, Verdict.ERROR, f"{name} is undefined on this data"
                )
            )
            continue
        verdict = judge(value, minimum=metric.min, maximum=metric.max)
        reason = f"{name} " + describe_bounds(value, minimum=metric.min, maximum=metric.max)
        results.append(MetricResult(name, value, metric.min, metric.max, samples, verdict, reason))
    if data.current.timestamps is None or data.current.size == 0:
        return results
    width, buckets = _buckets(context, data.current)
    return [
        result
        if result.status is Verdict.ERROR
        else dataclasses.replace(result, series=_series(data, metric, width, buckets))
        for metric, result in zip(context.spec.metrics, results, strict=True)
    ]


def bucket_seconds(span_seconds: float) -> int:
    """The shortest bucket from a ladder of round durations that cuts the span into at most MOST_BUCKETS."""
    for width in BUCKET_SECONDS:
        if span_seconds <= width * MOST_BUCKETS:
            return width
    return math.ceil(span_seconds / MOST_BUCKETS)


def _significant(value: float) -> float:
    return float(f"{value:.6g}")


def _buckets(context: CheckContext, rows: LabeledRows) -> tuple[int, list[tuple[str, NDArray[np.int64]]]]:
    """The bucket width, and each non-empty bucket's start and rows (the rows are in time order)."""
    assert rows.timestamps is not None
    seconds = rows.timestamps.astype("datetime64[s]").astype(np.int64)
    window = context.current_rows
    start = window.start.timestamp() if window is not None and window.start is not None else float(seconds[0])
    width = bucket_seconds(max(context.now.timestamp() - start, 1.0))
    buckets = seconds // width
    bounds = [0, *(np.flatnonzero(np.diff(buckets)) + 1).tolist(), rows.size]
    return width, [
        (_iso(np.datetime64(int(buckets[first]) * width, "s")) or "", np.arange(first, last))
        for first, last in itertools.pairwise(bounds)
    ]


def _series(
    data: PerformanceData, spec: MetricSpec, width: int, buckets: list[tuple[str, NDArray[np.int64]]]
) -> MetricSeries:
    """The metric over time buckets of the window, each with a bootstrap confidence interval."""
    low, high = METRIC_RANGES[spec.name]
    points = []
    for moment, index in buckets:
        part = data.current.take(index)
        try:
            value, used = data.score_metric(spec, part)
        except ValueError:
            points.append(MetricPoint(moment, part.size, None))
            continue
        if not np.isfinite(value):
            points.append(MetricPoint(moment, used, None))
            continue

        def resampled(index: NDArray[np.int64], part: LabeledRows = part) -> float:
            try:
                return data.score_metric(spec, part.take(index))[0]
            except ValueError:  # undefined on this resample (one class only): counted as missing
                return math.nan

        error = bootstrap_standard_error(resampled, part.size)
        if error is None:
            points.append(MetricPoint(moment, used, _significant(value)))
            continue
        lower, upper = normal_interval(value, error, confidence=SERIES_CONFIDENCE, low=low, high=high)
        points.append(MetricPoint(moment, used, _significant(value), _significant(lower), _significant(upper)))
    return MetricSeries(width, SERIES_CONFIDENCE, points)


def _iso(timestamp: np.datetime64 | None) -> str | None:
    if timestamp is None or np.isnat(timestamp):
        return None
    seconds = timestamp.astype("datetime64[us]").astype(np.int64) / 1e6
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _compare(data: PerformanceData, metric: MetricName, baseline: LabeledRows) -> concept.PerformanceComparison:
    current = data.current
    if metric is MetricName.ACCURACY:
        return concept.compare_error_rates(baseline.y_true != baseline.y_pred, current.y_true != current.y_pred)
    if metric in (MetricName.MAE, MetricName.RMSE) and data.task is Task.REGRESSION:
        power = 1 if metric is MetricName.MAE else 2
        comparison = concept.compare_losses(
            np.abs(baseline.y_pred - baseline.y_true) ** power, np.abs(current.y_pred - current.y_true) ** power
        )
        if power == 2:
            return concept.PerformanceComparison(
                float(np.sqrt(comparison.baseline)),
                float(np.sqrt(comparison.current)),
                comparison.statistic,
                comparison.p_value,
            )
        return comparison
    both = _concatenate(baseline, current)

    def score(index: NDArray[np.int64]) -> float:
        return data.score_metric(metric, both.take(index))[0]

    return concept.bootstrap_comparison(
        score, baseline.size, current.size, higher_is_better=metric not in LOWER_IS_BETTER
    )


def _concatenate(first: LabeledRows, second: LabeledRows) -> LabeledRows:
    score = None
    if first.score is not None and second.score is not None:
        score = np.concatenate([first.score, second.score])
    return LabeledRows(
        np.concatenate([first.y_true, second.y_true]), np.concatenate([first.y_pred, second.y_pred]), score, None
    )


def _performance_window(context: CheckContext, data: PerformanceData, check: ConceptDriftSpec) -> ConceptDriftResult:
    metric = check.metric or (MetricName.MAE if data.task is Task.REGRESSION else MetricName.ACCURACY)
    baseline = data.baselines[check.baseline]
    method = str(check.method)
    smallest = min(baseline.size, data.current.size)
    if smallest < context.min_samples:
        reason = (
            f"{data.current.size} current and {baseline.size} {check.baseline} labeled rows; "
            f"each needs minSamples {context.min_samples}"
        )
        return ConceptDriftResult(method, Verdict.INCONCLUSIVE, False, str(metric), samples=smallest, reason=reason)
    comparison = _compare(data, metric, baseline)
    degraded = comparison.degraded(check.alpha)
    reason = (
        f"{metric} {comparison.current:.4g} vs {check.baseline} {comparison.baseline:.4g}, "
        f"p={comparison.p_value:.3g} ({'<' if degraded else '>='} alpha {check.alpha:g})"
    )
    return ConceptDriftResult(
        method,
        Verdict.FAILED if degraded else Verdict.PASSED,
        degraded,
        str(metric),
        statistic=comparison.statistic,
        p_value=comparison.p_value,
        baseline_value=comparison.baseline,
        current_value=comparison.current,
        samples=data.current.size,
        reason=reason,
    )


_DETECTORS: dict[ConceptDriftMethod, Callable[[NDArray[np.float64]], concept.Detection]] = {
    ConceptDriftMethod.DDM: lambda errors: concept.ddm(errors.astype(bool)),
    ConceptDriftMethod.PAGE_HINKLEY: concept.page_hinkley,
    ConceptDriftMethod.ADWIN: concept.adwin,
}


def _sequential(context: CheckContext, data: PerformanceData, check: ConceptDriftSpec) -> ConceptDriftResult:
    method = str(check.method)
    rows = data.current
    if rows.size < context.min_samples:
        reason = f"{rows.size} labeled rows < minSamples {context.min_samples}"
        return ConceptDriftResult(method, Verdict.INCONCLUSIVE, False, samples=rows.size, reason=reason)
    detection = _DETECTORS[check.method](rows.errors(data.task))
    if not detection.detected:
        reason = f"no drift in {rows.size} time-ordered labeled rows (statistic {detection.statistic:.3g})"
        return ConceptDriftResult(
            method, Verdict.PASSED, False, statistic=detection.statistic, samples=rows.size, reason=reason
        )
    assert detection.started_at is not None and detection.detected_at is not None
    times = rows.timestamps
    started = _iso(times[detection.started_at]) if times is not None else None
    detected = _iso(times[detection.detected_at]) if times is not None else None
    reason = (
        f"drift detected at row {detection.detected_at} ({detected}), "
        f"started near row {detection.started_at} ({started})"
    )
    return ConceptDriftResult(
        method,
        Verdict.FAILED,
        True,
        statistic=detection.statistic,
        samples=rows.size,
        drift_started_at=started,
        detected_at=detected,
        reason=reason,
    )


def evaluate_concept_drift(context: CheckContext, data: PerformanceData) -> list[ConceptDriftResult]:
    results = []
    for check in context.spec.concept_drift:
        try:
            if check.method is ConceptDriftMethod.PERFORMANCE_WINDOW:
                results.append(_performance_window(context, data, check))
            else:
                results.append(_sequential(context, data, check))
        except ValueError as error:
            results.append(ConceptDriftResult(str(check.method), Verdict.ERROR, False, reason=str(error)))
    return results


def score_findings(context: CheckContext, data: PerformanceData) -> list[DataQualityFinding]:
    """Scores the score metrics cannot use as they are: missing, or not probabilities."""
    column, score = context.spec.data.columns.score, data.current.score
    if column is None or score is None or not score.size:
        return []
    findings = []
    missing = int(np.count_nonzero(np.isnan(score)))
    if missing:
        message = (
            f"{column}: {missing} of {score.size} labeled rows have no score; "
            f"score metrics use the other {score.size - missing}"
        )
        findings.append(DataQualityFinding("missingScores", column, message, {"rows": missing, "of": score.size}))
    present = score[~np.isnan(score)]
    outside = int(np.count_nonzero((present < 0) | (present > 1)))
    if outside:
        message = (
            f"{column}: {outside} of {present.size} scores lie outside [0, 1] "
            f"(min {present.min():.4g}, max {present.max():.4g}): not probabilities"
        )
        findings.append(DataQualityFinding("scoresOutOfRange", column, message, {"rows": outside, "of": present.size}))
    return findings
