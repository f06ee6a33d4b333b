"""When a hive partition named by time ends, read from its keys alone, so a window can skip it unopened.

Logs are commonly kept in directories named by time: ``date=2026-12-06/hour=13``, ``dt=20261206``,
``year=2026/month=12/day=6/hour=13``. The keys recognised are ``date`` and ``dt`` (a date, as
``YYYY-MM-DD`` or ``YYYYMMDD``), ``year``, ``month``, ``day`` and ``hour``, read as UTC. A partition
with none of them, or with values that make no date, has no known end and is always read.

Rows in such a partition are at or before its end, whether it was cut by the rows' own time or by
when they were written (a row is logged after it happens). So a partition that ends at or before a
window's start holds no row of the window. A partition that begins after the window's end is not
skipped: one cut by write time may hold late rows whose own time is inside the window.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

TIME_KEYS = frozenset({"date", "dt", "year", "month", "day", "hour"})  # as written in any case: DT=, Hour=


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _day(value: object) -> date | None:
    """A ``date`` or ``dt`` key: 2026-12-06, or 20261206 (which hive partitioning reads as a number)."""
    if isinstance(value, date):
        return value
    text = str(value)
    for layout in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    return None


def _next_month(year: int, month: int) -> date:
    return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)


def partition_end(keys: Mapping[str, object]) -> datetime | None:
    """The moment a partition with these keys ends (exclusive), or None when its keys name no time."""
    named = {name.lower(): value for name, value in keys.items()}
    hour = _whole_number(named.get("hour"))
    if hour is not None and not 0 <= hour <= 23:
        return None
    try:
        day = next((found for key in ("date", "dt") if key in named and (found := _day(named[key]))), None)
        if day is None:
            year, month, day_of_month = (_whole_number(named.get(key)) for key in ("year", "month", "day"))
            if year is None:
                return None
            if month is None:
                return datetime(year + 1, 1, 1, tzinfo=UTC)
            if day_of_month is None:
                return datetime.combine(_next_month(year, month), datetime.min.time(), UTC)
            day = date(year, month, day_of_month)
    except (ValueError, OverflowError):  # month 13, February 30th, year 0
        return None
    start = datetime.combine(day, datetime.min.time(), UTC)
    return start + (timedelta(days=1) if hour is None else timedelta(hours=hour + 1))


def ends_by(keys: Mapping[str, object], moment: datetime) -> bool:
    """Whether every row of a partition with these keys is at or before ``moment``, by its keys alone."""
    end = partition_end(keys)
    return end is not None and end <= moment
