"""Prometheus metrics of the monitors' last results, served on the operator's HTTP port."""

from __future__ import annotations

import math
import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

from modelmonitor.api.comparison import ARMS, ComparisonDocument
from modelmonitor.api.results import Results
from modelmonitor.api.verdict import Verdict

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # process_resident_memory_bytes and process_cpu_seconds_total: operator health
_MONITOR = ("namespace", "monitor", "model")

METRIC_VALUE = Gauge(
    "modelmonitor_metric_value",
    "A performance metric's value in the last run",
    [*_MONITOR, "metric"],
    registry=REGISTRY,
)
METRIC_ESTIMATED = Gauge(
    "modelmonitor_metric_estimated_value",
    "A metric estimated on the rows without labels yet (CBPE): bound is value, lower or upper",
    [*_MONITOR, "metric", "bound"],
    registry=REGISTRY,
)
THRESHOLD_BREACHED = Gauge(
    "modelmonitor_threshold_breached",
    "1 when the metric broke its min or max",
    [*_MONITOR, "metric"],
    registry=REGISTRY,
)
FEATURE_DRIFT = Gauge(
    "modelmonitor_feature_drift",
    "A feature's drift statistic in the last run",
    [*_MONITOR, "feature", "method"],
    registry=REGISTRY,
)
FEATURE_DRIFTED = Gauge(
    "modelmonitor_feature_drifted",
    "1 when the feature drifted in the last run",
    [*_MONITOR, "feature", "method"],
    registry=REGISTRY,
)
METRIC_THRESHOLD = Gauge(
    "modelmonitor_metric_threshold",
    "A performance metric's bound in the spec: bound is min or max",
    [*_MONITOR, "metric", "bound"],
    registry=REGISTRY,
)
DATASET_DRIFT = Gauge(
    "modelmonitor_dataset_drift", "1 when the last run found dataset drift", list(_MONITOR), registry=REGISTRY
)
DRIFTED_SHARE = Gauge(
    "modelmonitor_drifted_features_share",
    "The share of features that drifted in the last run (0 to 1)",
    list(_MONITOR),
    registry=REGISTRY,
)
CONCEPT_DRIFT = Gauge(
    "modelmonitor_concept_drift_detected",
    "1 when a concept-drift detector found a change in the last run",
    [*_MONITOR, "method"],
    registry=REGISTRY,
)
MULTIVARIATE_DRIFT = Gauge(
    "modelmonitor_multivariate_drift",
    "The statistic of a multivariate drift method (spec.drift.multivariate) in the last run",
    [*_MONITOR, "method"],
    registry=REGISTRY,
)
MULTIVARIATE_DRIFTED = Gauge(
    "modelmonitor_multivariate_drift_detected",
    "1 when a multivariate drift method found the features drifted together in the last run",
    [*_MONITOR, "method"],
    registry=REGISTRY,
)
QUALITY_RULE_BROKEN = Gauge(
    "modelmonitor_data_quality_rule_broken",
    "1 when the last run broke a data-quality rule (spec.dataQuality), 0 when it kept it; none when unjudged",
    [*_MONITOR, "rule", "column"],
    registry=REGISTRY,
)
QUALITY_RULE_VALUE = Gauge(
    "modelmonitor_data_quality_rule_value",
    "What the last run measured for a data-quality rule: a share of rows, a newest row's age in seconds (freshness), "
    "or the columns that differ (schema)",
    [*_MONITOR, "rule", "column"],
    registry=REGISTRY,
)
FAIRNESS = Gauge(
    "modelmonitor_fairness",
    "A fairness metric (spec.fairness) in the last run: its value and bootstrap interval (bound value, lower, upper)",
    [*_MONITOR, "metric", "bound"],
    registry=REGISTRY,
)
FAIRNESS_VIOLATED = Gauge(
    "modelmonitor_fairness_violated",
    "1 when a fairness metric was outside its bounds in the last run, 0 within them; none when unjudged",
    [*_MONITOR, "metric"],
    registry=REGISTRY,
)
EXPLAINED_DROP = Gauge(
    "modelmonitor_drift_explained_drop",
    "How much of a lost metric one drifted feature explains in the last run (docs/checks.md), in the metric's units",
    [*_MONITOR, "metric", "feature"],
    registry=REGISTRY,
)
MONITOR_INFO = Gauge(
    "modelmonitor_monitor_info",
    "1 for each monitor with a valid spec, naming its model",
    list(_MONITOR),
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
ROLLOUT_PHASE = Gauge(
    "modelmonitor_rollout_phase", "1 for the rollout's current phase", [*_ROLLOUT, "phase"], registry=REGISTRY
)
ROLLOUT_PHASES = ("Progressing", "Paused", "Promoted", "RolledBack", "Inconclusive", "Aborted")

_lock = threading.Lock()
_series: dict[tuple[str, str], set[tuple[Any, tuple[str, ...]]]] = {}


def _remember(key: tuple[str, str], metric: Any, labels: tuple[str, ...]) -> Any:
    _series.setdefault(key, set()).add((metric, labels))
    return metric.labels(*labels)


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
    QUALITY_RULE_BROKEN,
    QUALITY_RULE_VALUE,
    FAIRNESS,
    FAIRNESS_VIOLATED,
    EXPLAINED_DROP,
    MULTIVARIATE_DRIFT,
    MULTIVARIATE_DRIFTED,
)
_SCHEDULE_SERIES = (MONITOR_INFO, MONITOR_INTERVAL, MONITOR_CREATED)


