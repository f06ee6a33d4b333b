"""Performance metrics and concept drift over the labeled rows of the current window."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from modelmonitor.api.concept_drift import CONCEPT_DRIFT_METHODS, Baseline, ConceptDriftMethod, ConceptDriftSpec
from modelmonitor.api.metrics import METRICS, MetricName, MetricSpec
from modelmonitor.api.monitor import Task
from modelmonitor.api.results import ConceptDriftResult, DataQualityFinding, MetricPoint, MetricResult, MetricSeries
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.labeled_parts import CURRENT, LabeledData, LabeledSide, bucket_numbers
from modelmonitor.checks.labels import LabeledRows
from modelmonitor.engine import concept
from modelmonitor.engine.intervals import bootstrap_standard_error, counted_standard_error, normal_interval
from modelmonitor.engine.metrics import (
    FORMULAS,
    classification_metric,
    label_metric,
    regression_metric,
    resampled_regression_metric,
    resampled_score_metric,
)
from modelmonitor.engine.verdict import describe_bounds, judge
from modelmonitor.errors import DataError
from modelmonitor.times import rfc3339

SERIES_CONFIDENCE = 0.95
CountsMetric = Callable[[NDArray[np.int64]], NDArray[np.float64]]  # of a confusion matrix, or a stack of them


@dataclass(frozen=True)
class Labeled:
    """Some labeled rows: how many, their confusion matrix (classification) and, where gathered, the rows."""

    size: int
    matrix: NDArray[np.int64] | None
    rows: LabeledRows | None

    def needed(self) -> LabeledRows:
        assert self.rows is not None, "labeled_parts.gathers() decides which sides keep their rows"
        return self.rows


class PerformanceData:
    """The labeled rows of the current window and of each baseline, read by a ``LabelsTask``."""

    def __init__(self, context: CheckContext, labeled: LabeledData) -> None:
        if labeled.error:
            raise DataError(labeled.error)
        self.context = context
        self.task = context.spec.model.task
        self.coder = labeled.plan.coder
        self.whole = labeled.plan.whole.get(CURRENT, (None, None))  # the current side's label, prediction
        self.width = labeled.plan.width
        self.current_side = labeled.sides[CURRENT]
        self.current = self._whole(self.current_side)
        self.baselines = {Baseline(name): self._whole(side) for name, side in labeled.sides.items() if name != CURRENT}
        self.sampled = {  # by side: rows gathered, of how many labeled, where data.maxGatheredRows cut them
            name: (side.gathered.size, side.rows)
            for name, side in labeled.sides.items()
            if name in labeled.plan.keep and side.gathered is not None
        }

    @staticmethod
    def _whole(side: LabeledSide) -> Labeled:
        return Labeled(side.rows, side.matrix, side.gathered)

    @property
    def n_classes(self) -> int:
        return len(self.coder.classes) if self.coder else 0

    def _average(self, metric: MetricSpec | MetricName) -> str:
        average = metric.average if isinstance(metric, MetricSpec) and metric.average else None
        return average or ("binary" if self.task is Task.BINARY else "macro")

    def counts_metric(self, metric: MetricSpec | MetricName) -> CountsMetric | None:
        """The metric as a function of (stacks of) confusion matrices, when it is a label metric."""
        name = metric.name if isinstance(metric, MetricSpec) else metric
        if self.task is Task.REGRESSION or METRICS[name].needs_scores:
            return None
        assert self.coder is not None
        average, positive = self._average(metric), self.coder.positive
        return lambda matrices: label_metric(name, matrices, average=average, positive=positive)

    def score_metric(self, metric: MetricSpec | MetricName, part: Labeled) -> tuple[float, int]:
        """The metric's value over some rows, and how many rows it used."""
        name = metric.name if isinstance(metric, MetricSpec) else metric
        if self.task is Task.REGRESSION:
            rows = part.needed()
            return regression_metric(name, rows.y_true, rows.y_pred), rows.size
        assert self.coder is not None
        if self.task is Task.BINARY and self.n_classes > 2:
            raise ValueError(
                f"binaryClassification, but {self.n_classes} classes seen: {', '.join(self.coder.classes[:10])}"
            )
        if (of_counts := self.counts_metric(metric)) is not None:
            assert part.matrix is not None
            return float(of_counts(part.matrix)), part.size
        rows = self._scored(part)
        if name is MetricName.LOG_LOSS and rows.size and (rows.score.min() < 0 or rows.score.max() > 1):
            raise ValueError("logLoss needs probabilities, and some scores lie outside [0, 1]")
        value = classification_metric(
            name,
            rows.y_true,
            rows.y_pred,
            n_classes=max(self.n_classes, 1),
            positive=self.coder.positive,
            average=self._average(metric),
            score=rows.score,
        )
        return value, rows.size

    def resampled(self, metric: MetricSpec, part: Labeled) -> Callable[[NDArray[np.int64]], NDArray[np.float64]]:
        """A score or regression metric of each bootstrap resample of the rows :meth:`score_metric` uses."""
        if self.task is Task.REGRESSION:
            rows = part.needed()
            return lambda draws: resampled_regression_metric(metric.name, rows.y_true, rows.y_pred, draws)
        assert self.coder is not None
        rows = self._scored(part)
        return resampled_score_metric(metric.name, rows.y_true == self.coder.positive, rows.score)

    @staticmethod
    def _scored(part: Labeled) -> LabeledRows:
        """The rows with a score: a missing one is reported in dataQuality, and left out of score metrics."""
        rows = part.needed()
        assert rows.score is not None
        return rows.take(np.flatnonzero(~np.isnan(rows.score)))

    def buckets(self) -> list[tuple[str, Labeled]]:
        """Each non-empty time bucket of the current window: its start, and its rows."""
        side, width = self.current_side, self.width
        gathered = side.gathered
        numbers = None if gathered is None else bucket_numbers(gathered.timestamps, gathered.size, width)
        found = sorted(set(side.matrices) | set(() if numbers is None else np.unique(numbers).tolist()))
        buckets = []
        for number in found:
            rows = None
            if gathered is not None and numbers is not None:
                first, last = np.searchsorted(numbers, [number, number + 1])
                rows = gathered.take(np.arange(first, last))
            matrix = side.matrices.get(number)
            size = int(matrix.sum()) if matrix is not None else (rows.size if rows is not None else 0)
            buckets.append((_numpy_rfc3339(np.datetime64(number * width, "s")) or "", Labeled(size, matrix, rows)))
        return buckets


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
    if context.spec.data.columns.timestamp is None or data.current.size == 0:
        return results
    buckets = data.buckets()
    return [
        result if result.status is Verdict.ERROR else dataclasses.replace(result, series=_series(data, metric, buckets))
        for metric, result in zip(context.spec.metrics, results, strict=True)
    ]


