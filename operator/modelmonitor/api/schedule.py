"""When something runs: an interval or a cron expression (a monitor's checks, a retraining)."""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from modelmonitor.api.base import Duration, SpecModel
from modelmonitor.api.cel import CelRule, cel
from modelmonitor.durations import parse_duration


def _cron_field(number: str) -> str:
    """One cron field: ``*``, a value or a range, with an optional step, or a list of them."""
    item = rf"(?:\*|(?:{number})(?:-(?:{number}))?)(?:/[1-9][0-9]*)?"
    return rf"{item}(?:,{item})*"


def _names(names: str) -> str:
    return f"{names}|{names.upper()}"


# The one cron grammar of both gates, the model and the CRD (a CEL rule): an expression the schedule's
# croniter would refuse, or read differently, is refused by both alike.
CRON_PATTERN = (
    "^"
    + " ".join(
        _cron_field(number)
        for number in (
            "[0-5]?[0-9]",
            "[01]?[0-9]|2[0-3]",
            "0?[1-9]|[12][0-9]|3[01]",
            "0?[1-9]|1[0-2]|" + _names("jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"),
            "[0-7]|" + _names("sun|mon|tue|wed|thu|fri|sat"),
        )
    )
    + "$"
)
CRON_RULE = (
    "five fields separated by one space: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or jan-dec) "
    "and day of week (0-7 or sun-sat), each *, a value or a range, with an optional /step, or a list; e.g. '0 * * * *'"
)


class Schedule(SpecModel):
    """When checks run: exactly one of ``interval`` (at least 1m) or ``cron``."""

    interval: Duration | None = None
    cron: str | None = Field(None, min_length=9, max_length=128, examples=["0 * * * *"])
    spread: bool = Field(
        False,
        description="Interval only: shift this monitor's slots by a stable offset within the interval (from its "
        "namespace and name) instead of starting on the epoch-aligned boundary, so that a fleet on one interval "
        "spreads its runs over it instead of starting them all at once.",
    )

    @model_validator(mode="after")
    @cel(CelRule("has(self.interval) != has(self.cron)", "set exactly one of interval or cron"))
    def _exactly_one(self) -> Schedule:
        if (self.interval is None) == (self.cron is None):
            raise ValueError("set exactly one of interval or cron")
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.spread) || !self.spread || has(self.interval)",
            "spread needs an interval: a cron expression says itself when to run",
            ".spread",
        )
    )
    def _spread_needs_an_interval(self) -> Schedule:
        if self.spread and self.interval is None:
            raise ValueError("spread needs an interval: a cron expression says itself when to run")
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.interval) || duration(self.interval) >= duration('1m')",
            "interval must be at least 1m",
            ".interval",
        )
    )
    def _at_least_a_minute(self) -> Schedule:
        if self.interval is not None and parse_duration(self.interval).total_seconds() < 60:
            raise ValueError("interval must be at least 1m")
        return self

    @model_validator(mode="after")
    @cel(CelRule(f"!has(self.cron) || self.cron.matches(r'{CRON_PATTERN}')", f"cron must be {CRON_RULE}", ".cron"))
    def _cron_grammar(self) -> Schedule:
        if self.cron is not None and re.fullmatch(CRON_PATTERN, self.cron) is None:
            raise ValueError(f"invalid cron expression {self.cron!r}: {CRON_RULE}")
        return self
