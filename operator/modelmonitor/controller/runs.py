"""MonitorRun handlers: execute a run by its runner (``runners``), record finished ones on the monitor."""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import datetime
from typing import Any

import kopf
from kubernetes.client.rest import ApiException

from modelmonitor.api.documents import DocumentError
from modelmonitor.api.results import Results
from modelmonitor.controller import metrics, retraining
from modelmonitor.controller.conditions import RETRAINING, merge, outcome_conditions
from modelmonitor.controller.exports import export_to_mlflow, export_to_tensorboard
from modelmonitor.controller.kube import api_message
from modelmonitor.controller.records import (
    is_newer,
    is_unrecorded,
    last_run_summary,
    replacing,
    run_order,
    run_results,
    runs_to_prune,
)
from modelmonitor.controller.runners.base import Execution
from modelmonitor.controller.runners.evaluation import TERMINAL_PHASES, error_status
from modelmonitor.controller.runners.registry import runner_for
from modelmonitor.controller.runtime import (
    MR,
    STATE,
    accept,
    api,
    condition_event,
    credentials,
    monitor_lock,
    now,
)
from modelmonitor.errors import SpecError
from modelmonitor.times import iso, parse_iso

_log = logging.getLogger(__name__)


_RETRY_DELAYS = (5.0, 10.0, 20.0, 40.0)  # seconds, then every minute: kopf's own backoff was 5 s, forever


def take_for_execution(run: dict[str, Any]) -> bool:
    """Whether this watch event should start executing ``run``: not finished, not in hand, not done by us.

    Execution follows the watch, not kopf's create and resume handlers: those stored a
    copy of each run's spec in an annotation (one more patch and watch event per run)
    and deep-copied the whole run, results and all, on every event to diff it (a third
    of a busy operator's CPU). An unfinished run in the watch's first listing after a
    restart is executed again, as kopf's resume did. A run this process has finished
    stays taken: the watch may still bring events older than its final status.
    """
    uid = run["metadata"]["uid"]
    if (run.get("status") or {}).get("phase") in TERMINAL_PHASES or uid in STATE.executing or uid in STATE.executed:
        return False
    STATE.executing.add(uid)
    return True


async def execute_until_done(run: dict[str, Any]) -> None:
    """Execute a run; after a failure (the API server down, say) try again, less often, until it is done or gone."""
    meta = run["metadata"]
    try:
        for attempt in itertools.count():
            try:
                await execute_run(run)
            except ApiException as error:
                if error.status == 404:
                    return  # the run was deleted
                if error.status == 403 and await _end_forbidden(run, error):
                    STATE.executed.add(meta["uid"])
                    return
                failure: Exception = error
            except Exception as error:
                failure = error
            else:
                STATE.executed.add(meta["uid"])
                return
            delay = _RETRY_DELAYS[attempt] if attempt < len(_RETRY_DELAYS) else 60.0
            _log.error("executing %s/%s failed (%s); again in %.0f s", meta["namespace"], meta["name"], failure, delay)
            await asyncio.sleep(delay)
    finally:
        STATE.executing.discard(meta["uid"])


async def _end_forbidden(run: dict[str, Any], refusal: ApiException) -> bool:
    """End a run the operator lacks a permission for as an Error that says which (True if that could be written).

    Retrying would leave it Pending for good, and a missing permission is not given back by waiting.
    """
    namespace, name = run["metadata"]["namespace"], run["metadata"]["name"]
    message = f"the operator lacks a permission (see its Role): {api_message(refusal)}"
    _log.error("run %s/%s: %s", namespace, name, message)
    started = (run.get("status") or {}).get("startedAt")
    try:
        await api(STATE.kube.patch_run_status, namespace, name, error_status("Forbidden", message, started_at=started))
    except ApiException:
        return False
    return True


def _start_execution(run: dict[str, Any]) -> None:
    task = asyncio.create_task(execute_until_done(run))  # not awaited: the run's later events must not wait
    STATE.run_tasks.add(task)
    task.add_done_callback(STATE.run_tasks.discard)


async def adopt_runs(namespace: str, monitor: str) -> None:
    """Execute the unfinished runs of a monitor this replica has just taken over (its owner died mid-run)."""
    index = getattr(STATE, "runs_index", None) or {}
    for entry in list(index.get((namespace, monitor), [])):
        if entry["status"]["phase"] in TERMINAL_PHASES:
            continue
        run = await api(STATE.kube.get_run, namespace, entry["metadata"]["name"])
        if run is not None and take_for_execution(run):
            _start_execution(run)


