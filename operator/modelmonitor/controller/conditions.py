"""ModelMonitor conditions from a run's outcome, following the Kubernetes API conventions.

A condition keeps its ``lastTransitionTime`` unless its status changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Condition:
    type: str
    status: str  # True | False | Unknown
    reason: str
    message: str


def _names(items: list[dict[str, Any]]) -> str:
    return "; ".join(item.get("reason") or item.get("name", "") for item in items)


def outcome_conditions(phase: str, results: dict[str, Any] | None, error: str = "") -> list[Condition]:
    """Healthy, DataDrift, PerformanceDegraded and ConceptDrift for one finished run."""
    if phase != "Succeeded" or results is None:
        message = error or "the run did not complete"
        return [Condition(HEALTHY, "False", "RunError", message)] + [
            Condition(kind, "Unknown", "RunError", message) for kind in (DATA_DRIFT, PERFORMANCE, CONCEPT)
        ]
    found = [_healthy(results), _data_drift(results), _performance(results), _concept(results)]
    if results.get("performanceEstimation"):
        found.append(_estimated(results))
    return found


def _healthy(results: dict[str, Any]) -> Condition:
    verdict = results["verdict"]
    failing = [m for m in results["metrics"] if m["status"] == "Failed"]
    failing += [c for c in results["conceptDrift"] if c["status"] == "Failed"]
    failing += [m["estimated"] for m in results["metrics"] if (m.get("estimated") or {}).get("status") == "Failed"]
    drift = results.get("drift")
    if verdict == "Passed":
        return Condition(HEALTHY, "True", "ChecksPassed", "every check passed")
    if verdict == "Inconclusive":
        return Condition(
            HEALTHY,
            "Unknown",
            "Inconclusive",
            "too little data to judge: " + _names([m for m in results["metrics"] if m["status"] == "Inconclusive"])
            or "too little data to judge",
        )
    if verdict == "Error":
        return Condition(
            HEALTHY, "False", "CheckError", "; ".join(f"{e['check']}: {e['message']}" for e in results["errors"])
        )
    parts = [_names(failing)] if failing else []
    if drift and drift["datasetDrift"]:
        parts.append(f"dataset drift: {drift['driftedShare']:.0%} of features drifted")
    return Condition(HEALTHY, "False", "ChecksFailed", "; ".join(part for part in parts if part))


def _data_drift(results: dict[str, Any]) -> Condition:
    drift = results.get("drift")
    if drift is None:
        return Condition(DATA_DRIFT, "Unknown", "NotChecked", "no drift checks configured")
    judged = [f for f in drift["features"] if f["status"] in ("Passed", "Failed")]
    drifted = [f["feature"] for f in judged if f["drifted"]]
    if not judged:
        return Condition(DATA_DRIFT, "Unknown", "Inconclusive", "no feature could be judged")
    summary = (
        f"{len(drifted)} of {len(judged)} features drifted ({drift['driftedShare']:.0%}, dataset drift at "
        f"{drift['datasetDriftShare']:.0%})" + (f": {', '.join(drifted)}" if drifted else "")
    )
    if drift["datasetDrift"]:
        return Condition(DATA_DRIFT, "True", "DatasetDrift", summary)
    return Condition(DATA_DRIFT, "False", "NoDatasetDrift", summary)


def _performance(results: dict[str, Any]) -> Condition:
    metrics = results["metrics"]
    if not metrics:
        return Condition(PERFORMANCE, "Unknown", "NotChecked", "no metrics configured")
    failed = [m for m in metrics if m["status"] == "Failed"]
    if failed:
        return Condition(PERFORMANCE, "True", "ThresholdBreached", _names(failed))
    judged = [m for m in metrics if m["status"] == "Passed"]
    if not judged:
        return Condition(PERFORMANCE, "Unknown", "Inconclusive", _names(metrics))
    return Condition(PERFORMANCE, "False", "WithinThresholds", _names(judged))


def _concept(results: dict[str, Any]) -> Condition:
    checks = results["conceptDrift"]
    if not checks:
        return Condition(CONCEPT, "Unknown", "NotChecked", "no concept-drift checks configured")
    failed = [c for c in checks if c["status"] == "Failed"]
    if failed:
        return Condition(CONCEPT, "True", "ConceptDrift", "; ".join(f"{c['method']}: {c['reason']}" for c in failed))
    if not any(c["status"] == "Passed" for c in checks):
        return Condition(CONCEPT, "Unknown", "Inconclusive", "; ".join(c["reason"] for c in checks))
    return Condition(CONCEPT, "False", "NoConceptDrift", "; ".join(f"{c['method']}: {c['reason']}" for c in checks))


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
    order = [READY, *OUTCOME_TYPES, ESTIMATED, RETRAINING]
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
    (READY, "True"): ("Normal", "Scheduled"),
    (READY, "False"): ("Warning", "NotReady"),
}


def _estimated(results: dict[str, Any]) -> Condition:
    """Whether the metrics estimated on the rows without labels break a threshold: a warning before the labels."""
    estimation = results["performanceEstimation"]
    estimates = [m["estimated"] for m in results["metrics"] if m.get("estimated")]
    if estimation["status"] != "Passed" or not estimates:
        return Condition(ESTIMATED, "Unknown", "NotEstimated", estimation["reason"])
    failed = [e for e in estimates if e["status"] == "Failed"]
    if failed:
        return Condition(ESTIMATED, "True", "EstimateBreachesThreshold", _names(failed))
    return Condition(ESTIMATED, "False", "EstimatesWithinThresholds", _names(estimates))