def _forget(key: tuple[str, str], doomed: tuple[Any, ...]) -> None:
    kept = set()
    for metric, labels in _series.get(key, set()):
        if metric in doomed:
            metric.remove(*labels)
        else:
            kept.add((metric, labels))
    _series[key] = kept


def _restore(key: tuple[str, str], metric: Any, value: float | bool | None) -> None:
    """A value known from the status, set unless this process has already seen a fresher one."""
    if value is not None and (metric, key) not in _series.get(key, set()):
        _remember(key, metric, key).set(value)


def _set(key: tuple[str, str], metric: Any, labels: tuple[str, ...], value: float | bool | None) -> None:
    """A series set to a value; none for a value that is unknown (None or NaN): a gap, not a made-up number."""
    if value is not None and not (isinstance(value, float) and math.isnan(value)):
        _remember(key, metric, labels).set(value)


def export_results(namespace: str, monitor: str, model: str, results: Results) -> None:
    """Replace a monitor's result gauges with those of its latest run."""
    key = (namespace, monitor)
    base = (namespace, monitor, model)
    with _lock:
        _forget(key, _RESULT_SERIES)  # a feature or metric may be gone from the spec
        for metric in results.metrics:
            if metric.estimated is not None:
                for bound in ("value", "lower", "upper"):
                    _set(key, METRIC_ESTIMATED, (*base, metric.name, bound), getattr(metric.estimated, bound))
            if metric.value is None or math.isnan(metric.value):
                continue
            _set(key, METRIC_VALUE, (*base, metric.name), metric.value)
            _set(key, THRESHOLD_BREACHED, (*base, metric.name), metric.status is Verdict.FAILED)
            for bound in ("min", "max"):
                _set(key, METRIC_THRESHOLD, (*base, metric.name, bound), getattr(metric, bound))
        for detector in results.concept_drift:
            if detector.status is not Verdict.ERROR:
                _set(key, CONCEPT_DRIFT, (*base, detector.method), detector.detected)
        for rule in results.quality_rules:
            labels = (*base, rule.rule, rule.column)
            _set(key, QUALITY_RULE_VALUE, labels, rule.value)
            if rule.status in (Verdict.PASSED, Verdict.FAILED):
                _set(key, QUALITY_RULE_BROKEN, labels, rule.status is Verdict.FAILED)
        for fair in results.fairness:
            for bound in ("value", "lower", "upper"):
                _set(key, FAIRNESS, (*base, fair.name, bound), getattr(fair, bound))
            if fair.verdict in (Verdict.PASSED, Verdict.FAILED):
                _set(key, FAIRNESS_VIOLATED, (*base, fair.name), fair.verdict is Verdict.FAILED)
        for item in results.attribution:
            _set(key, EXPLAINED_DROP, (*base, item.metric, item.feature), item.explained_drop)
        drift = results.drift
        if drift is not None:
            for feature in drift.features:
                if feature.statistic is None or math.isnan(feature.statistic):
                    continue
                labels = (*base, feature.feature, feature.method)
                _set(key, FEATURE_DRIFT, labels, feature.statistic)
                _set(key, FEATURE_DRIFTED, labels, feature.drifted)
            for together in drift.multivariate:
                if together.status in (Verdict.PASSED, Verdict.FAILED):
                    _set(key, MULTIVARIATE_DRIFT, (*base, together.method), together.statistic)
                    _set(key, MULTIVARIATE_DRIFTED, (*base, together.method), together.drifted)
            _set(key, DATASET_DRIFT, base, drift.dataset_drift)
            _set(key, DRIFTED_SHARE, base, drift.drifted_share)


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
    with _lock:
        _forget(key, _SCHEDULE_SERIES)
        _remember(key, MONITOR_INFO, (namespace, monitor, model)).set(1)
        _remember(key, MONITOR_CREATED, key).set(created_at)
        if interval_seconds is not None:
            _remember(key, MONITOR_INTERVAL, key).set(interval_seconds)
        _restore(key, LAST_SUCCESS, last_success_at)
        _restore(key, LAST_RUN_ERRORED, last_run_errored)
        _restore(key, LAST_RETRAINING_FAILED, last_retraining_failed)
        for result in RUN_RESULTS:
            _remember(key, RUNS_TOTAL, (namespace, monitor, result))
        for stage in RECONCILE_STAGES:
            _remember(key, RECONCILE_ERRORS, (namespace, monitor, stage))
        for outcome in RETRAINING_OUTCOMES if retrains else ():
            _remember(key, RETRAININGS_TOTAL, (namespace, monitor, outcome))


