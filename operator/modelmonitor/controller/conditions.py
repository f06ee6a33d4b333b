"""ModelMonitor conditions from a run's outcome, following the Kubernetes API conventions.

A condition keeps its ``lastTransitionTime`` unless its status changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelmonitor.api.results import ConceptDriftResult, EstimatedMetric, MetricResult, Results
from modelmonitor.api.verdict import Verdict

READY, HEALTHY, DATA_DRIFT, PERFORMANCE, CONCEPT = (
    "Ready",
    "Healthy",
    "DataDrift",
    "PerformanceDegraded",
    "ConceptDrift",
)
OUTCOME_TYPES = (HEALTHY, DATA_DRIFT, PERFORMANCE, CONCEPT)
RETRAINING = "Retraining"
ESTIMATED = "EstimatedPerformanceDegraded"  # only on monitors with spec.performanceEstimation
DATA_QUALITY = "DataQuality"  # only on monitors with spec.dataQuality: True when a rule is broken
FAIRNESS = "FairnessViolated"  # only on monitors with spec.fairness: True when a metric is outside its bounds


@dataclass(frozen=True)
class Condition:
    type: str
    status: str  # True | False | Unknown
    reason: str
    message: str


def _names(items: Sequence[MetricResult | EstimatedMetric | ConceptDriftResult]) -> str:
    return "; ".join(item.reason or getattr(item, "name", "") for item in items)


def outcome_conditions(phase: str, results: Results | None, error: str = "") -> list[Condition]:
    """Healthy, DataDrift, PerformanceDegraded and ConceptDrift for one finished run."""
    if phase != "Succeeded" or results is None:
        message = error or "the run did not complete"
        return [Condition(HEALTHY, "False", "RunError", message)] + [
            Condition(kind, "Unknown", "RunError", message) for kind in (DATA_DRIFT, PERFORMANCE, CONCEPT)
        ]
    found = [_healthy(results), _data_drift(results), _performance(results), _concept(results)]
    if results.performance_estimation is not None:
        found.append(_estimated(results))
    if results.quality_rules:
        found.append(_data_quality(results))
    if results.fairness:
        found.append(_fairness(results))
    return found


def _healthy(results: Results) -> Condition:
    verdict, drift = results.verdict, results.drift
    failing: list[MetricResult | EstimatedMetric | ConceptDriftResult] = [
        m for m in results.metrics if m.status is Verdict.FAILED
    ]
    failing += [c for c in results.concept_drift if c.status is Verdict.FAILED]
    failing += [m.estimated for m in results.metrics if m.estimated and m.estimated.status is Verdict.FAILED]
    if verdict is Verdict.PASSED:
        return Condition(HEALTHY, "True", "ChecksPassed", "every check passed")
    if verdict is Verdict.INCONCLUSIVE:
        unjudged = [_names([m for m in results.metrics if m.status is Verdict.INCONCLUSIVE])]
        unjudged += [f"fairness: {m.message}" for m in results.fairness if m.verdict is Verdict.INCONCLUSIVE]
        detail = "; ".join(filter(None, unjudged))
        return Condition(
            HEALTHY, "Unknown", "Inconclusive", "too little data to judge" + (f": {detail}" if detail else "")
        )
    if verdict is Verdict.ERROR:
        return Condition(HEALTHY, "False", "CheckError", "; ".join(f"{e.check}: {e.message}" for e in results.errors))
    parts = [_names(failing)] if failing else []
    broken = [rule.message for rule in results.quality_rules if rule.status is Verdict.FAILED]
    if broken:
        parts.append("data quality: " + "; ".join(broken))
    parts += [f"fairness: {metric.message}" for metric in results.fairness if metric.verdict is Verdict.FAILED]
    parts.append(_segments_failed(results))
    parts.append(_segments_estimated(results))
    parts.append(_segments_drifted(results))
    if drift and drift.dataset_drift:
        parts.append(f"dataset drift: {_share(drift.drifted_share)} of features drifted")
    if drift:
        parts += [f"multivariate drift ({m.method}): {m.reason}" for m in drift.multivariate if m.drifted]
    return Condition(HEALTHY, "False", "ChecksFailed", "; ".join(part for part in parts if part))


def _share(share: float) -> str:
    return "-" if math.isnan(share) else f"{share:.0%}"


def _data_drift(results: Results) -> Condition:
    drift = results.drift
    if drift is None:
        return Condition(DATA_DRIFT, "Unknown", "NotChecked", "no drift checks configured")
    judged = [f for f in drift.features if f.status in (Verdict.PASSED, Verdict.FAILED)]
    drifted = [f.feature for f in judged if f.drifted]
    if not judged:
        return Condition(DATA_DRIFT, "Unknown", "Inconclusive", "no feature could be judged")
    summary = (
        f"{len(drifted)} of {len(judged)} features drifted ({_share(drift.drifted_share)}, dataset drift at "
        f"{_share(drift.dataset_drift_share)})" + (f": {', '.join(drifted)}" if drifted else "")
    )
    broken = sorted({rule.column for rule in results.quality_rules if rule.status is Verdict.FAILED} & set(drifted))
    if broken:
        summary += (
            f"; data-quality rules broke on {', '.join(broken)}: a broken pipeline, not a change in the world, "
            "may be what drifted"
        )
    together = [m for m in drift.multivariate if m.drifted]
    if together:
        summary += "; the features together drifted: " + "; ".join(f"{m.method}: {m.reason}" for m in together)
    if segments := _segments_drifted(results):
        summary += f"; {segments}"
    if drift.dataset_drift:
        return Condition(DATA_DRIFT, "True", "DatasetDrift", summary)
    if together:
        return Condition(DATA_DRIFT, "True", "MultivariateDrift", summary)
    if segments:  # diluted overall: the shift is confined to some segments
        return Condition(DATA_DRIFT, "True", "SegmentDrift", summary)
    return Condition(DATA_DRIFT, "False", "NoDatasetDrift", summary)


def _performance(results: Results) -> Condition:
    metrics = results.metrics
    if not metrics:
        return Condition(PERFORMANCE, "Unknown", "NotChecked", "no metrics configured")
    failed = [m for m in metrics if m.status is Verdict.FAILED]
    segments = _segments_failed(results)
    if failed:
        message = "; ".join(filter(None, [_names(failed), segments])) + _explained(results)
        return Condition(PERFORMANCE, "True", "ThresholdBreached", message)
    if segments:  # the overall metrics pass: the failure is confined to some segments
        return Condition(PERFORMANCE, "True", "SegmentThresholdBreached", segments + _explained(results))
    judged = [m for m in metrics if m.status is Verdict.PASSED]
    if not judged:
        return Condition(PERFORMANCE, "Unknown", "Inconclusive", _names(metrics))
    return Condition(PERFORMANCE, "False", "WithinThresholds", _names(judged))


def _concept(results: Results) -> Condition:
    checks = results.concept_drift
    if not checks:
        return Condition(CONCEPT, "Unknown", "NotChecked", "no concept-drift checks configured")
    failed = [c for c in checks if c.status is Verdict.FAILED]
    if failed:
        message = "; ".join(f"{c.method}: {c.reason}" for c in failed)
        return Condition(CONCEPT, "True", "ConceptDrift", message + _explained(results))
    if not any(c.status is Verdict.PASSED for c in checks):
        return Condition(CONCEPT, "Unknown", "Inconclusive", "; ".join(c.reason for c in checks))
    return Condition(CONCEPT, "False", "NoConceptDrift", "; ".join(f"{c.method}: {c.reason}" for c in checks))


def merge(
    previous: list[dict[str, Any]], updates: list[Condition], *, generation: int, now: str
) -> tuple[list[dict[str, Any]], list[Condition]]:
    """The new condition list, and the conditions whose status changed (for Events)."""
    by_type = {condition["type"]: condition for condition in previous}
    changed = []
    for update in updates:
        old = by_type.get(update.type)
        transition = old["lastTransitionTime"] if old and old.get("status") == update.status else now
        if not old or old.get("status") != update.status:
            changed.append(update)
        by_type[update.type] = {
            "type": update.type,
            "status": update.status,
            "reason": update.reason,
            "message": update.message[:1000],
            "observedGeneration": generation,
            "lastTransitionTime": transition,
        }
    order = [READY, *OUTCOME_TYPES, ESTIMATED, DATA_QUALITY, FAIRNESS, RETRAINING]
    return sorted(by_type.values(), key=lambda c: order.index(c["type"]) if c["type"] in order else 99), changed


EVENT_REASONS = {
    (HEALTHY, "True"): ("Normal", "Healthy"),
    (HEALTHY, "False"): ("Warning", "Unhealthy"),
    (HEALTHY, "Unknown"): ("Normal", "HealthUnknown"),
    (DATA_DRIFT, "True"): ("Warning", "DataDriftDetected"),
    (DATA_DRIFT, "False"): ("Normal", "NoDataDrift"),
    (PERFORMANCE, "True"): ("Warning", "PerformanceDegraded"),
    (PERFORMANCE, "False"): ("Normal", "PerformanceWithinThresholds"),
    (CONCEPT, "True"): ("Warning", "ConceptDriftDetected"),
    (CONCEPT, "False"): ("Normal", "NoConceptDrift"),
    (ESTIMATED, "True"): ("Warning", "EstimatedPerformanceDegraded"),
    (ESTIMATED, "False"): ("Normal", "EstimatesWithinThresholds"),
    (DATA_QUALITY, "True"): ("Warning", "DataQualityRulesBroken"),
    (DATA_QUALITY, "False"): ("Normal", "DataQualityRulesKept"),
    (FAIRNESS, "True"): ("Warning", "FairnessViolated"),
    (FAIRNESS, "False"): ("Normal", "FairnessWithinBounds"),
    (READY, "True"): ("Normal", "Scheduled"),
    (READY, "False"): ("Warning", "NotReady"),
}


def _estimated(results: Results) -> Condition:
    """Whether the metrics estimated on the rows without labels break a threshold: a warning before the labels."""
    estimation = results.performance_estimation
    assert estimation is not None
    estimates = [m.estimated for m in results.metrics if m.estimated is not None]
    if estimation.status is not Verdict.PASSED or not estimates:
        return Condition(ESTIMATED, "Unknown", "NotEstimated", estimation.reason)
    failed = [e for e in estimates if e.status is Verdict.FAILED]
    segments = _segments_estimated(results)
    if failed:
        return Condition(
            ESTIMATED, "True", "EstimateBreachesThreshold", "; ".join(filter(None, [_names(failed), segments]))
        )
    if segments:  # the overall estimates pass: the failure is confined to some segments
        return Condition(ESTIMATED, "True", "SegmentEstimateBreachesThreshold", segments)
    return Condition(ESTIMATED, "False", "EstimatesWithinThresholds", _names(estimates))


def _data_quality(results: Results) -> Condition:
    """Whether the data broke a rule of spec.dataQuality: a pipeline's fault, told apart from drift."""
    rules = results.quality_rules
    failed = [rule for rule in rules if rule.status is Verdict.FAILED]
    if failed:
        message = "broken pipeline, not drift: " + "; ".join(rule.message for rule in failed)
        return Condition(DATA_QUALITY, "True", "RulesBroken", message)
    errors = [rule for rule in rules if rule.status is Verdict.ERROR]
    if errors:
        return Condition(DATA_QUALITY, "Unknown", "RuleError", "; ".join(rule.message for rule in errors))
    kept = sum(rule.status is Verdict.PASSED for rule in rules)
    if not kept:
        return Condition(DATA_QUALITY, "Unknown", "Inconclusive", "; ".join(rule.message for rule in rules))
    return Condition(DATA_QUALITY, "False", "RulesKept", f"{kept} of {len(rules)} data-quality rules kept")


