"""The comparison's numbers as the decision rules take them: each metric's improvement interval and margin."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelmonitor.controller.rollouts.policy import Bounds, Evidence

if TYPE_CHECKING:
    from modelmonitor.checks.compare import VersionComparison


def evidence_from(comparison: VersionComparison, margin: float, guardrail_margins: Mapping[str, float]) -> Evidence:
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
        labeled_rows={arm: int(rows) for arm, rows in comparison.labeled_rows.items()},
        primary=primary if all(guards) else None,
        guardrails=[guard for guard in guards if guard is not None],
        srm_p_value=float(ratio.p_value) if ratio else 1.0,
        expected_shares=tuple(float(share) for share in ratio.expected_shares) if ratio else (),
        observed_shares=tuple(float(share) for share in ratio.observed_shares) if ratio else (),
    )
