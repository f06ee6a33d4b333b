"""The one scheduler: a queue of due times, the loop that ticks what falls due, and when a monitor is next due."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from modelmonitor.api.parsing import parse_spec
from modelmonitor.controller.backoff import Backoff
from modelmonitor.controller.monitors.scheduler import BACKSTOP, kept_of, next_wake
from modelmonitor.controller.wakeups import DueQueue, Scheduler

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


def test_a_tick_that_keeps_raising_is_retried_less_and_less_often() -> None:
    """It was retried every 5 s forever, a traceback each time: now 0.1, 0.2, 0.4 ... at most the cap."""

    async def scenario() -> list[float]:
        started, attempts = real_clock(), []

        async def tick(key: str) -> datetime | None:
            attempts.append((real_clock() - started).total_seconds())
            raise ValueError("a document the tick cannot read")

        scheduler: Scheduler[str] = Scheduler(
            tick, clock=real_clock, retry=timedelta(seconds=0.1), retry_cap=timedelta(seconds=0.4)
        )
        scheduler.wake_at("m", started)
        loop = asyncio.create_task(scheduler.run())
        await asyncio.sleep(1.9)
        loop.cancel()
        return attempts

    attempts = run(scenario())
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert [round(gap, 1) for gap in gaps[:4]] == [0.1, 0.2, 0.4, 0.4]  # doubling, then capped


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


def test_the_scheduler_keeps_a_monitor_without_its_managed_fields_and_kopfs_annotations() -> None:
    body = {
        "apiVersion": "modelmonitor.io/v1alpha1",
        "kind": "ModelMonitor",
        "metadata": {
            "name": "m",
            "namespace": "ns",
            "uid": "u-1",
            "generation": 3,
            "labels": {"team": "fraud"},
            "annotations": {
                "kopf.modelmonitor.io/last-handled-configuration": '{"spec": {}}',
                "modelmonitor.io/run-now": "7",
            },
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
        },
        "spec": {"schedule": {"interval": "1m"}},
        "status": {"nextRunAt": "2026-11-23T12:01:00Z"},
    }
    kept = kept_of(body)
    assert kept["metadata"] == {
        "name": "m",
        "namespace": "ns",
        "uid": "u-1",
        "generation": 3,
        "labels": {"team": "fraud"},
        "annotations": {"modelmonitor.io/run-now": "7"},
    }
    assert {key: kept[key] for key in ("apiVersion", "kind", "spec", "status")} == {
        key: body[key] for key in ("apiVersion", "kind", "spec", "status")
    }
    assert "managedFields" in body["metadata"] and len(body["metadata"]["annotations"]) == 2  # the event's own


class FakeKube:
    def __init__(self) -> None:
        self.status_writes: list[dict[str, Any]] = []
        self.runs: dict[str, dict[str, Any]] = {}
        self.refusals = 0  # status writes to refuse before accepting them, as an API server in trouble
        self.reads: list[str] = []

    def patch_monitor_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        if self.refusals:
            self.refusals -= 1
            raise ApiException(status=500, reason="etcdserver: request timed out")
        self.status_writes.append(status)

    def get_run(self, namespace: str, name: str) -> dict[str, Any] | None:
        self.reads.append(name)
        return self.runs.get(name)

    def get_monitor(self, namespace: str, name: str) -> dict[str, Any] | None:
        from modelmonitor.controller.runtime import STATE

        return STATE.monitors.get((namespace, name))


@pytest.fixture
def scheduled(monkeypatch: pytest.MonkeyPatch) -> Any:
    """One monitor on a 1-minute interval, the tick's clock, the runs it creates and the status it writes."""
    from modelmonitor.controller.membership import Membership
    from modelmonitor.controller.monitors import scheduler
    from modelmonitor.controller.runtime import STATE

    clock = {"now": T0}
    created: list[str] = []

    async def create_run(body: Any, spec: Any, name: str, trigger: str, evaluate_at: datetime) -> None:
        created.append(name)

    kube = FakeKube()
    for attribute, value in {
        "kube": kube,
        "monitors": {},
        "next_runs": {},
        "monitor_locks": {},
        "runs_index": {},
        "recording": Backoff(),
        "shard": Membership(identity="one", namespace="ns", sharded=False),
    }.items():
        monkeypatch.setattr(STATE, attribute, value, raising=False)
    monkeypatch.setattr(scheduler, "now", lambda: clock["now"])
    monkeypatch.setattr(scheduler, "create_run", create_run)

    def show(next_run_at: str, interval: str = "1m") -> None:
        parsed, body = monitor({"observedGeneration": 3, "nextRunAt": next_run_at}, schedule={"interval": interval})
        spec = parsed.model_dump(by_alias=True, exclude_none=True, mode="json")
        STATE.monitors[("ns", "m")] = {
            **body,
            "metadata": {"namespace": "ns", "name": "m", "generation": 3},
            "spec": spec,
        }

    def tick(seconds: float) -> datetime | None:
        clock["now"] = at(seconds)
        return asyncio.run(scheduler.tick(("ns", "m")))

    return show, tick, created, kube.status_writes


