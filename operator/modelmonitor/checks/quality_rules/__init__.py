"""The data-quality rules, one module per kind of ``spec.dataQuality`` rule, named as the spec names it
(``allowedValues``: ``allowed_values.py``), each ending in its ``RULE``; ``checks.quality`` registers them.

A rule reads the current window's rows one column and one batch at a time, so its memory is a
batch's (``unique`` keeps a 64-bit hash per value, the one exception), and says in its message
what it found in words that name a broken pipeline as such, not as drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from modelmonitor.api.results import QualityRuleResult
from modelmonitor.api.verdict import Verdict

if TYPE_CHECKING:
    from modelmonitor.checks.context import CheckContext


@dataclass(frozen=True)
class QualityRuleCheck:
    """How one kind of rule is measured: ``measure(context, rule)`` (the spec's rule of that kind)."""

    measure: Callable[[CheckContext, Any], QualityRuleResult]


def window_batches(context: CheckContext, column: str) -> Iterator[pa.Array]:
    """The current window's values of ``column``, a batch at a time (ColumnError if the data has no such column)."""
    context.current.require(column)
    yield from context.current.batches(column, context.current_rows)


def absent(values: pa.Array) -> pa.Array:
    """Which values are missing: null, or NaN in a floating-point column (as pandas counts them)."""
    if pa.types.is_floating(values.type):
        return pc.or_kleene(pc.is_null(values), pc.is_nan(values)).fill_null(True)
    return pc.is_null(values)


def share_text(share: float) -> str:
    """A share as people read it: 12%, 2.9%, 0.35%, 0.0012% (two figures below 10%: never 0% for some)."""
    if share == 0 or share >= 0.1:
        return f"{share:.0%}"
    return f"{share * 100:.2g}%"


def judged(
    rule: str, column: str, value: float, limit: float, message: str, details: dict[str, Any] | None = None
) -> QualityRuleResult:
    """Failed when ``value`` exceeds ``limit``, else Passed."""
    status = Verdict.FAILED if value > limit else Verdict.PASSED
    return QualityRuleResult(rule, column, status, value, limit, message, details or {})


def no_rows(rule: str, column: str, limit: float | None) -> QualityRuleResult:
    return QualityRuleResult(rule, column, Verdict.INCONCLUSIVE, None, limit, f"{column}: no rows in the window")
