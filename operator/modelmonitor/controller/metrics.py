"""Prometheus metrics of the monitors' last results, served on the operator's HTTP port."""

from __future__ import annotations

import math

from prometheus_client import Counter, Gauge, Histogram, ProcessCollector

from modelmonitor.api.comparison import ARMS, ComparisonDocument
from modelmonitor.api.results import Results
from modelmonitor.api.verdict import Verdict
from modelmonitor.controller import check_series
from modelmonitor.controller.series import (
    LOCK,
    MONITOR_LABELS,
    REGISTRY,
    SERIES_BY_MONITOR,
    forget,
    remember,
    restore,
    set_value,
)

ProcessCollector(registry=REGISTRY)  # process_resident_memory_bytes and process_cpu_seconds_total: operator health

METRIC_VALUE = Gauge(
    "modelmonitor_metric_value",
    "A performance metric's value in the last run",
    [*MONITOR_LABELS, "metric"],
    registry=REGISTRY,
)
METRIC_ESTIMATED = Gauge(
    "modelmonitor_metric_estimated_value",
    "A metric estimated on the rows without labels yet (CBPE): bound is value, lower or upper",
    [*MONITOR_LABELS, "metric", "bound"],
    registry=REGISTRY,
)
THRESHOLD_BREACHED = Gauge(
    "modelmonitor_threshold_breached",
    "1 when the metric broke its min or max",
    [*MONITOR_LABELS, "metric"],
    registry=REGISTRY,
)
FEATURE_DRIFT = Gauge(
    "modelmonitor_feature_drift",
    "A feature's drift statistic in the last run",
    [*MONITOR_LABELS, "feature", "method"],
    registry=REGISTRY,
)
FEATURE_DRIFTED = Gauge(
    "modelmonitor_feature_drifted",
    "1 when the feature drifted in the last run",
    [*MONITOR_LABELS, "feature", "method"],
    registry=REGISTRY,
)
METRIC_THRESHOLD = Gauge(
    "modelmonitor_metric_threshold",
    "A performance metric's bound in the spec: bound is min or max",
    [*MONITOR_LABELS, "metric", "bound"],
    registry=REGISTRY,
)
DATASET_DRIFT = Gauge(
    "modelmonitor_dataset_drift", "1 when the last run found dataset drift", list(MONITOR_LABELS), registry=REGISTRY
)
DRIFTED_SHARE = Gauge(
    "modelmonitor_drifted_features_share",
    "The share of features that drifted in the last run (0 to 1)",
    list(MONITOR_LABELS),
    registry=REGISTRY,
)
CONCEPT_DRIFT = Gauge(
    "modelmonitor_concept_drift_detected",
    "1 when a concept-drift detector found a change in the last run",
    [*MONITOR_LABELS, "method"],
    registry=REGISTRY,
)
MONITOR_INFO = Gauge(
    "modelmonitor_monitor_info",
    "1 for each monitor with a valid spec, naming its model",
    list(MONITOR_LABELS),
    registry=REGISTRY,
)
MONITOR_INTERVAL = Gauge(
    "modelmonitor_monitor_interval_seconds",
    "The longest gap between a scheduled monitor's runs (absent while suspended)",
    ["namespace", "monitor"],
    registry=REGISTRY,
)
MONITOR_CREATED = Gauge(
    "modelmonitor_monitor_created_timestamp_seconds",
    "When the monitor was created: a monitor with no successful run is stale from here",
    ["namespace", "monitor"],
    registry=REGISTRY,
)
RUN_DURATION = Histogram(
    "modelmonitor_run_duration_seconds",
    "How long runs took",
    ["namespace", "monitor", "runner"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
    registry=REGISTRY,
)
RUNS_TOTAL = Counter(
    "modelmonitor_runs_total", "Finished runs by result", ["namespace", "monitor", "result"], registry=REGISTRY
)
RUN_RESULTS = ("healthy", "unhealthy", "error")
LAST_RUN_ERRORED = Gauge(
    "modelmonitor_last_run_errored",
    "1 when the monitor's last run ended in Error, 0 when it evaluated",
    ["namespace", "monitor"],
    registry=REGISTRY,
)
LAST_SUCCESS = Gauge(
    "modelmonitor_last_success_timestamp_seconds",
    "When the last run that evaluated (phase Succeeded) finished",
    ["namespace", "monitor"],
    registry=REGISTRY,
)
RECONCILE_ERRORS = Counter(
    "modelmonitor_reconcile_errors_total",
    "Failures to record a finished run on its monitor (stage record) or to export its results (stage export)",
    ["namespace", "monitor", "stage"],
    registry=REGISTRY,
)
RECONCILE_STAGES = ("record", "export")
RETRAININGS_TOTAL = Counter(
    "modelmonitor_retrainings_total",
    "Finished retrainings by outcome (Succeeded, Failed, Unknown)",
    ["namespace", "monitor", "outcome"],
    registry=REGISTRY,
)
RETRAINING_OUTCOMES = ("Succeeded", "Failed", "Unknown")
LAST_RETRAINING_FAILED = Gauge(
    "modelmonitor_last_retraining_failed",
    "1 when the monitor's last finished retraining failed or ended unknown, 0 when it succeeded",
    ["namespace", "monitor"],
    registry=REGISTRY,
)
RETRAINING_ACTIVE = Gauge(
    "modelmonitor_retraining_active",
    "Retraining objects started and not finished",
    ["namespace", "monitor"],
    registry=REGISTRY,
)
_ROLLOUT = ("namespace", "rollout")
ROLLOUT_WEIGHT = Gauge(
    "modelmonitor_rollout_weight", "The traffic weight set for an arm, percent", [*_ROLLOUT, "arm"], registry=REGISTRY
)
ROLLOUT_MIRROR = Gauge(
    "modelmonitor_rollout_mirror_percent",
    "The percent of requests mirrored to the candidate (a shadow step); 0 otherwise",
    _ROLLOUT,
    registry=REGISTRY,
)
ROLLOUT_METRIC = Gauge(
    "modelmonitor_rollout_metric_value",
    "An arm's value of a compared metric",
    [*_ROLLOUT, "arm", "metric"],
    registry=REGISTRY,
)
ROLLOUT_DIFFERENCE = Gauge(
    "modelmonitor_rollout_difference",
    "Candidate minus baseline for a metric: the value and its always-valid interval's bounds",
    [*_ROLLOUT, "metric", "bound"],
    registry=REGISTRY,
)
ROLLOUT_ESTIMATED_DIFFERENCE = Gauge(
    "modelmonitor_rollout_estimated_difference",
    "Candidate minus baseline for the primary metric as CBPE expects it, before the labels (analysis.estimated): "
    "the value and its always-valid interval's bounds",
    [*_ROLLOUT, "metric", "bound"],
    registry=REGISTRY,
)
ROLLOUT_PHASE = Gauge(
    "modelmonitor_rollout_phase", "1 for the rollout's current phase", [*_ROLLOUT, "phase"], registry=REGISTRY
)
ROLLOUT_PHASES = ("Progressing", "Paused", "Promoted", "RolledBack", "Inconclusive", "Aborted")

_RESULT_SERIES = (
    METRIC_VALUE,
    METRIC_ESTIMATED,
    METRIC_THRESHOLD,
    THRESHOLD_BREACHED,
    FEATURE_DRIFT,
    FEATURE_DRIFTED,
    DATASET_DRIFT,
    DRIFTED_SHARE,
    CONCEPT_DRIFT,
    *check_series.SERIES,
)
_SCHEDULE_SERIES = (MONITOR_INFO, MONITOR_INTERVAL, MONITOR_CREATED)


def export_results(namespace: str, monitor: str, model: str, results: Results) -> None:
    """Replace a monitor's result gauges with those of its latest run."""
    key = (namespace, monitor)
    base = (namespace, monitor, model)
    with LOCK:
        forget(key, _RESULT_SERIES)  # a feature or metric may be gone from the spec
        for metric in results.metrics:
            if metric.estimated is not None:
                for bound in ("value", "lower", "upper"):
                    set_value(key, METRIC_ESTIMATED, (*base, metric.name, bound), getattr(metric.estimated, bound))
            if metric.value is None or math.isnan(metric.value):
                continue
            set_value(key, METRIC_VALUE, (*base, metric.name), metric.value)
            set_value(key, THRESHOLD_BREACHED, (*base, metric.name), metric.status is Verdict.FAILED)
            for bound in ("min", "max"):
                set_value(key, METRIC_THRESHOLD, (*base, metric.name, bound), getattr(metric, bound))
        for detector in results.concept_drift:
            if detector.status is not Verdict.ERROR:
                set_value(key, CONCEPT_DRIFT, (*base, detector.method), detector.detected)
        check_series.export(key, base, results)
        drift = results.drift
        if drift is not None:
            for feature in drift.features:
                if feature.statistic is None or math.isnan(feature.statistic):
                    continue
                labels = (*base, feature.feature, feature.method)
                set_value(key, FEATURE_DRIFT, labels, feature.statistic)
                set_value(key, FEATURE_DRIFTED, labels, feature.drifted)
            set_value(key, DATASET_DRIFT, base, drift.dataset_drift)
            set_value(key, DRIFTED_SHARE, base, drift.drifted_share)


def export_schedule(
    namespace: str,
    monitor: str,
    model: str,
    *,
    interval_seconds: float | None,
    created_at: float,
    last_success_at: float | None,
    last_run_errored: bool | None,
    last_retraining_failed: bool | None,
    retrains: bool,
) -> None:
    """What the alerts need of a monitor with a valid spec: its model, schedule and, after a restart, its last outcomes.

    Counters start at zero so that dashboards' ``increase()`` sees a monitor's first error or retraining.
    """
    key = (namespace, monitor)
    with LOCK:
        forget(key, _SCHEDULE_SERIES)
        remember(key, MONITOR_INFO, (namespace, monitor, model)).set(1)
        remember(key, MONITOR_CREATED, key).set(created_at)
        if interval_seconds is not None:
            remember(key, MONITOR_INTERVAL, key).set(interval_seconds)
        restore(key, LAST_SUCCESS, last_success_at)
        restore(key, LAST_RUN_ERRORED, last_run_errored)
        restore(key, LAST_RETRAINING_FAILED, last_retraining_failed)
        for result in RUN_RESULTS:
            remember(key, RUNS_TOTAL, (namespace, monitor, result))
        for stage in RECONCILE_STAGES:
            remember(key, RECONCILE_ERRORS, (namespace, monitor, stage))
        for outcome in RETRAINING_OUTCOMES if retrains else ():
            remember(key, RETRAININGS_TOTAL, (namespace, monitor, outcome))


def forget_schedule(namespace: str, monitor: str) -> None:
    """An invalid spec: no model or schedule to state."""
    with LOCK:
        forget((namespace, monitor), _SCHEDULE_SERIES)


def count_run(
    namespace: str, monitor: str, *, result: str, runner: str, seconds: float | None, finished_at: float | None
) -> None:
    key = (namespace, monitor)
    with LOCK:
        remember(key, RUNS_TOTAL, (namespace, monitor, result)).inc()
        remember(key, LAST_RUN_ERRORED, key).set(1 if result == "error" else 0)
        if seconds is not None:
            remember(key, RUN_DURATION, (namespace, monitor, runner)).observe(seconds)
        if finished_at is not None and result != "error":
            remember(key, LAST_SUCCESS, (namespace, monitor)).set(finished_at)


def count_reconcile_error(namespace: str, monitor: str, stage: str) -> None:
    with LOCK:
        remember((namespace, monitor), RECONCILE_ERRORS, (namespace, monitor, stage)).inc()


def count_retraining(namespace: str, monitor: str, outcome: str) -> None:
    with LOCK:
        remember((namespace, monitor), RETRAININGS_TOTAL, (namespace, monitor, outcome)).inc()
        remember((namespace, monitor), LAST_RETRAINING_FAILED, (namespace, monitor)).set(outcome != "Succeeded")


def set_retraining_active(namespace: str, monitor: str, active: int) -> None:
    with LOCK:
        remember((namespace, monitor), RETRAINING_ACTIVE, (namespace, monitor)).set(active)


def export_rollout(
    namespace: str,
    rollout: str,
    *,
    phase: str,
    weights: dict[str, int],
    analysis: ComparisonDocument | None,
    mirror: int = 0,
) -> None:
    """A rollout's phase, weights, mirrored share and, when it has compared the versions, per-arm values and
    differences."""
    key = (namespace, f"rollout/{rollout}")
    with LOCK:
        for name in ROLLOUT_PHASES:
            remember(key, ROLLOUT_PHASE, (namespace, rollout, name)).set(1 if name == phase else 0)
        for arm, weight in weights.items():
            remember(key, ROLLOUT_WEIGHT, (namespace, rollout, arm)).set(weight)
        remember(key, ROLLOUT_MIRROR, (namespace, rollout)).set(mirror)
        for comparison in [analysis.primary, *analysis.guardrails] if analysis else []:
            metric = comparison.metric
            for arm in ARMS:
                set_value(key, ROLLOUT_METRIC, (namespace, rollout, arm, metric), comparison.arm(arm).value)
            bounds = (
                ("value", comparison.difference),
                ("low", comparison.interval.low),
                ("high", comparison.interval.high),
            )
            for bound, value in bounds:
                set_value(key, ROLLOUT_DIFFERENCE, (namespace, rollout, metric, bound), value)
        if analysis is not None and (estimated := analysis.estimated) is not None:
            interval = estimated.interval
            for bound, value in (("value", estimated.difference), ("low", interval.low), ("high", interval.high)):
                set_value(key, ROLLOUT_ESTIMATED_DIFFERENCE, (namespace, rollout, estimated.metric, bound), value)


def forget_rollout(namespace: str, rollout: str) -> None:
    forget_monitor(namespace, f"rollout/{rollout}")


def forget_monitor(namespace: str, monitor: str) -> None:
    """A deleted monitor's series disappear."""
    with LOCK:
        for metric, labels in SERIES_BY_MONITOR.pop((namespace, monitor), set()):
            metric.remove(*labels)
