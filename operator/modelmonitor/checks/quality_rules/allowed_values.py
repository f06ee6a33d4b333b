"""``allowedValues: {column, values, maxShare}``: the share of the values outside a known set, at most ``maxShare``.

The set is the rule's ``values`` or, without them, every value the reference has: a category the
model never saw in training. Values are compared as text (``1`` and ``"1"`` alike). Nulls are not
values here (the ``missing`` rule counts them). The values found outside are counted, and the
most frequent named, so a new category that took every row says so.
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc

from modelmonitor.api.data_quality import AllowedValuesRule
from modelmonitor.api.results import QualityRuleResult
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.quality_rules import QualityRuleCheck, judged, no_rows, share_text

SHOWN = 10  # outside values named in the details, the most frequent first


def _text(values: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(values.type):
        values = pc.cast(values, values.type.value_type)
    return values if pa.types.is_string(values.type) else pc.cast(values, pa.string())


def _reference_values(context: CheckContext, column: str) -> pa.Array:
    context.reference.require(column)
    seen: set[str] = set()
    for values in context.reference.batches(column, context.reference_rows):
        seen.update(value for value in pc.unique(_text(values).drop_null()).to_pylist())
    return pa.array(sorted(seen), pa.string())


def measure(context: CheckContext, rule: AllowedValuesRule) -> QualityRuleResult:
    allowed = pa.array(rule.values, pa.string()) if rule.values else _reference_values(context, rule.column)
    source = "the rule's values" if rule.values else "the reference"
    context.current.require(rule.column)
    values_seen = 0
    outside: Counter[str] = Counter()
    for values in context.current.batches(rule.column, context.current_rows):
        text = _text(values).drop_null()
        values_seen += len(text)
        strays = text.filter(pc.invert(pc.is_in(text, value_set=allowed)))
        if len(strays):
            counted = pc.value_counts(strays)
            values_found, counts = counted.field("values").to_pylist(), counted.field("counts").to_pylist()
            outside.update(dict(zip(values_found, counts, strict=True)))
    if values_seen == 0:
        return no_rows("allowedValues", rule.column, rule.max_share)
    strays_seen = sum(outside.values())
    share = strays_seen / values_seen
    frequent = outside.most_common(SHOWN)
    named = ", ".join(f"{value!r} ({count:,})" for value, count in frequent[:3])
    message = f"{rule.column}: {share_text(share)} of {values_seen:,} values are not in {source}" + (
        f": {named}" + (f" and {len(outside) - 3:,} more" if len(outside) > 3 else "") if outside else ""
    )
    if strays_seen == values_seen:
        message += "; no value is a known one: the column's meaning or encoding changed"
    details = {
        "values": values_seen,
        "outside": strays_seen,
        "distinctOutside": len(outside),
        "top": [{"value": value, "rows": count} for value, count in frequent],
    }
    return judged("allowedValues", rule.column, share, rule.max_share, message, details)


RULE = QualityRuleCheck(measure)
