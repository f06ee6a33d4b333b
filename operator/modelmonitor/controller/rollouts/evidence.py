"""The comparison's numbers as the decision rules take them: each metric's improvement interval and margin."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from modelmonitor.checks.compare import VersionComparison
from modelmonitor.controller.rollouts.policy import Bounds, Evidence


def evidence_from(comparison: VersionComparison, margin: float, guardrail_margins: Mapping[str, float]) -> Evidence:
    def bounds(item: Any, limit: float) -> Bounds | None:
        improvement = item.improvement
        if math.isnan(improvement.low) or math.isnan(improvement.high):
            return None
        return Bounds(item.metric, improvement.low, improvement.high, limit)

    primary = bounds(comparison.primary, margin)
    guards = [bounds(item, guardrail_margins[item.metric]) for item in comparison.guardrails]
    ratio = comparison.sample_ratio
    return Evidence(
        labeled_rows=comparison.labeled_rows,
        primary=primary if all(guards) else None,
        guardrails=[guard for guard in guards if guard is not None],
        srm_p_value=ratio.p_value if ratio else 1.0,
        expected_shares=ratio.expected_shares if ratio else (),
        observed_shares=ratio.observed_shares if ratio else (),
    )