def _fairness(results: Results) -> Condition:
    """Whether a fairness metric of spec.fairness is outside its bounds on the window."""
    metrics = results.fairness
    failed = [metric for metric in metrics if metric.verdict is Verdict.FAILED]
    if failed:
        return Condition(FAIRNESS, "True", "BoundsBreached", "; ".join(metric.message for metric in failed))
    errors = [metric for metric in metrics if metric.verdict is Verdict.ERROR]
    if errors:
        return Condition(FAIRNESS, "Unknown", "FairnessError", errors[0].message)
    if not any(metric.verdict is Verdict.PASSED for metric in metrics):
        return Condition(FAIRNESS, "Unknown", "Inconclusive", "; ".join(metric.message for metric in metrics))
    return Condition(FAIRNESS, "False", "WithinBounds", "; ".join(metric.message for metric in metrics))


def _explained(results: Results, most: int = 3) -> str:
    """Which drifted features explain each lost metric: "; accuracy fell 0.12: income explains 0.08, region 0.03"."""
    parts = []
    for metric in dict.fromkeys(item.metric for item in results.attribution):
        ranked = [item for item in results.attribution if item.metric == metric]
        value = ranked[0].value
        baseline = next(
            (c.baseline_value for c in results.concept_drift if c.metric == metric and c.baseline_value is not None),
            None,
        )
        lead = f"{metric} fell {abs(baseline - value):.3g}" if baseline is not None else f"{metric} {value:.3g}"
        named = [
            f"{item.feature} {'explains ' if index == 0 else ''}{item.explained_drop:.2g}"
            for index, item in enumerate(ranked[:most])
        ]
        parts.append(f"{lead}: {', '.join(named)} (drifted features, each reweighted to the reference)")
    return "".join(f"; {part}" for part in parts)