async def execute_run(run: dict[str, Any]) -> None:
    namespace, name, spec = run["metadata"]["namespace"], run["metadata"]["name"], run["spec"]
    monitor = STATE.monitors.get((namespace, spec["monitor"]))
    if monitor is None or monitor["metadata"]["generation"] < spec.get("generation", 0):
        monitor = await api(STATE.kube.get_monitor, namespace, spec["monitor"])  # not seen yet, or older than the run
    if monitor is None:
        return  # the monitor is gone; garbage collection removes this run
    try:
        parsed = accept(monitor)
        env = await credentials(parsed, namespace)
        runner = runner_for(spec.get("runner") or "inline")
    except SpecError as error:
        await api(STATE.kube.patch_run_status, namespace, name, error_status("InvalidSpec", str(error)))
        return
    await runner.start(Execution(run, monitor, parsed, env))


# --- recording finished runs --------------------------------------------------------------


async def record_missed(
    namespace: str, monitor: str, status: kopf.Status, runs: kopf.Index, moment: datetime
) -> datetime | None:
    """Level-triggered backstop: record the newest finished run if its event was missed.

    Returns when a recording that failed is to be tried again (None: none is failing).
    """
    key = (namespace, monitor)
    finished = [run for run in runs.get(key, []) if (run.get("status") or {}).get("phase") in TERMINAL_PHASES]
    newest = max(finished, key=run_order, default=None)
    if newest is None or not is_newer(newest, status.get("lastRun")):
        STATE.recording.succeeded(key)
        return None
    if STATE.recording.ready(key, moment):
        run = await api(STATE.kube.get_run, namespace, newest["metadata"]["name"])
        if run is not None:
            await _record_locked(namespace, monitor, run, runs, moment)
    return STATE.recording.retry_at(key)


async def _record_locked(
    namespace: str, monitor_name: str, run: dict[str, Any], runs: kopf.Index, moment: datetime | None = None
) -> None:
    """Record a run; a failure is counted, told in an Event and tried again later (see ``record_missed``).

    It never raises: a run that cannot be recorded must not stop the monitor's schedule.
    """
    key = (namespace, monitor_name)
    try:
        async with monitor_lock(namespace, monitor_name):
            monitor = await api(STATE.kube.get_monitor, namespace, monitor_name)
            if monitor is not None and not monitor["metadata"].get("deletionTimestamp"):  # its series are gone for good
                await _record(monitor, run, list(runs.get(key, [])))
    except asyncio.CancelledError:
        raise
    except Exception as error:
        retry = STATE.recording.failed(key, moment or now())
        metrics.count_reconcile_error(namespace, monitor_name, "record")
        told = f"{run['metadata']['name']}: {type(error).__name__}: {error}"[:900]
        _log.error("recording %s/%s failed (%s); again at %s", namespace, monitor_name, told, iso(retry))
        if (monitor_body := STATE.monitors.get(key)) is not None:
            kopf.warn(monitor_body, reason="RecordFailed", message=f"{told}; again at {iso(retry)}")
    else:
        STATE.recording.succeeded(key)


@kopf.on.event(*MR)
async def run_changed(body: kopf.Body, namespace: str, type: str | None, runs_by_monitor: kopf.Index, **_: Any) -> None:
    """Execute a run that is not finished (see ``take_for_execution``); record one that is."""
    if type == "DELETED":
        STATE.executed.discard(body["metadata"]["uid"])
        return
    run = dict(body)
    if not STATE.shard.owns(namespace, run["spec"]["monitor"]):
        return
    if take_for_execution(run):
        _start_execution(run)
    elif (run.get("status") or {}).get("phase") in TERMINAL_PHASES and _maybe_unrecorded(namespace, run):
        await _record_locked(namespace, run["spec"]["monitor"], run, runs_by_monitor)


def _maybe_unrecorded(namespace: str, run: dict[str, Any]) -> bool:
    """Whether the run may be newer than its monitor's lastRun, as the monitor's watch last showed it.

    Recording reads the monitor first, so this spares that read for the runs a relist
    brings back (thousands after a restart, each finished and recorded long ago). A
    monitor the watch has not shown yet is left to its first tick, which records what
    was missed (``record_missed``): track_monitor wakes a monitor at once when first seen.
    """
    monitor = STATE.monitors.get((namespace, run["spec"]["monitor"]))
    if monitor is None:
        return False
    return is_unrecorded(run, (monitor.get("status") or {}).get("lastRun"))