def _significant(value: float) -> float:
    return float(f"{value:.6g}")


def _series(data: PerformanceData, spec: MetricSpec, buckets: list[tuple[str, Labeled]]) -> MetricSeries:
    """The metric over time buckets of the window, each with a bootstrap confidence interval."""
    low, high = METRICS[spec.name].low, METRICS[spec.name].high
    points = []
    for moment, part in buckets:
        try:
            value, used = data.score_metric(spec, part)
        except ValueError:
            points.append(MetricPoint(moment, part.size, None))
            continue
        if not np.isfinite(value):
            points.append(MetricPoint(moment, used, None))
            continue
        error = standard_error(data, spec, part, used)
        if error is None:
            points.append(MetricPoint(moment, used, _significant(value)))
            continue
        lower, upper = normal_interval(value, error, confidence=SERIES_CONFIDENCE, low=low, high=high)
        points.append(MetricPoint(moment, used, _significant(value), _significant(lower), _significant(upper)))
    return MetricSeries(data.width, SERIES_CONFIDENCE, points)


def standard_error(data: PerformanceData, spec: MetricSpec, part: Labeled, used: int) -> float | None:
    """The bootstrap standard error of a metric over some rows: of their confusion matrix, or of the rows."""
    if (of_counts := data.counts_metric(spec)) is not None:
        assert part.matrix is not None
        return counted_standard_error(of_counts, part.matrix)
    return bootstrap_standard_error(data.resampled(spec, part), used)