def test_a_run_that_cannot_be_recorded_does_not_stop_the_schedule_and_is_retried_with_backoff(
    scheduled: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed record raised out of the tick: no next run was created, and it was retried every 5 s forever."""
    from modelmonitor.controller import metrics, runs
    from modelmonitor.controller.runtime import STATE

    show, tick, created, writes = scheduled
    warnings: list[tuple[str, str]] = []
    monkeypatch.setattr(runs, "condition_event", lambda body, condition: None)
    monkeypatch.setattr(runs.kopf, "warn", lambda body, reason, message: warnings.append((reason, message)))
    show("2026-11-23T12:00:00Z")
    STATE.monitors[("ns", "m")]["metadata"].update(creationTimestamp="2026-11-23T11:00:00Z")
    finished = {
        "metadata": {"name": "m-earlier", "creationTimestamp": "2026-11-23T11:59:00Z"},
        "spec": {"monitor": "m", "runner": "inline"},
        "status": {"phase": "Succeeded", "completedAt": "2026-11-23T11:59:02Z", "results": {"verdict": "Passed"}},
    }
    STATE.kube.runs["m-earlier"] = finished
    STATE.runs_index[("ns", "m")] = [finished]
    STATE.kube.refusals = 2
    errors = {"namespace": "ns", "monitor": "m", "stage": "record"}
    before = metrics.REGISTRY.get_sample_value("modelmonitor_reconcile_errors_total", errors) or 0.0

    assert tick(1) == at(6)  # the slot's run is created all the same; the record is tried again in 5 s
    assert created == ["m-20261123120000"] and writes == []
    assert metrics.REGISTRY.get_sample_value("modelmonitor_reconcile_errors_total", errors) == before + 1
    assert warnings[0][0] == "RecordFailed" and "m-earlier: ApiException" in warnings[0][1]
    tick(3)
    assert STATE.kube.reads == ["m-earlier"]  # not before its time
    assert tick(6) == at(16)  # failed again: 10 s
    assert tick(16) == at(60) and writes[-1]["lastRun"]["name"] == "m-earlier"  # recorded; back to the schedule
    assert metrics.REGISTRY.get_sample_value("modelmonitor_reconcile_errors_total", errors) == before + 2
    assert STATE.recording.retry_at(("ns", "m")) is None


def test_a_slot_run_leaves_the_next_slot_for_its_record_to_write(scheduled: Any) -> None:
    from modelmonitor.controller.runtime import STATE

    show, tick, created, writes = scheduled
    show("2026-11-23T12:00:00Z")
    assert tick(1) == at(60)
    assert created == ["m-20261123120000"] and writes == []
    assert STATE.next_runs[("ns", "m")].at == "2026-11-23T12:01:00Z"
    show("2026-11-23T12:01:00Z")  # the record carried it
    assert tick(61) == at(120)
    assert created[-1] == "m-20261123120100" and writes == []


def test_when_the_last_slots_run_never_finished_the_next_slot_is_written_at_once(scheduled: Any) -> None:
    show, tick, created, writes = scheduled
    show("2026-11-23T12:00:00Z")
    tick(1)
    tick(61)  # the status still shows 12:00: nothing recorded the 12:00 run
    assert created == ["m-20261123120000", "m-20261123120100"]
    assert writes == [{"nextRunAt": "2026-11-23T12:02:00Z"}]


def test_a_next_slot_no_record_carried_is_written_after_a_while(scheduled: Any) -> None:
    show, tick, created, writes = scheduled
    show("2026-11-23T12:00:00Z", interval="1h")
    assert tick(1) == at(1) + BACKSTOP  # the status shows 12:00, the scheduler knows 13:00
    tick(20)
    assert writes == []
    tick(31)  # the backstop's look, say, with the run still going
    assert writes == [{"nextRunAt": "2026-11-23T13:00:00Z"}] and created == ["m-20261123120000"]


def test_a_next_slot_of_an_older_generation_is_not_shown() -> None:
    from modelmonitor.controller.scheduling import NextRun

    known = NextRun(3, "2026-11-23T12:01:00Z", T0)
    assert known.ahead_of("2026-11-23T12:00:00Z", 3) and known.ahead_of(None, 3)
    assert not known.ahead_of("2026-11-23T12:00:00Z", 4)  # the spec changed: accepting it writes its own
    assert not known.ahead_of("2026-11-23T12:01:00Z", 3)
    assert not known.overdue("2026-11-23T12:00:00Z", 3, at(29)) and known.overdue("2026-11-23T12:00:00Z", 3, at(30))


def test_recording_a_run_writes_the_next_slot_the_status_does_not_show_yet(
    scheduled: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelmonitor.controller import runs
    from modelmonitor.controller.runtime import STATE

    show, tick, _, writes = scheduled
    monkeypatch.setattr(runs, "condition_event", lambda body, condition: None)
    monkeypatch.setattr(runs.kopf, "warn", lambda body, **_: None)
    show("2026-11-23T12:00:00Z")
    tick(1)
    monitor = STATE.monitors[("ns", "m")]
    run = {
        "metadata": {"name": "m-20261123120000", "creationTimestamp": "2026-11-23T12:00:01Z"},
        "spec": {"monitor": "m", "runner": "inline"},
        "status": {
            "phase": "Error",
            "reason": "SourceError",
            "message": "no such file",
            "startedAt": "2026-11-23T12:00:01Z",
            "completedAt": "2026-11-23T12:00:02.000000Z",
        },
    }
    asyncio.run(runs._record(monitor, run, []))
    assert (
        writes[-1]["nextRunAt"] == "2026-11-23T12:01:00Z" and writes[-1]["lastRun"]["name"] == run["metadata"]["name"]
    )
    show("2026-11-23T12:01:00Z")
    asyncio.run(runs._record(STATE.monitors[("ns", "m")], {**run, "metadata": {**run["metadata"], "name": "m-x"}}, []))
    assert len(writes) == 2 and "nextRunAt" not in writes[-1]  # shown already
