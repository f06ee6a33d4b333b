"""The one scheduler: a queue of due times, the loop that ticks what falls due, and when a monitor is next due."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from modelmonitor.controller.monitors import BACKSTOP, next_wake
from modelmonitor.controller.wakeups import DueQueue, Scheduler
from modelmonitor.spec import parse_spec

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_queue_gives_due_keys_earliest_first_and_a_key_once() -> None:
    queue: DueQueue[str] = DueQueue()
    queue.set("late", at(30))
    queue.set("early", at(10))
    queue.set("moved", at(5))
    queue.set("moved", at(20))  # replaced: due at 20 only
    queue.set("gone", at(1))
    queue.remove("gone")
    assert queue.earliest() == at(10) and len(queue) == 3
    assert queue.pop_due(at(25)) == ["early", "moved"]
    assert queue.pop_due(at(25)) == [] and "late" in queue and "moved" not in queue
    assert queue.pop_due(at(30)) == ["late"] and queue.earliest() is None


def test_replaced_times_do_not_pile_up() -> None:
    queue: DueQueue[int] = DueQueue()
    for round_ in range(1000):
        for key in range(10):
            queue.set(key, at(round_ + key))
    assert len(queue._heap) <= 4 * 10 + 64
    assert queue.pop_due(at(10**6)) == list(range(10))


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def real_clock() -> datetime:
    return datetime.now(UTC)


def test_the_loop_ticks_keys_when_due_and_sleeps_in_between() -> None:
    async def scenario() -> list[tuple[str, float]]:
        started = real_clock()
        ticked: list[tuple[str, float]] = []

        async def tick(key: str) -> datetime | None:
            ticked.append((key, (real_clock() - started).total_seconds()))
            return None

        scheduler: Scheduler[str] = Scheduler(tick, clock=real_clock, retry=timedelta(seconds=1))
        scheduler.wake_at("b", started + timedelta(seconds=0.3))
        scheduler.wake_at("a", started + timedelta(seconds=0.1))
        loop = asyncio.create_task(scheduler.run())
        await asyncio.sleep(0.15)
        scheduler.wake_at("c", started + timedelta(seconds=0.2))  # earlier than the loop's sleep: wakes it
        await asyncio.sleep(0.4)
        loop.cancel()
        return ticked

    ticked = run(scenario())
    assert [key for key, _ in ticked] == ["a", "c", "b"]
    for (_, when), due in zip(ticked, (0.1, 0.2, 0.3), strict=True):
        assert due <= when < due + 0.08


def test_a_key_is_never_ticked_twice_at_once_and_its_tick_says_when_next() -> None:
    async def scenario() -> tuple[list[str], int]:
        started, ticked, overlapping = real_clock(), [], 0
        running: set[str] = set()

        async def tick(key: str) -> datetime | None:
            nonlocal overlapping
            overlapping += key in running
            running.add(key)
            ticked.append(key)
            scheduler.wake_at(key, real_clock())  # a watch event saying "due" while the tick runs
            await asyncio.sleep(0.05)
            running.discard(key)
            return real_clock() + timedelta(seconds=0.1) if len(ticked) < 3 else None

        scheduler: Scheduler[str] = Scheduler(tick, clock=real_clock, retry=timedelta(seconds=1))
        scheduler.wake_at("m", started)
        loop = asyncio.create_task(scheduler.run())
        await asyncio.sleep(0.6)
        loop.cancel()
        return ticked, overlapping

    ticked, overlapping = run(scenario())
    assert overlapping == 0 and ticked == ["m", "m", "m"]


def test_a_tick_that_raises_is_retried_later() -> None:
    async def scenario() -> list[float]:
        started, attempts = real_clock(), []

        async def tick(key: str) -> datetime | None:
            attempts.append((real_clock() - started).total_seconds())
            if len(attempts) == 1:
                raise ConnectionError("the API server is restarting")
            return None

        scheduler: Scheduler[str] = Scheduler(tick, clock=real_clock, retry=timedelta(seconds=0.2))
        scheduler.wake_at("m", started)
        loop = asyncio.create_task(scheduler.run())
        await asyncio.sleep(0.5)
        loop.cancel()
        return attempts

    attempts = run(scenario())
    assert len(attempts) == 2 and 0.2 <= attempts[1] - attempts[0] < 0.3


def monitor(status: dict[str, Any], generation: int = 3, **spec: Any) -> tuple[Any, dict[str, Any]]:
    document = {
        "model": {"name": "m", "task": "binaryClassification"},
        "data": {
            "current": {"uri": "/data/current"},
            "reference": {"uri": "/data/reference"},
            "columns": {"label": "label", "prediction": "prediction"},
        },
        "schedule": {"interval": "1m"},
        "metrics": [{"name": "accuracy", "min": 0.8}],
        **spec,
    }
    return parse_spec(document), {"metadata": {"generation": generation}, "status": status}


@pytest.mark.parametrize(
    ("status", "spec", "expected"),
    [
        ({"observedGeneration": 3, "nextRunAt": "2026-11-23T12:01:00Z"}, {}, at(60)),
        ({"observedGeneration": 3, "nextRunAt": "2026-11-23T11:59:00Z"}, {}, at(-60)),  # overdue: at once
        ({"observedGeneration": 3}, {}, T0),  # no nextRunAt yet: set it now
        ({"observedGeneration": 2, "nextRunAt": "2026-11-23T12:00:30Z"}, {}, T0 + BACKSTOP),  # spec not accepted
        ({"observedGeneration": 3, "nextRunAt": "2026-11-23T12:00:30Z"}, {"suspend": True}, T0 + BACKSTOP),
        (
            {"observedGeneration": 3, "nextRunAt": "2026-11-23T12:00:30Z", "retraining": {"active": [{"name": "r"}]}},
            {},
            at(5),  # an active retraining's outcome is read every tick
        ),
    ],
)
def test_a_monitor_is_next_due_at_its_slot_or_its_retraining_or_the_backstop(
    status: dict[str, Any], spec: dict[str, Any], expected: datetime
) -> None:
    parsed, body = monitor(status, **spec)
    assert next_wake(parsed, body, T0) == expected


def test_an_invalid_spec_waits_for_the_backstop_only() -> None:
    _, body = monitor({"observedGeneration": 3, "nextRunAt": "2026-11-23T12:00:10Z"})
    assert next_wake(None, body, T0) == T0 + BACKSTOP
