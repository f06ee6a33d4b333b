"""The scheduler: the latest of each watched monitor, and a tick for each when it falls due.

A tick records a finished run whose Event was missed, reconciles retraining, and creates the
run of a slot that fell due. With sharding, a replica ticks only the monitors it owns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import kopf
from kubernetes.client.rest import ApiException

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.controller import metrics, retraining, runs
from modelmonitor.controller.config import TICK_SECONDS
from modelmonitor.controller.monitors.acceptance import export_schedule, reexport, slot_offset_of
from modelmonitor.controller.monitors.run_creation import create_run
from modelmonitor.controller.naming import SHARD_OWNER_ANNOTATION, slot_run_name
from modelmonitor.controller.runtime import KOPF_PREFIX, MM, STATE, accept, api, monitor_lock, now
from modelmonitor.controller.scheduling import NextRun, latest_slot, next_slot
from modelmonitor.controller.sharding import moved
from modelmonitor.controller.wakeups import Scheduler
from modelmonitor.errors import SpecError
from modelmonitor.times import iso, parse_iso

_log = logging.getLogger(__name__)

Key = tuple[str, str]  # namespace, name
BACKSTOP = timedelta(seconds=max(60.0, TICK_SECONDS))  # a finished run whose Event was missed is recorded by then
RETICK = timedelta(seconds=1)


@kopf.on.startup()
async def start_scheduler(**_: Any) -> None:
    STATE.monitors = {}
    STATE.next_runs = {}
    STATE.scheduler = Scheduler(tick, clock=now, retry=timedelta(seconds=TICK_SECONDS))
    STATE.scheduler_task = None


@kopf.on.cleanup()
async def stop_scheduler(**_: Any) -> None:
    if STATE.scheduler_task is not None:
        STATE.scheduler_task.cancel()


@kopf.on.startup()
async def join_shard(**_: Any) -> None:
    if STATE.shard.sharded:
        STATE.membership_task = asyncio.create_task(STATE.shard.run(STATE.kube, now, shares_changed))


@kopf.on.cleanup()
async def leave_shard(**_: Any) -> None:
    if STATE.shard.sharded:
        STATE.membership_task.cancel()
        await api(STATE.shard.leave, STATE.kube)


async def shares_changed(before: list[str], after: list[str]) -> None:
    """Let go of the monitors another replica owns now; take up the ones this replica gained."""
    keys = {f"{namespace}/{name}": (namespace, name) for namespace, name in STATE.monitors}
    gained, lost = moved(keys, STATE.shard.identity, before, after)
    for key in lost:
        metrics.forget_monitor(*keys[key])  # its owner exports them now
        STATE.next_runs.pop(keys[key], None)  # its owner schedules it now
    for key in gained:
        namespace, name = keys[key]
        STATE.scheduler.wake_at((namespace, name), now())
        try:
            # a watch event: kopf looks at the monitor again, now as its owner (a change left unhandled)
            await api(STATE.kube.annotate_monitor, namespace, name, {SHARD_OWNER_ANNOTATION: STATE.shard.identity})
        except ApiException as error:
            if error.status == 404:
                continue
            raise
        if (monitor := STATE.monitors.get((namespace, name))) is not None:
            await _take_up(monitor)
        await runs.adopt_runs(namespace, name)
    if gained or lost:
        _log.info("shard: took up %d monitors, let go of %d", len(gained), len(lost))


async def _take_up(monitor: dict[str, Any]) -> None:
    """Export a gained monitor's schedule and last results, as accept_spec does on a restart."""
    status = monitor.get("status") or {}
    if (parsed := _parsed_or_none(monitor)) is not None:
        export_schedule(monitor["metadata"], status, parsed, now())
    if last := (status.get("lastRun") or {}).get("name"):
        await reexport(monitor, last)


@kopf.on.event(*MM)
async def track_monitor(body: kopf.Body, type: str | None, runs_by_monitor: kopf.Index, **_: Any) -> None:
    """The latest of each monitor, and when the scheduler next looks at it."""
    STATE.runs_index = runs_by_monitor  # a live view: the scheduler's ticks read it
    if STATE.scheduler_task is None:
        # started from a resource handler, whose context the ticks inherit: kopf.event() needs it
        STATE.scheduler_task = asyncio.create_task(STATE.scheduler.run())
    key = (body["metadata"]["namespace"], body["metadata"]["name"])
    if type == "DELETED" or body["metadata"].get("deletionTimestamp"):  # no new runs while its runs are deleted
        STATE.monitors.pop(key, None)
        STATE.next_runs.pop(key, None)
        STATE.specs.forget(body["metadata"]["uid"])
        STATE.scheduler.wake_at(key, None)
        metrics.forget_monitor(*key)  # here, not in an on.delete handler: with no finalizer it may never be called
        return
    monitor = kept_of(body)
    first_seen = key not in STATE.monitors  # its first tick records a run finished before it was seen
    STATE.monitors[key] = monitor
    if first_seen:
        STATE.scheduler.wake_at(key, now())
    else:
        scheduled = {**monitor, "status": _as_scheduled(key, monitor)}
        STATE.scheduler.wake_at(key, next_wake(_parsed_or_none(monitor), scheduled, now()))


