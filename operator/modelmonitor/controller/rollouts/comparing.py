"""What the check processes run for rollouts and the compare API: two versions compared on logged rows.

The operator's process imports this module to name the function; the checks load in the
workers alone, and what comes back is plain data: the comparison's document, and its
numbers as the decision rules take them (``policy.Evidence``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelmonitor.api.comparison import ARMS
from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.controller.conditions import CONCEPT, Condition
from modelmonitor.controller.rollouts.policy import Bounds, Evidence

if TYPE_CHECKING:
    from modelmonitor.checks.compare import VersionComparison


def compare(
    spec: ModelMonitorSpec, arguments: Mapping[str, Any], margin: float, guardrail_margins: Mapping[str, float]
) -> tuple[dict[str, Any], Evidence]:
    """Two versions compared on the monitor's logged rows: the comparison's document, and its evidence.

    Not the comparison itself: unpickling it would load the checks in the operator's process.
    """
    from modelmonitor.checks.compare import compare_versions

    comparison = compare_versions(spec, **arguments)
    return comparison.to_document(), evidence_from(comparison, margin, guardrail_margins)


def evidence_from(comparison: VersionComparison, margin: float, guardrail_margins: Mapping[str, float]) -> Evidence:
    """Each metric's improvement interval and margin, the labelled rows and the sample ratio test."""

    def bounds(item: Any, limit: float) -> Bounds | None:
        improvement = item.improvement
        if math.isnan(improvement.low) or math.isnan(improvement.high):
            return None
        return Bounds(str(item.metric), float(improvement.low), float(improvement.high), limit)

    primary = bounds(comparison.primary, margin)
    guards = [bounds(item, guardrail_margins[item.metric]) for item in comparison.guardrails]
    ratio = comparison.sample_ratio
    estimated = comparison.estimated
    guessed = estimated.primary if estimated is not None else None
    # plain numbers: the evidence travels from a check process to the operator's, which has no numpy
    return Evidence(
        # the rows the primary comparison rests on: a shadow step's labelled pairs, else each arm's labelled rows
        labeled_rows={arm: int(comparison.primary.arm(arm).rows) for arm in comparison.labeled_rows},
        primary=primary if all(guards) else None,
        guardrails=[guard for guard in guards if guard is not None],
        srm_p_value=float(ratio.p_value) if ratio else 1.0,
        expected_shares=tuple(float(share) for share in ratio.expected_shares) if ratio else (),
        observed_shares=tuple(float(share) for share in ratio.observed_shares) if ratio else (),
        estimated=bounds(guessed, margin) if guessed is not None else None,
        estimated_rows={arm: int(guessed.arm(arm).rows) for arm in ARMS} if guessed is not None else None,
        unreliable=estimated.disagreement if estimated is not None else "",
    )


def concept_drift(monitor: Mapping[str, Any]) -> str:
    """The monitor's ConceptDrift condition's message when it is True: CBPE's assumption no longer holds."""
    for condition in (monitor.get("status") or {}).get("conditions") or []:
        if condition.get("type") == CONCEPT and condition.get("status") == "True":
            return f"the monitor's concept-drift checks fire ({condition.get('message') or condition.get('reason')})"
    return ""


ESTIMATES_TRUSTED = "EstimatesTrusted"


def estimate_condition(document: Mapping[str, Any], evidence: Evidence) -> Condition:
    """Whether analysis.estimated's estimates may decide: refused (why), suspended (EstimateUnreliable), or trusted."""
    estimated = document.get("estimated") or {}
    if refused := estimated.get("refused"):
        return Condition(ESTIMATES_TRUSTED, "False", "EstimateRefused", str(refused))
    if evidence.unreliable:
        return Condition(ESTIMATES_TRUSTED, "False", "EstimateUnreliable", evidence.unreliable)
    return Condition(
        ESTIMATES_TRUSTED, "True", "EstimatesHold", "no concept drift, and the labels so far agree with the estimates"
    )


def estimate_event(previous: list[dict[str, Any]], condition: Condition) -> tuple[str, str, str] | None:
    """The Event when the estimates' standing changes: refused or suspended (Warning), trusted again (Normal).
    Trusted from the start is no news."""
    before = next((found for found in previous if found.get("type") == condition.type), None)
    if before is None and condition.status == "True":
        return None
    if before is not None and (before.get("status"), before.get("reason")) == (condition.status, condition.reason):
        return None
    return ("Normal" if condition.status == "True" else "Warning", condition.reason, condition.message[:1000])