def _numpy_rfc3339(timestamp: np.datetime64 | None) -> str | None:
    if timestamp is None or np.isnat(timestamp):
        return None
    seconds = timestamp.astype("datetime64[us]").astype(np.int64) / 1e6
    return rfc3339(datetime.fromtimestamp(seconds, UTC))


def _compare(data: PerformanceData, metric: MetricName, baseline: Labeled) -> concept.PerformanceComparison:
    current, formula = data.current, FORMULAS[metric]
    if (of_counts := data.counts_metric(metric)) is not None:
        assert baseline.matrix is not None and current.matrix is not None
        if formula.compare_counts is not None:
            return formula.compare_counts(baseline.matrix, current.matrix)
        return concept.counted_comparison(
            of_counts, baseline.matrix, current.matrix, higher_is_better=METRICS[metric].higher_is_better
        )
    before, after = baseline.needed(), current.needed()
    if formula.compare_errors is not None and data.task is Task.REGRESSION:
        return formula.compare_errors((before.y_true, before.y_pred), (after.y_true, after.y_pred))
    both = LabeledRows.concatenated([before, after])

    def score(index: NDArray[np.int64]) -> float:
        return data.score_metric(metric, Labeled(index.size, None, both.take(index)))[0]

    return concept.bootstrap_comparison(
        score, before.size, after.size, higher_is_better=METRICS[metric].higher_is_better
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


# the sequential detectors (every method of api.concept_drift that is not windowed), by name
DETECTORS: dict[ConceptDriftMethod, Callable[[NDArray[np.float64]], concept.Detection]] = {
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
    detection = DETECTORS[check.method](data.current.needed().errors(data.task))
    if not detection.detected:
        reason = f"no drift in {rows.size} time-ordered labeled rows (statistic {detection.statistic:.3g})"
        return ConceptDriftResult(
            method, Verdict.PASSED, False, statistic=detection.statistic, samples=rows.size, reason=reason
        )
    assert detection.started_at is not None and detection.detected_at is not None
    times = data.current.needed().timestamps
    started = _numpy_rfc3339(times[detection.started_at]) if times is not None else None
    detected = _numpy_rfc3339(times[detection.detected_at]) if times is not None else None
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
            if CONCEPT_DRIFT_METHODS[check.method].windowed:
                results.append(_performance_window(context, data, check))
            else:
                results.append(_sequential(context, data, check))
        except ValueError as error:
            results.append(ConceptDriftResult(str(check.method), Verdict.ERROR, False, reason=str(error)))
    return results


def score_findings(context: CheckContext, data: PerformanceData) -> list[DataQualityFinding]:
    """Scores the score metrics cannot use as they are: missing, or not probabilities."""
    column, tally = context.spec.data.columns.score, data.current_side.scores
    if column is None or not tally.labeled:
        return []
    findings = []
    if tally.missing:
        message = (
            f"{column}: {tally.missing} of {tally.labeled} labeled rows have no score; "
            f"score metrics use the other {tally.scored}"
        )
        findings.append(
            DataQualityFinding("missingScores", column, message, {"rows": tally.missing, "of": tally.labeled})
        )
    if tally.outside:
        message = (
            f"{column}: {tally.outside} of {tally.scored} scores lie outside [0, 1] "
            f"(min {tally.low:.4g}, max {tally.high:.4g}): not probabilities"
        )
        findings.append(
            DataQualityFinding("scoresOutOfRange", column, message, {"rows": tally.outside, "of": tally.scored})
        )
    return findings


def sampling_findings(context: CheckContext, data: PerformanceData) -> list[DataQualityFinding]:
    """The sides whose single rows were sampled, for the checks that need them (data.maxGatheredRows)."""
    limit = context.spec.data.max_gathered_rows
    counted = "" if data.task is Task.REGRESSION else " (label metrics count every row)"
    return [
        DataQualityFinding(
            "labeledRowsSampled",
            "",
            f"{side}: {rows:,} labeled rows > data.maxGatheredRows {limit:,}: score and regression metrics and the "
            f"sequential detectors use a uniform random sample of {kept:,}{counted}",
            {"rows": kept, "of": rows},
        )
        for side, (kept, rows) in data.sampled.items()
    ]
