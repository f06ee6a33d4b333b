"""The series of the checks beyond per-feature drift (docs/checks.md): multivariate drift, data-quality rules,
fairness, what explains a loss, and segments. Set with a monitor's other result series (``metrics``)."""

from __future__ import annotations

from prometheus_client import Gauge

from modelmonitor.api.results import Results
from modelmonitor.api.verdict import Verdict
from modelmonitor.controller.series import MONITOR_LABELS, REGISTRY, set_value

MULTIVARIATE_DRIFT = Gauge(
    "modelmonitor_multivariate_drift",
    "The statistic of a multivariate drift method (spec.drift.multivariate) in the last run",
    [*MONITOR_LABELS, "method"],
    registry=REGISTRY,
)
MULTIVARIATE_DRIFTED = Gauge(
    "modelmonitor_multivariate_drift_detected",
    "1 when a multivariate drift method found the features drifted together in the last run",
    [*MONITOR_LABELS, "method"],
    registry=REGISTRY,
)
QUALITY_RULE_BROKEN = Gauge(
    "modelmonitor_data_quality_rule_broken",
    "1 when the last run broke a data-quality rule (spec.dataQuality), 0 when it kept it; none when unjudged",
    [*MONITOR_LABELS, "rule", "column"],
    registry=REGISTRY,
)
QUALITY_RULE_VALUE = Gauge(
    "modelmonitor_data_quality_rule_value",
    "What the last run measured for a data-quality rule: a share of rows, a newest row's age in seconds (freshness), "
    "or the columns that differ (schema)",
    [*MONITOR_LABELS, "rule", "column"],
    registry=REGISTRY,
)
FAIRNESS = Gauge(
    "modelmonitor_fairness",
    "A fairness metric (spec.fairness) in the last run: its value and bootstrap interval (bound value, lower, upper)",
    [*MONITOR_LABELS, "metric", "bound"],
    registry=REGISTRY,
)
FAIRNESS_VIOLATED = Gauge(
    "modelmonitor_fairness_violated",
    "1 when a fairness metric was outside its bounds in the last run, 0 within them; none when unjudged",
    [*MONITOR_LABELS, "metric"],
    registry=REGISTRY,
)
EXPLAINED_DROP = Gauge(
    "modelmonitor_drift_explained_drop",
    "How much of a lost metric one drifted feature explains in the last run (docs/checks.md), in the metric's units",
    [*MONITOR_LABELS, "metric", "feature"],
    registry=REGISTRY,
)
SEGMENT_METRIC = Gauge(
    "modelmonitor_segment_metric",
    "A metric's value in one segment (spec.segments) in the last run; segment is column=value",
    [*MONITOR_LABELS, "metric", "segment"],
    registry=REGISTRY,
)
SEGMENT_BREACHED = Gauge(
    "modelmonitor_segment_threshold_breached",
    "1 when a segment failed a metric's threshold in the last run (after Benjamini-Hochberg), 0 when it kept it",
    [*MONITOR_LABELS, "metric", "segment"],
    registry=REGISTRY,
)
SEGMENT_METRIC_ESTIMATED = Gauge(
    "modelmonitor_segment_metric_estimated",
    "A metric estimated on one segment's rows without labels (CBPE) in the last run: bound value, lower or upper",
    [*MONITOR_LABELS, "metric", "segment", "bound"],
    registry=REGISTRY,
)
SEGMENT_ESTIMATE_BREACHED = Gauge(
    "modelmonitor_segment_estimate_breached",
    "1 when a segment's estimated metric failed its threshold in the last run (after Benjamini-Hochberg), 0 when "
    "it kept it",
    [*MONITOR_LABELS, "metric", "segment"],
    registry=REGISTRY,
)
SEGMENT_DRIFTED_SHARE = Gauge(
    "modelmonitor_segment_drifted_share",
    "The share of a segment's features that drifted against the same segment's reference rows in the last run",
    [*MONITOR_LABELS, "segment"],
    registry=REGISTRY,
)
SERIES = (
    MULTIVARIATE_DRIFT,
    MULTIVARIATE_DRIFTED,
    QUALITY_RULE_BROKEN,
    QUALITY_RULE_VALUE,
    FAIRNESS,
    FAIRNESS_VIOLATED,
    EXPLAINED_DROP,
    SEGMENT_METRIC,
    SEGMENT_BREACHED,
    SEGMENT_METRIC_ESTIMATED,
    SEGMENT_ESTIMATE_BREACHED,
    SEGMENT_DRIFTED_SHARE,
)
_JUDGED = (Verdict.PASSED, Verdict.FAILED)


def export(key: tuple[str, str], base: tuple[str, ...], results: Results) -> None:
    """These checks' series of one run (the caller holds the lock and has forgotten the last run's)."""
    for rule in results.quality_rules:
        labels = (*base, rule.rule, rule.column)
        set_value(key, QUALITY_RULE_VALUE, labels, rule.value)
        if rule.status in _JUDGED:
            set_value(key, QUALITY_RULE_BROKEN, labels, rule.status is Verdict.FAILED)
    for fair in results.fairness:
        for bound in ("value", "lower", "upper"):
            set_value(key, FAIRNESS, (*base, fair.name, bound), getattr(fair, bound))
        if fair.verdict in _JUDGED:
            set_value(key, FAIRNESS_VIOLATED, (*base, fair.name), fair.verdict is Verdict.FAILED)
    for item in results.attribution:
        set_value(key, EXPLAINED_DROP, (*base, item.metric, item.feature), item.explained_drop)
    for segment in results.segments:
        set_value(key, SEGMENT_DRIFTED_SHARE, (*base, f"{segment.column}={segment.value}"), segment.drifted_share)
        for metric in segment.metrics:
            labels = (*base, metric.name, f"{segment.column}={segment.value}")
            set_value(key, SEGMENT_METRIC, labels, metric.value)
            if metric.status in _JUDGED:
                set_value(key, SEGMENT_BREACHED, labels, metric.status is Verdict.FAILED)
            if (estimated := metric.estimated) is not None:
                for bound in ("value", "lower", "upper"):
                    set_value(key, SEGMENT_METRIC_ESTIMATED, (*labels, bound), getattr(estimated, bound))
                if estimated.status in _JUDGED:
                    set_value(key, SEGMENT_ESTIMATE_BREACHED, labels, estimated.status is Verdict.FAILED)
    for together in results.drift.multivariate if results.drift is not None else []:
        if together.status in _JUDGED:
            set_value(key, MULTIVARIATE_DRIFT, (*base, together.method), together.statistic)
            set_value(key, MULTIVARIATE_DRIFTED, (*base, together.method), together.drifted)
