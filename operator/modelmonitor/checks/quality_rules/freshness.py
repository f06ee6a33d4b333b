"""``freshness: {maxAge, column, futureTolerance}``: the newest row is at most ``maxAge`` old, none from the future.

Logs that stopped arriving look like a quiet model; a clock or a time zone that is off puts rows
ahead of the run. The rule reads the time column from the window's start on, past the run's
time too (the window itself ends there), so both show. A window with no row at all fails: the
newest row, if any, is older than the window.
"""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pyarrow.compute as pc

from modelmonitor.api.data_quality import FreshnessRule
from modelmonitor.api.results import QualityRuleResult
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.quality_rules import QualityRuleCheck
from modelmonitor.data.source_definition import RowFilter
from modelmonitor.data.timestamps import utc_instants
from modelmonitor.durations import parse_duration
from modelmonitor.errors import SpecError
from modelmonitor.times import rfc3339

AHEAD = timedelta(days=365 * 100)  # how far past the run the rule looks for rows from the future


def _rows(context: CheckContext, column: str) -> RowFilter:
    window = context.current_rows
    start = window.start if window is not None and window.timestamp == column else None
    return RowFilter(column, context.now + AHEAD, start, window.equals if window is not None else ())


def measure(context: CheckContext, rule: FreshnessRule) -> QualityRuleResult:
    column = rule.column or context.spec.data.columns.timestamp
    if column is None:
        raise SpecError("a freshness rule needs its column, or data.columns.timestamp")  # the spec refuses it first
    context.current.require(column)
    max_age, tolerance = parse_duration(rule.max_age), parse_duration(rule.future_tolerance)
    ahead = context.now + tolerance
    newest, rows, future = None, 0, 0
    for values in context.current.batches(column, _rows(context, column)):
        instants = utc_instants(values, column).drop_null()
        if not len(instants):
            continue
        rows += len(instants)
        future += pc.sum(pc.greater(instants, pa.scalar(ahead, instants.type))).as_py() or 0
        latest = pc.max(instants).as_py()
        newest = latest if newest is None else max(newest, latest)
    limit = max_age.total_seconds()
    if newest is None:
        window = context.current_rows
        since = f" since {rfc3339(window.start)}" if window is not None and window.start else ""
        message = f"{column}: no row{since}: the logs stopped arriving, or the window is empty"
        return QualityRuleResult("freshness", column, Verdict.FAILED, None, limit, message, {"rows": 0})
    age = (context.now - newest).total_seconds()
    details = {"rows": rows, "newest": rfc3339(newest), "future": future}
    if future:
        message = (
            f"{column}: {future:,} of {rows:,} rows are later than the run ({rfc3339(context.now)}) by more than "
            f"{rule.future_tolerance}, up to {rfc3339(newest)}: a clock or a time zone is off"
        )
        return QualityRuleResult("freshness", column, Verdict.FAILED, age, limit, message, details)
    status = Verdict.FAILED if age > limit else Verdict.PASSED
    message = f"{column}: the newest row is {_age(age)} old ({rfc3339(newest)}; at most {rule.max_age})"
    if status is Verdict.FAILED:
        message += ": the logs stopped arriving"
    return QualityRuleResult("freshness", column, status, age, limit, message, details)


def _age(seconds: float) -> str:
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


RULE = QualityRuleCheck(measure)