def kept_of(body: Mapping[str, Any]) -> dict[str, Any]:
    """What the scheduler keeps of a monitor between its watch events.

    Not its managedFields nor kopf's annotations (kopf's copy of the last spec it handled):
    about half of a monitor, read by nothing here.
    """
    metadata = {key: value for key, value in body["metadata"].items() if key != "managedFields"}
    if "annotations" in metadata:
        metadata["annotations"] = {
            key: value for key, value in metadata["annotations"].items() if not key.startswith(f"{KOPF_PREFIX}/")
        }
    return {**body, "metadata": metadata}


def _as_scheduled(key: Key, monitor: dict[str, Any]) -> dict[str, Any]:
    """A copy of the monitor's status, with the next slot the scheduler knows of though the status may not show it."""
    status = dict(monitor.get("status") or {})
    known = STATE.next_runs.get(key)
    if known is not None and known.ahead_of(status.get("nextRunAt"), monitor["metadata"]["generation"]):
        status["nextRunAt"] = known.at
    return status


def _parsed_or_none(monitor: Mapping[str, Any]) -> ModelMonitorSpec | None:
    try:
        return accept(monitor)
    except SpecError:
        return None


def next_wake(parsed: ModelMonitorSpec | None, monitor: dict[str, Any], moment: datetime) -> datetime:
    """When the scheduler should next look at a monitor: its next slot, its retraining's, or the backstop."""
    status = monitor.get("status") or {}
    retraining = status.get("retraining") or {}
    wakes = [moment + BACKSTOP]
    if retraining.get("active"):
        wakes.append(moment + timedelta(seconds=TICK_SECONDS))  # outcomes of kinds that are not watched
    if parsed is not None and not parsed.suspend:
        if parsed.retrain is not None and parsed.retrain.schedule is not None:
            scheduled = retraining.get("nextScheduledAt")
            wakes.append(parse_iso(scheduled) if scheduled else moment)
        if status.get("observedGeneration") == monitor["metadata"]["generation"]:
            due = status.get("nextRunAt")
            wakes.append(parse_iso(due) if due else moment)
    return min(wakes)


async def tick(key: Key) -> datetime | None:
    """Record a missed finished run, reconcile retraining, and create the run of a slot that fell due."""
    monitor = STATE.monitors.get(key)
    if monitor is None or not STATE.shard.owns(*key):
        return None  # another replica's, until the members change (shares_changed wakes it then)
    namespace, name = key
    meta = monitor["metadata"]
    generation = meta["generation"]
    shown, known = (monitor.get("status") or {}).get("nextRunAt"), STATE.next_runs.get(key)
    status = _as_scheduled(key, monitor)
    retry_recording = await runs.record_missed(namespace, name, status, STATE.runs_index, now())
    parsed = _parsed_or_none(monitor)
    if parsed is None:
        return _sooner(next_wake(None, monitor, now()), retry_recording)
    await retraining.reconcile(monitor, parsed, status)
    if not parsed.suspend and status.get("observedGeneration") == generation:
        moment, due = now(), status.get("nextRunAt")
        offset = slot_offset_of(parsed, meta)
        if not due:
            upcoming = NextRun(generation, iso(next_slot(parsed.schedule, moment, offset)), moment)
            await _show_next_run(key, upcoming)
            status["nextRunAt"] = upcoming.at
        elif moment >= parse_iso(due):
            slot = latest_slot(parsed.schedule, moment, offset)  # missed slots are not caught up: the latest runs
            await create_run(monitor, parsed, slot_run_name(name, slot), "schedule", slot)
            upcoming = NextRun(generation, iso(next_slot(parsed.schedule, slot, offset)), moment)
            if known is not None and known.ahead_of(shown, generation):
                await _show_next_run(key, upcoming)  # the last slot's was never shown: its run has not finished
            else:
                STATE.next_runs[key] = upcoming  # recording the run writes it (see NextRun)
            status["nextRunAt"] = upcoming.at
        elif known is not None and known.overdue(shown, generation, moment):
            await _show_next_run(key, known)
    moment = now()
    # what the tick wrote (a retraining's next time) arrives with the watch: until then, wait a little
    return _sooner(max(next_wake(parsed, {**monitor, "status": status}, moment), moment + RETICK), retry_recording)


def _sooner(wake: datetime, retry_recording: datetime | None) -> datetime:
    """The tick's next wake, brought forward to when a failed recording is to be tried again."""
    return wake if retry_recording is None else min(wake, retry_recording)


async def _show_next_run(key: Key, upcoming: NextRun) -> None:
    async with monitor_lock(*key):  # not overtaken by an older nextRunAt that recording a run carries
        await api(STATE.kube.patch_monitor_status, *key, {"nextRunAt": upcoming.at})
    STATE.next_runs[key] = upcoming