def forget_schedule(namespace: str, monitor: str) -> None:
    """An invalid spec: no model or schedule to state."""
    with _lock:
        _forget((namespace, monitor), _SCHEDULE_SERIES)


def count_run(
    namespace: str, monitor: str, *, result: str, runner: str, seconds: float | None, finished_at: float | None
) -> None:
    key = (namespace, monitor)
    with _lock:
        _remember(key, RUNS_TOTAL, (namespace, monitor, result)).inc()
        _remember(key, LAST_RUN_ERRORED, key).set(1 if result == "error" else 0)
        if seconds is not None:
            _remember(key, RUN_DURATION, (namespace, monitor, runner)).observe(seconds)
        if finished_at is not None and result != "error":
            _remember(key, LAST_SUCCESS, (namespace, monitor)).set(finished_at)


def count_reconcile_error(namespace: str, monitor: str, stage: str) -> None:
    with _lock:
        _remember((namespace, monitor), RECONCILE_ERRORS, (namespace, monitor, stage)).inc()


def count_retraining(namespace: str, monitor: str, outcome: str) -> None:
    with _lock:
        _remember((namespace, monitor), RETRAININGS_TOTAL, (namespace, monitor, outcome)).inc()
        _remember((namespace, monitor), LAST_RETRAINING_FAILED, (namespace, monitor)).set(outcome != "Succeeded")


def set_retraining_active(namespace: str, monitor: str, active: int) -> None:
    with _lock:
        _remember((namespace, monitor), RETRAINING_ACTIVE, (namespace, monitor)).set(active)


def export_rollout(
    namespace: str, rollout: str, *, phase: str, weights: dict[str, int], analysis: ComparisonDocument | None
) -> None:
    """A rollout's phase, weights and, when it has compared the versions, per-arm values and differences."""
    key = (namespace, f"rollout/{rollout}")
    with _lock:
        for name in ROLLOUT_PHASES:
            _remember(key, ROLLOUT_PHASE, (namespace, rollout, name)).set(1 if name == phase else 0)
        for arm, weight in weights.items():
            _remember(key, ROLLOUT_WEIGHT, (namespace, rollout, arm)).set(weight)
        for comparison in [analysis.primary, *analysis.guardrails] if analysis else []:
            metric = comparison.metric
            for arm in ARMS:
                _set(key, ROLLOUT_METRIC, (namespace, rollout, arm, metric), comparison.arm(arm).value)
            bounds = (
                ("value", comparison.difference),
                ("low", comparison.interval.low),
                ("high", comparison.interval.high),
            )
            for bound, value in bounds:
                _set(key, ROLLOUT_DIFFERENCE, (namespace, rollout, metric, bound), value)


def forget_rollout(namespace: str, rollout: str) -> None:
    forget_monitor(namespace, f"rollout/{rollout}")


def forget_monitor(namespace: str, monitor: str) -> None:
    """A deleted monitor's series disappear."""
    with _lock:
        for metric, labels in _series.pop((namespace, monitor), set()):
            metric.remove(*labels)