async def _record(monitor: dict[str, Any], run: dict[str, Any], known_runs: list[dict[str, Any]]) -> None:
    """Record a finished run on its monitor; ``known_runs`` (the watch's index: names, times, phases) to prune."""
    namespace, name = monitor["metadata"]["namespace"], monitor["metadata"]["name"]
    status = monitor.get("status") or {}
    if not is_unrecorded(run, status.get("lastRun")):
        return  # recorded already (a replayed event, or a restart), or an older run finished late
    run_status = run["status"]
    phase, message = run_status.get("phase", "Error"), run_status.get("message", "")
    try:
        results = run_results(run)
    except DocumentError as error:  # recorded with what is known: the run, and why its results are not
        results, message = None, f"the run's results cannot be read: {error}"
    generation = monitor["metadata"]["generation"]
    updates = outcome_conditions(phase, results, message)
    summary = last_run_summary(run, generation, results)
    # before the status patch: a crash in between replays this run, and the retraining's
    # deterministic name makes the replay adopt the object instead of starting another
    step = await retraining.on_run_recorded(monitor, summary, updates)
    conditions, changed = merge(
        list(status.get("conditions") or []), updates + step.conditions, generation=generation, now=iso(now())
    )
    if results is not None:  # first, so the endpoint never lags behind what the status shows
        _export(monitor, results)
        await export_to_tensorboard(monitor, run["metadata"]["name"], results)
        await export_to_mlflow(monitor, run["metadata"]["name"], results)
    completed = run_status.get("completedAt")
    succeeded = {"lastSuccessfulRunAt": completed} if phase == "Succeeded" and completed else {}
    known = STATE.next_runs.get((namespace, name))
    next_run = {"nextRunAt": known.at} if known and known.ahead_of(status.get("nextRunAt"), generation) else {}
    last_run = replacing(status.get("lastRun"), summary)
    await api(
        STATE.kube.patch_monitor_status,
        namespace,
        name,
        {"lastRun": last_run, "conditions": conditions, **succeeded, **next_run, **step.status},
    )
    _log.info("recorded %s for %s/%s: %s %s", run["metadata"]["name"], namespace, name, phase, summary["verdict"])
    for condition in changed:
        if condition.type != RETRAINING:  # retraining posts Events of its own, with its own reasons
            condition_event(monitor, condition)
    step.announce(monitor)
    if phase != "Succeeded" or results is None:
        kopf.warn(
            monitor,
            reason="RunError",
            message=f"{run['metadata']['name']}: {run_status.get('reason', phase)}: {message}"[:1000],
        )
    result = "error" if phase != "Succeeded" or results is None else "healthy" if results.healthy else "unhealthy"
    metrics.count_run(
        namespace,
        name,
        result=result,
        runner=run["spec"].get("runner", ""),
        seconds=_duration(run_status),
        finished_at=parse_iso(completed).timestamp() if completed else None,
    )
    try:
        spec = accept(monitor)
    except SpecError:
        return  # history is pruned once the spec is valid again
    # from the index, not a list call: listing every run with its results after each record
    # took a twelfth of a busy operator's CPU; a run the index has not seen finish is pruned next time
    for doomed in runs_to_prune(
        known_runs,
        keep_succeeded=spec.successful_runs_history_limit,
        keep_failed=spec.failed_runs_history_limit,
        protect=run["metadata"]["name"],
    ):
        await api(STATE.kube.delete_run, namespace, doomed)


def _export(monitor: dict[str, Any], results: Results) -> None:
    """Export a run's results; a failure is counted and told, and recording goes on without them."""
    namespace, name = monitor["metadata"]["namespace"], monitor["metadata"]["name"]
    try:
        metrics.export_results(namespace, name, monitor["spec"]["model"]["name"], results)
    except Exception as error:
        metrics.count_reconcile_error(namespace, name, "export")
        told = f"{type(error).__name__}: {error}"[:900]
        _log.error("exporting the results of %s/%s failed: %s", namespace, name, told)
        kopf.warn(monitor, reason="ExportFailed", message=told)


def _duration(status: dict[str, Any]) -> float | None:
    if status.get("durationSeconds") is not None:
        return float(status["durationSeconds"])
    if status.get("startedAt") and status.get("completedAt"):
        return (parse_iso(status["completedAt"]) - parse_iso(status["startedAt"])).total_seconds()
    return None
