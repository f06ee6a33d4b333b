"""One evaluation of a ModelMonitor spec at a point in time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.api.results import (
    AttributionResult,
    CheckError,
    ConceptDriftResult,
    DataQualityFinding,
    DriftResult,
    MetricResult,
    PerformanceEstimation,
    Results,
    SegmentResult,
    Window,
)
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks.attribution import attribute
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.estimation import Estimation, EstimationTask, estimate_metrics
from modelmonitor.checks.executors import LocalMeasurer, Measurer
from modelmonitor.checks.fairness import evaluate_fairness
from modelmonitor.checks.features import DriftTasks, drift_result, drift_tasks
from modelmonitor.checks.label_matches import IndexedLabelsTask, unmatched_finding
from modelmonitor.checks.labeled_parts import LabelsTask
from modelmonitor.checks.multivariate import with_multivariate
from modelmonitor.checks.performance import (
    PerformanceData,
    evaluate_concept_drift,
    evaluate_metrics,
    sampling_findings,
    score_findings,
)
from modelmonitor.checks.quality import evaluate_quality
from modelmonitor.checks.segments import evaluate_segments
from modelmonitor.errors import DataError
from modelmonitor.times import rfc3339


def data_bytes(spec: ModelMonitorSpec, env: Mapping[str, str] | None = None, now: datetime | None = None) -> int | None:
    """How many bytes of files a run at ``now`` (default: this moment) reads, if known.

    A data set's files count whole, except the hive partitions its window skips unopened
    (see ``data.time_partitions``): a year of hourly logs costs a 24-hour window one day's bytes.
    """
    context = CheckContext.opened(spec, now or datetime.now(UTC), env)
    total = 0
    for reference in (False, True):
        size = context.side(reference).total_bytes(context.side_rows(reference))
        if size is None:
            return None
        total += size
    return total


def run_checks(
    spec: ModelMonitorSpec,
    *,
    now: datetime | None = None,
    name: str = "",
    env: Mapping[str, str] | None = None,
    measurer: Measurer | None = None,
) -> Results:
    """Evaluate every check of a spec on the data in its window ending at ``now``.

    ``env`` holds the monitor's data credentials as environment variables; without it
    the process environment applies. ``measurer`` reads and measures the data (the
    labeled rows, each feature's drift): by default on this process's threads; on a Dask
    cluster's workers with :class:`modelmonitor.distributed.DaskMeasurer`.

    Raises :class:`~modelmonitor.errors.DataError` when a data source cannot be opened
    at all; a failure confined to one check becomes that check's ``Error`` verdict.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    measurer = measurer or LocalMeasurer()
    context = CheckContext.opened(spec, now, env)
    spec = context.spec  # a registry's model at the version its alias names now
    context.current.schema  # noqa: B018 - open both now: an unreadable source is fatal
    context.reference.schema  # noqa: B018
    window = context.current_rows
    start = rfc3339(window.start) if window and window.start else None  # no window: a version's rows only, or all
    rows, reference_rows = context.side_count(False), context.side_count(True)
    errors: list[CheckError] = []
    findings: list[DataQualityFinding] = []
    if rows == 0:
        findings.append(_empty_window(context, start))
    if reference_rows == 0:
        errors.append(CheckError("reference", f"{spec.data.reference.named}: no rows in the reference data"))

    labels = [LabelsTask()] if spec.metrics or spec.concept_drift else []
    planned: DriftTasks | None = None
    if spec.drift is not None and reference_rows:
        try:
            planned = drift_tasks(context, spec.drift, largest_rows=max(rows, reference_rows))
        except DataError as error:
            errors.append(CheckError("drift", str(error)))
    estimating = [EstimationTask()] if spec.performance_estimation is not None and reference_rows else []
    indexing = [IndexedLabelsTask()] if labels and spec.data.labels is not None else []
    tasks = [*labels, *indexing, *estimating, *(planned.tasks if planned else [])]
    measured = measurer.measure(context, tasks) if tasks else []
    estimated_at = len(labels) + len(indexing)  # where the estimation's result is, then the drift's

    metrics: list[MetricResult] = []
    concept: list[ConceptDriftResult] = []
    labeled_rows = 0
    performance: PerformanceData | None = None
    if labels:
        try:
            performance = PerformanceData(context, measured[0])
        except (DataError, ValueError) as error:
            errors.append(CheckError("performance", str(error)))
            metrics = [
                MetricResult(str(m.name), None, m.min, m.max, 0, Verdict.ERROR, str(error)) for m in spec.metrics
            ]
            concept = [
                ConceptDriftResult(str(c.method), Verdict.ERROR, False, reason=str(error)) for c in spec.concept_drift
            ]
        else:
            labeled_rows = performance.current.size
            metrics = evaluate_metrics(context, performance)
            concept = evaluate_concept_drift(context, performance)
            findings += score_findings(context, performance)
            findings += sampling_findings(context, performance)
            if indexing:
                findings += unmatched_finding(context, measured[len(labels)], labeled_rows)

    estimation: PerformanceEstimation | None = None
    estimated: Estimation | None = None
    if spec.performance_estimation is not None and estimating:
        try:
            estimated = measured[estimated_at]
            metrics, estimation = estimate_metrics(context, spec.performance_estimation, metrics, estimated)
        except (DataError, ValueError) as error:
            errors.append(CheckError("performanceEstimation", str(error)))
            estimation = PerformanceEstimation(str(spec.performance_estimation.method), Verdict.ERROR, str(error), 0)

    drift: DriftResult | None = None
    if spec.drift is not None and planned is not None:
        drift, drift_findings = drift_result(spec.drift, planned, measured[estimated_at + len(estimating) :])
        drift = with_multivariate(context, spec.drift, drift)
        findings += drift_findings

    quality = evaluate_quality(context)  # an empty window too: freshness says the logs stopped
    fairness, left_out = evaluate_fairness(context)
    findings += left_out
    explained: list[AttributionResult] = []
    segments: list[SegmentResult] = []
    if performance is not None:
        try:
            explained = attribute(context, performance, metrics, concept, drift)
        except (DataError, ValueError) as error:
            errors.append(CheckError("attribution", str(error)))
        try:
            segments = evaluate_segments(context, performance, drift, estimated)
        except (DataError, ValueError) as error:
            errors.append(CheckError("segments", str(error)))

    errors += [CheckError(m.check, m.reason) for m in metrics if m.status is Verdict.ERROR]
    errors += [CheckError(r.check, r.message) for r in quality if r.status is Verdict.ERROR]
    errors += [CheckError(f.check, f.message) for f in fairness if f.verdict is Verdict.ERROR]
    errors += [CheckError(c.check, c.reason) for c in concept if c.status is Verdict.ERROR]
    if drift is not None:
        errors += [CheckError(f.check, f.reason) for f in drift.features if f.status is Verdict.ERROR]
        errors += [CheckError(m.check, m.reason) for m in drift.multivariate if m.status is Verdict.ERROR]
    errors = list(dict.fromkeys(errors))  # one root cause can fail several checks alike
    return Results(
        monitor=name,
        model=spec.model.name,
        model_version=spec.model.version,
        evaluated_at=rfc3339(now),
        window=Window(
            start=start,
            end=rfc3339(now),
            rows=rows,
            labeled_rows=labeled_rows,
        ),
        reference_rows=reference_rows,
        label_coverage=(labeled_rows / rows) if rows and (spec.metrics or spec.concept_drift) else None,
        metrics=metrics,
        drift=drift,
        concept_drift=concept,
        data_quality=findings,
        errors=errors,
        performance_estimation=estimation,
        spec=spec.model_dump(mode="json", by_alias=True, exclude_unset=True),
        ran_on=measurer.ran_on(),
        quality_rules=quality,
        fairness=fairness,
        attribution=explained,
        segments=segments,
    )


def _empty_window(context: CheckContext, start: str | None) -> DataQualityFinding:
    """No rows in the current window, and where the data's times lie instead: a clock or zone off, or old data."""
    message = f"no rows in the current window ({start or '-'}, {rfc3339(context.now)}]"
    column = context.spec.data.columns.timestamp
    try:
        times = context.current.time_range(column) if column else None
    except DataError as error:
        return DataQualityFinding("emptyWindow", column or "", f"{message}; the times cannot be read: {error}")
    if times is None:
        return DataQualityFinding("emptyWindow", column or "", message)
    earliest, latest = (rfc3339(moment) for moment in times)
    return DataQualityFinding(
        "emptyWindow",
        column or "",
        f"{message}: the data's {column} runs from {earliest} to {latest}",
        {"earliest": earliest, "latest": latest},
    )
