"""Schedule slots: interval slots aligned to the Unix epoch (jitter-free), or cron times."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from croniter import croniter

from modelmonitor.api.schedule import Schedule
from modelmonitor.durations import parse_duration

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SHOW_NEXT_RUN_WITHIN = timedelta(seconds=30)


@dataclass(frozen=True)
class NextRun:
    """The scheduler's own record of a monitor's next slot: its status may not show it yet.

    Creating a slot's run moves the next slot on, and writing that to the status at once
    cost a status write and a watch event per run. Instead the write that records the run
    carries it, a second or so later for an inline run. The status is written at once
    when the previous slot's was never shown (runs that do not finish), and within
    ``SHOW_NEXT_RUN_WITHIN`` plus one look (the backstop) otherwise.
    """

    generation: int
    at: str  # RFC 3339, as status.nextRunAt
    decided: datetime

    def ahead_of(self, shown: str | None, generation: int) -> bool:
        """Whether this is the next slot of ``generation`` and the status shows an earlier one (or none)."""
        return self.generation == generation and (shown or "") < self.at

    def overdue(self, shown: str | None, generation: int, moment: datetime) -> bool:
        """Whether the status should be written now, though no run has been recorded to carry it."""
        return self.ahead_of(shown, generation) and moment >= self.decided + SHOW_NEXT_RUN_WITHIN


def slot_offset(schedule: Schedule, namespace: str, name: str) -> timedelta:
    """Where in each interval a monitor's slots fall: 0, or with ``spread`` a stable share of it (whole seconds).

    The share comes from a hash of the namespace and name (as Prometheus spreads its scrapes
    and Jenkins its ``H`` cron fields), so it survives restarts and needs no state.

    >>> from modelmonitor.api.schedule import Schedule
    >>> slot_offset(Schedule(interval="1m", spread=True), "team-a", "credit-risk")
    datetime.timedelta(seconds=8)
    """
    if not schedule.spread or schedule.interval is None:
        return timedelta(0)
    seconds = int(parse_duration(schedule.interval).total_seconds())
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).digest()
    return timedelta(seconds=int.from_bytes(digest[:8], "big") % seconds)


def latest_slot(schedule: Schedule, now: datetime, offset: timedelta = timedelta(0)) -> datetime:
    """The most recent slot at or before ``now``; interval slots shifted by ``offset`` (see :func:`slot_offset`)."""
    if schedule.interval is not None:
        step = parse_duration(schedule.interval)
        start = _EPOCH + offset
        return start + step * ((now - start) // step)
    assert schedule.cron is not None
    return croniter(schedule.cron, now + timedelta(microseconds=1)).get_prev(datetime).astimezone(UTC)


def next_slot(schedule: Schedule, after: datetime, offset: timedelta = timedelta(0)) -> datetime:
    """The first slot strictly after ``after``.

    >>> from modelmonitor.api.schedule import Schedule
    >>> next_slot(Schedule(interval="1h"), datetime(2026, 1, 1, 10, 30, tzinfo=UTC)).isoformat()
    '2026-01-01T11:00:00+00:00'
    """
    if schedule.interval is not None:
        return latest_slot(schedule, after, offset) + parse_duration(schedule.interval)
    assert schedule.cron is not None
    return croniter(schedule.cron, after).get_next(datetime).astimezone(UTC)


def longest_gap(schedule: Schedule, after: datetime, slots: int = 16) -> timedelta:
    """The longest time between two of the next ``slots`` runs: a cron's weekend gap, or the interval.

    >>> from modelmonitor.api.schedule import Schedule
    >>> longest_gap(Schedule(cron="0 9 * * 1-5"), datetime(2026, 11, 23, tzinfo=UTC))
    datetime.timedelta(days=3)
    """
    times = [next_slot(schedule, after)]
    for _ in range(slots):
        times.append(next_slot(schedule, times[-1]))
    return max(later - earlier for earlier, later in pairwise(times))
