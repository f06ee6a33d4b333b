"""ModelMonitor handlers: accept the spec (Ready), and create runs on spec changes, schedule slots and run-now."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import kopf
from kubernetes.client.rest import ApiException

from modelmonitor.api.documents import DocumentError
from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.controller import metrics, retraining, runs
from modelmonitor.controller.conditions import READY, Condition, merge
from modelmonitor.controller.config import TICK_SECONDS
from modelmonitor.controller.naming import (
    GROUP,
    MONITOR_LABEL,
    RUN_NOW_ANNOTATION,
    SHARD_OWNER_ANNOTATION,
    VERSION,
    run_now_name,
    slot_run_name,
    spec_change_run_name,
)
from modelmonitor.controller.records import run_results
from modelmonitor.controller.runners.registry import choose_runner
from modelmonitor.controller.runtime import (
    KOPF_PREFIX,
    MM,
    MR,
    STATE,
    accept,
    api,
    condition_event,
    monitor_lock,
    now,
    owner,
    owns_monitor,
)
from modelmonitor.controller.scheduling import NextRun, latest_slot, longest_gap, next_slot, slot_offset
from modelmonitor.controller.sharding import moved
from modelmonitor.controller.wakeups import Scheduler
from modelmonitor.errors import SpecError
from modelmonitor.times import iso, parse_iso

_log = logging.getLogger(__name__)


@kopf.on.resume(*MM, backoff=5, when=owns_monitor)
@kopf.on.create(*MM, backoff=5, when=owns_monitor)
@kopf.on.update(*MM, field="spec", backoff=5, when=owns_monitor)
async def accept_spec(
    body: kopf.Body, spec: kopf.Spec, meta: kopf.Meta, status: kopf.Status, patch: kopf.Patch, reason: str, **_: Any
) -> None:
    generation, moment = meta["generation"], now()
    if STATE.shard.sharded and (meta.get("annotations") or {}).get(SHARD_OWNER_ANNOTATION) != STATE.shard.identity:
        patch.metadata.setdefault("annotations", {})[SHARD_OWNER_ANNOTATION] = STATE.shard.identity
    parsed: ModelMonitorSpec | None = None
    try:
        parsed = accept(body)
    except SpecError as error:
        ready, upcoming = Condition(READY, "False", "InvalidSpec", str(error)), None
        metrics.forget_schedule(meta["namespace"], meta["name"])
    else:
        _export_schedule(meta, status, parsed, moment)
        if parsed.suspend:
            ready, upcoming = Condition(READY, "False", "Suspended", "spec.suspend is true: no new runs"), None
        else:
            upcoming = iso(next_slot(parsed.schedule, moment, _offset(parsed, meta)))
            ready = Condition(READY, "True", "Scheduled", f"runs on {_describe(parsed)}; next at {upcoming}")
    changed = await _write_acceptance(meta["namespace"], meta["name"], ready, upcoming, generation, moment)
    if changed is None:
        return  # deleted meanwhile
    for condition in changed:
        condition_event(body, condition)
    last = status.get("lastRun") or {}
    if parsed is not None and not parsed.suspend and last.get("generation") != generation:
        # after the status is written: kopf's own patch, applied when the handler returns, could
        # land after this run was recorded and put back the conditions it read before it
        await create_run(body, parsed, spec_change_run_name(meta["name"], generation), "specChange", moment)
    if reason == "resume" and (last_name := last.get("name")):
        await _reexport(body, last_name)


async def _write_acceptance(
    namespace: str, name: str, ready: Condition, upcoming: str | None, generation: int, moment: datetime
) -> list[Condition] | None:
    """Write the Ready condition, the observed generation and the next slot; the conditions that changed.

    Merged into the conditions as they are now, not as the handler's event showed them: a run
    recorded since then wrote the outcome conditions.
    """
    async with monitor_lock(namespace, name):
        current = await api(STATE.kube.get_monitor, namespace, name)
        if current is None:
            return None
        previous = list((current.get("status") or {}).get("conditions") or [])
        conditions, changed = merge(previous, [ready], generation=generation, now=iso(moment))
        # a null nextRunAt on purpose: a suspended monitor has no next run, and the merge patch deletes the old one
        written = {"conditions": conditions, "observedGeneration": generation, "nextRunAt": upcoming}
        await api(STATE.kube.patch_monitor_status, namespace, name, written)
    return changed


def _export_schedule(
    meta: Mapping[str, Any], status: Mapping[str, Any], spec: ModelMonitorSpec, moment: datetime
) -> None:
    last_success = status.get("lastSuccessfulRunAt")
    last_run = status.get("lastRun") or {}
    last_retraining = ((status.get("retraining") or {}).get("last")) or {}
    metrics.export_schedule(
        meta["namespace"],
        meta["name"],
        spec.model.name,
        interval_seconds=None if spec.suspend else longest_gap(spec.schedule, moment).total_seconds(),
        created_at=parse_iso(meta["creationTimestamp"]).timestamp(),
        last_success_at=parse_iso(last_success).timestamp() if last_success else None,
        last_run_errored=last_run["phase"] == "Error" if last_run.get("phase") in ("Succeeded", "Error") else None,
        last_retraining_failed=last_retraining["outcome"] != "Succeeded" if last_retraining.get("outcome") else None,
        retrains=spec.retrain is not None,
    )


def _offset(spec: ModelMonitorSpec, meta: Any) -> timedelta:
    return slot_offset(spec.schedule, meta["namespace"], meta["name"])


def _describe(spec: ModelMonitorSpec) -> str:
    return f"interval {spec.schedule.interval}" if spec.schedule.interval else f"cron '{spec.schedule.cron}'"


async def _reexport(body: Mapping[str, Any], run_name: str) -> None:
    """After a restart, the metrics endpoint shows the last results again."""
    run = await api(STATE.kube.get_run, body["metadata"]["namespace"], run_name)
    try:
        results = run_results(run) if run is not None else None
    except DocumentError:
        return  # recording it said why; the next run's results are exported
    if results is not None:
        metrics.export_results(
            body["metadata"]["namespace"], body["metadata"]["name"], body["spec"]["model"]["name"], results
        )


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
        _export_schedule(monitor["metadata"], status, parsed, now())
    if last := (status.get("lastRun") or {}).get("name"):
        await _reexport(monitor, last)


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
        offset = _offset(parsed, meta)
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


@kopf.on.create(*MM, annotations={RUN_NOW_ANNOTATION: kopf.PRESENT}, backoff=5, when=owns_monitor)
@kopf.on.update(*MM, annotations={RUN_NOW_ANNOTATION: kopf.PRESENT}, backoff=5, when=owns_monitor)
async def run_now(body: kopf.Body, spec: kopf.Spec, meta: kopf.Meta, patch: kopf.Patch, **_: Any) -> None:
    request = meta["annotations"][RUN_NOW_ANNOTATION]
    try:
        parsed = accept(body)
    except SpecError as error:
        kopf.warn(body, reason="RunNowIgnored", message=f"the spec is invalid: {error}")
    else:
        if parsed.suspend:
            kopf.warn(body, reason="RunNowIgnored", message="the monitor is suspended")
        else:
            await create_run(body, parsed, run_now_name(meta["name"], meta["uid"], request), "runNow", now())
    patch.metadata.setdefault("annotations", {})[RUN_NOW_ANNOTATION] = None


async def create_run(body: kopf.Body, spec: ModelMonitorSpec, name: str, trigger: str, evaluate_at: datetime) -> None:
    namespace, monitor = body["metadata"]["namespace"], body["metadata"]["name"]
    run = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "MonitorRun",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {MONITOR_LABEL: monitor},
            "ownerReferences": [owner(body)],
        },
        "spec": {
            "monitor": monitor,
            "trigger": trigger,
            "evaluateAt": iso(evaluate_at),
            "runner": await choose_runner(spec, namespace),
            "generation": body["metadata"]["generation"],
        },
    }
    if await api(STATE.kube.create_run, namespace, run):
        kopf.info(body, reason="RunCreated", message=f"MonitorRun {name} ({trigger}, {run['spec']['runner']} runner)")


@kopf.index(*MR)
def runs_by_monitor(
    namespace: str, name: str, spec: kopf.Spec, status: kopf.Status, meta: kopf.Meta, **_: Any
) -> dict[tuple[str, str], dict[str, Any]]:
    """Each monitor's runs, as the watch last saw them: what the schedule timer reconciles."""
    return {
        (namespace, spec["monitor"]): {
            "metadata": {"name": name, "creationTimestamp": meta.get("creationTimestamp")},
            "status": {"phase": status.get("phase"), "completedAt": status.get("completedAt")},
        }
    }
