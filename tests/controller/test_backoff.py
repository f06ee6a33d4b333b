"""Capped exponential backoff, per key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from modelmonitor.controller.backoff import Backoff

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_waits_double_up_to_the_cap_and_a_success_forgets() -> None:
    backoff: Backoff[str] = Backoff(first=timedelta(seconds=5), cap=timedelta(minutes=5))
    assert backoff.ready("a", T0) and backoff.retry_at("a") is None
    waits = [(backoff.failed("a", T0) - T0).total_seconds() for _ in range(9)]
    assert waits == [5, 10, 20, 40, 80, 160, 300, 300, 300] and backoff.failures("a") == 9
    assert not backoff.ready("a", T0 + timedelta(seconds=299)) and backoff.ready("a", T0 + timedelta(seconds=300))
    assert backoff.ready("b", T0)  # each key on its own
    backoff.succeeded("a")
    assert backoff.failures("a") == 0 and (backoff.failed("a", T0) - T0).total_seconds() == 5


def test_a_thousand_failures_do_not_overflow() -> None:
    backoff: Backoff[str] = Backoff()
    for _ in range(1000):
        at = backoff.failed("a", T0)
    assert at - T0 == timedelta(minutes=5)