def _segments_failed(results: Results, most: int = 5) -> str:
    """The failed segments in words, the worst first: "accuracy below 0.75 in region=north (0.61, 1,203 rows)"."""
    said = [
        f"{metric.name} {_bound_broken(metric, metric.value)} in {segment.column}={segment.value} "
        f"({metric.value:.3g}, {segment.labeled_rows:,} rows)"
        for segment in results.segments
        for metric in segment.metrics
        if metric.status is Verdict.FAILED and metric.value is not None
    ]
    return _at_most(said, most)


def _segments_estimated(results: Results, most: int = 5) -> str:
    """The segments failed on their estimates: "estimated accuracy below 0.8 in region=north (0.6, 3,012 rows
    without labels)"."""
    said = [
        f"estimated {metric.name} {_bound_broken(metric, estimated.value)} in {segment.column}={segment.value} "
        f"({estimated.value:.3g}, {estimated.rows:,} rows without labels)"
        for segment in results.segments
        for metric in segment.metrics
        if (estimated := metric.estimated) is not None
        and estimated.status is Verdict.FAILED
        and estimated.value is not None
    ]
    return _at_most(said, most)


def _at_most(said: list[str], most: int) -> str:
    """The first ``most`` of a condition's findings, and how many more there are."""
    more = f" and {len(said) - most} more" if len(said) > most else ""
    return "; ".join(said[:most]) + more


def _bound_broken(metric: MetricResult, value: float) -> str:
    return f"below {metric.min:g}" if metric.min is not None and value < metric.min else f"above {metric.max:g}"


def _segments_drifted(results: Results, most: int = 5) -> str:
    """The segments whose features drifted as a dataset does: "drift in region=north (3 of 4 features drifted: …)"."""
    said = [f"drift in {s.column}={s.value} ({s.drift_reason})" for s in results.segments if s.dataset_drift]
    return _at_most(said, most)
