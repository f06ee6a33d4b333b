"""``missing: {column, max}``: the share of the window's rows without a value (null, or NaN), at most ``max``."""

from __future__ import annotations

from modelmonitor.api.data_quality import MissingRule
from modelmonitor.api.results import QualityRuleResult
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.quality_rules import QualityRuleCheck, absent, judged, no_rows, share_text, window_batches


def measure(context: CheckContext, rule: MissingRule) -> QualityRuleResult:
    rows = missing = 0
    for values in window_batches(context, rule.column):
        rows += len(values)
        missing += absent(values).true_count
    if rows == 0:
        return no_rows("missing", rule.column, rule.max)
    share = missing / rows
    message = f"{rule.column}: {share_text(share)} of {rows:,} rows have no value (at most {share_text(rule.max)})"
    if missing == rows:
        message = f"{rule.column}: every one of {rows:,} rows has no value: the column is no longer filled"
    return judged("missing", rule.column, share, rule.max, message, {"rows": rows, "missing": missing})


RULE = QualityRuleCheck(measure)
