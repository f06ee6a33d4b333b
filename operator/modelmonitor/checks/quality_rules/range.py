"""``range: {column, min, max, maxShare}``: the share of the values outside [min, max], at most ``maxShare``.

Nulls and NaN are not values here (the ``missing`` rule counts them). Integers, floats and
decimals are numbers; a column of another type is an error that names it: a number stored as
text is a pipeline's fault too.
"""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.compute as pc

from modelmonitor.api.data_quality import RangeRule
from modelmonitor.api.results import QualityRuleResult
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.features import is_numeric
from modelmonitor.checks.quality_rules import QualityRuleCheck, absent, judged, no_rows, share_text, window_batches
from modelmonitor.errors import ColumnError


def _bounds(rule: RangeRule) -> str:
    low = "-inf" if rule.min is None else f"{rule.min:g}"
    high = "inf" if rule.max is None else f"{rule.max:g}"
    return f"[{low}, {high}]"


def measure(context: CheckContext, rule: RangeRule) -> QualityRuleResult:
    values_seen = below = above = 0
    lowest, highest = math.inf, -math.inf
    for values in window_batches(context, rule.column):
        if not is_numeric(values.type):
            raise ColumnError(rule.column, f"holds {values.type}, not numbers: a range is for numbers")
        if pa.types.is_decimal(values.type):  # compared as floats: a range's bounds are floats too
            values = pc.cast(values, pa.float64())
        present = values.filter(pc.invert(absent(values)))
        if not len(present):
            continue
        values_seen += len(present)
        if rule.min is not None:
            below += pc.sum(pc.less(present, rule.min)).as_py() or 0
        if rule.max is not None:
            above += pc.sum(pc.greater(present, rule.max)).as_py() or 0
        bounds = pc.min_max(present)
        lowest, highest = min(lowest, bounds["min"].as_py()), max(highest, bounds["max"].as_py())
    if values_seen == 0:
        return no_rows("range", rule.column, rule.max_share)
    share = (below + above) / values_seen
    message = (
        f"{rule.column}: {share_text(share)} of {values_seen:,} values outside {_bounds(rule)} "
        f"({below:,} below, {above:,} above; seen {lowest:g} to {highest:g}; at most {share_text(rule.max_share)})"
    )
    details = {"values": values_seen, "below": below, "above": above, "lowest": lowest, "highest": highest}
    return judged("range", rule.column, share, rule.max_share, message, details)


RULE = QualityRuleCheck(measure)
