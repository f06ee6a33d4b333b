"""``schema: {columns, allowExtra}``: the window's columns are those expected, each of its type.

Expected: the rule's ``columns`` or, without them, the reference's columns. A column missing, a
column added (unless ``allowExtra``) and a column of another type each count. Columns that say
where a row was filed (bookkeeping, time partitions) and the label the checks join from
``data.labels`` are not the data's own and are left out on both sides.
"""

from __future__ import annotations

import pyarrow as pa

from modelmonitor.api.data_quality import ColumnType, ExpectedColumn, SchemaRule
from modelmonitor.api.results import QualityRuleResult
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.quality_rules import QualityRuleCheck
from modelmonitor.data.source_definition import Source

SHOWN = 10


def type_word(kind: pa.DataType) -> str:
    """The rule's word for an Arrow type; the type itself for one no word covers (a list, a struct)."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_integer(kind):
        return ColumnType.INTEGER
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return ColumnType.NUMBER
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return ColumnType.STRING
    if pa.types.is_boolean(kind):
        return ColumnType.BOOLEAN
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return ColumnType.TIMESTAMP
    return str(kind)


def _fits(expected: ColumnType | None, found: str) -> bool:
    if expected is None:
        return True
    return found == expected or (expected is ColumnType.NUMBER and found == ColumnType.INTEGER)


def _own_columns(context: CheckContext, source: Source) -> dict[str, str]:
    """The data's own columns and their words."""
    left_out = set(source.non_feature_columns)
    if context.spec.data.labels is not None and context.spec.data.columns.label:
        left_out.add(context.spec.data.columns.label)
    return {field.name: type_word(field.type) for field in source.schema if field.name not in left_out}


def _expected(context: CheckContext, rule: SchemaRule) -> tuple[list[ExpectedColumn], str]:
    if rule.columns is not None:
        return rule.columns, "the rule"
    words = _own_columns(context, context.reference)
    # a number in the reference may be stored as either kind now: pandas turns integers with nulls to floats
    loose = {ColumnType.INTEGER: ColumnType.NUMBER}
    return [ExpectedColumn(name=n, type=loose.get(w, w) if w in set(ColumnType) else None) for n, w in words.items()], (
        "the reference"
    )


def measure(context: CheckContext, rule: SchemaRule) -> QualityRuleResult:
    expected, source = _expected(context, rule)
    found = _own_columns(context, context.current)
    missing = [column.name for column in expected if column.name not in found]
    retyped = {
        column.name: {"expected": str(column.type), "found": found[column.name]}
        for column in expected
        if column.name in found and not _fits(column.type, found[column.name])
    }
    named = {column.name for column in expected}
    added = [] if rule.allow_extra else [name for name in found if name not in named]
    parts = []
    if missing:
        parts.append(f"missing {_listed(missing)}")
    if added:
        parts.append(f"added {_listed(added)}")
    if retyped:
        parts.append(
            "of another type: "
            + ", ".join(f"{name} ({kinds['found']}, not {kinds['expected']})" for name, kinds in retyped.items())
        )
    differing = len(missing) + len(added) + len(retyped)
    details = {"missing": missing, "added": added, "retyped": retyped, "expected": source}
    if not differing:
        message = f"the {len(found)} columns are those of {source}"
        return QualityRuleResult("schema", "", Verdict.PASSED, 0.0, 0.0, message, details)
    message = f"columns differ from {source}: " + "; ".join(parts) + ": the pipeline that writes the data changed"
    return QualityRuleResult("schema", "", Verdict.FAILED, float(differing), 0.0, message, details)


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


RULE = QualityRuleCheck(measure)
