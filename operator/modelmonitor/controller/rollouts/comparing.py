"""What the check processes run for rollouts and the compare API: two versions compared on logged rows.

The operator's process imports this module to name the function; the checks load in the
workers alone, and what comes back is plain data: the comparison's document, and its
numbers as the decision rules take them (``policy.Evidence``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelmonitor.api.monitor import ModelMonitorSpec
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
    # plain numbers: the evidence travels from a check process to the operator's, which has no numpy
    return Evidence(
        # the rows the primary comparison rests on: a shadow step's labelled pairs, else each arm's labelled rows
        labeled_rows={arm: int(comparison.primary.arm(arm).rows) for arm in comparison.labeled_rows},
        primary=primary if all(guards) else None,
        guardrails=[guard for guard in guards if guard is not None],
        srm_p_value=float(ratio.p_value) if ratio else 1.0,
        expected_shares=tuple(float(share) for share in ratio.expected_shares) if ratio else (),
        observed_shares=tuple(float(share) for share in ratio.observed_shares) if ratio else (),
    )
