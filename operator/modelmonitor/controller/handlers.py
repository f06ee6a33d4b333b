"""The kopf handlers.  Each loads what it needs, decides with the pure modules, persists.

ModelMonitor: accept the spec (Ready), create runs on spec changes, on schedule slots and
on the run-now annotation.  MonitorRun: execute inline, or through a Job whose outcome is
judged strictly.  A finished run updates its monitor's status, Events and metrics.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import kopf

from modelmonitor.checks import data_bytes
from modelmonitor.controller import metrics
from modelmonitor.controller.conditions import EVENT_REASONS, READY, Condition, merge, outcome_conditions
from modelmonitor.controller.config import CONFIG, TICK_SECONDS
from modelmonitor.controller.execution import TERMINAL_PHASES, error_status, evaluate
from modelmonitor.controller.jobs import job_manifest, judge_job, judge_pod
from modelmonitor.controller.kube import Kube, load_config
from modelmonitor.controller.naming import (
    GROUP,
    MONITOR_LABEL,
    MONITORS,
    RUN_LABEL,
    RUN_NOW_ANNOTATION,
    RUNS,
    VERSION,
    run_now_name,
    runner_account_name,
    slot_run_name,
    spec_change_run_name,
)
from modelmonitor.controller.records import is_newer, last_run_summary, run_order, runs_to_prune
from modelmonitor.controller.scheduling import iso, latest_slot, next_slot, parse_iso
from modelmonitor.controller.server import ProbeServer
from modelmonitor.errors import ModelMonitorError, SpecError
from modelmonitor.spec import ModelMonitorSpec, Runner, parse_spec

KOPF_PREFIX = f"kopf.{GROUP}"
MM = (GROUP, VERSION, MONITORS)
MR = (GROUP, VERSION, RUNS)
T = TypeVar("T")
_log = logging.getLogger(__name__)


class _State:
    kube: Kube
    server: ProbeServer
    inline_slots: asyncio.Semaphore
    monitor_locks: dict[tuple[str, str], asyncio.Lock]


STATE = _State()


async def api(call: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(call, *args)


def _now() -> datetime:
    return datetime.now(UTC)


def _owner(body: kopf.Body | dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "name": body["metadata"]["name"],
        "uid": body["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _event(body: Any, condition: Condition) -> None:
    kind, reason = EVENT_REASONS.get((condition.type, condition.status), ("Normal", condition.type))
    kopf.event(
        body, type=kind, reason=reason, message=f"{condition.type}={condition.status}: {condition.message}"[:1000]
    )


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    # kopf ignores changes to annotations under its own prefix, so it must not be ours:
    # a user's modelmonitor.io/run-now has to count as a change
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=KOPF_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=KOPF_PREFIX, key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING  # our own Events say what happened; kopf's only on errors
    settings.networking.error_backoffs = [1, 2, 5, 10, 20]
    STATE.kube = Kube(await api(load_config))
    STATE.inline_slots = asyncio.Semaphore(CONFIG.inline_concurrency)
    STATE.monitor_locks = {}
    STATE.server = ProbeServer(CONFIG.port)
    await STATE.server.start()
    STATE.server.ready.set()


@kopf.on.cleanup()
async def cleanup(**_: Any) -> None:
    await STATE.server.stop()


def _accept(spec: Any) -> ModelMonitorSpec:
    return parse_spec(dict(spec))


# --- ModelMonitor ------------------------------------------------------------------------


@kopf.on.resume(*MM, backoff=5)
@kopf.on.create(*MM, backoff=5)
@kopf.on.update(*MM, field="spec", backoff=5)
async def accept_spec(
    body: kopf.Body, spec: kopf.Spec, meta: kopf.Meta, status: kopf.Status, patch: kopf.Patch, reason: str, **_: Any
) -> None:
    generation, now = meta["generation"], _now()
    previous = list(status.get("conditions") or [])
    try:
        parsed = _accept(spec)
    except SpecError as error:
        ready = Condition(READY, "False", "InvalidSpec", str(error))
        patch.status["nextRunAt"] = None
    else:
        if parsed.suspend:
            ready = Condition(READY, "False", "Suspended", "spec.suspend is true: no new runs")
            patch.status["nextRunAt"] = None
        else:
            upcoming = iso(next_slot(parsed.schedule, now))
            ready = Condition(READY, "True", "Scheduled", f"runs on {_describe(parsed)}; next at {upcoming}")
            patch.status["nextRunAt"] = upcoming
            last = status.get("lastRun") or {}
            if last.get("generation") != generation:
                await _create_run(body, parsed, spec_change_run_name(meta["name"], generation), "specChange", now)
    conditions, changed = merge(previous, [ready], generation=generation, now=iso(now))
    patch.status["conditions"] = conditions
    patch.status["observedGeneration"] = generation
    for condition in changed:
        _event(body, condition)
    if reason == "resume" and (last_name := (status.get("lastRun") or {}).get("name")):
        await _reexport(body, last_name)


def _describe(spec: ModelMonitorSpec) -> str:
    return f"interval {spec.schedule.interval}" if spec.schedule.interval else f"cron '{spec.schedule.cron}'"


async def _reexport(body: kopf.Body, run_name: str) -> None:
    """After a restart, the metrics endpoint shows the last results again."""
    run = await api(STATE.kube.get_run, body["metadata"]["namespace"], run_name)
    results = ((run or {}).get("status") or {}).get("results")
    if results:
        metrics.export_results(
            body["metadata"]["namespace"], body["metadata"]["name"], body["spec"]["model"]["name"], results
        )


@kopf.timer(*MM, interval=TICK_SECONDS, backoff=5)
async def schedule(
    body: kopf.Body,
    spec: kopf.Spec,
    meta: kopf.Meta,
    status: kopf.Status,
    patch: kopf.Patch,
    runs_by_monitor: kopf.Index,
    **_: Any,
) -> None:
    await _record_missed(meta["namespace"], meta["name"], status, runs_by_monitor)
    try:
        parsed = _accept(spec)
    except SpecError:
        return
    if parsed.suspend or status.get("observedGeneration") != meta["generation"]:
        return  # accept_spec has not caught up with this generation yet
    now = _now()
    due = status.get("nextRunAt")
    if not due:
        patch.status["nextRunAt"] = iso(next_slot(parsed.schedule, now))
        return
    if now < parse_iso(due):
        return
    slot = latest_slot(parsed.schedule, now)  # missed slots are not caught up: the latest one runs
    await _create_run(body, parsed, slot_run_name(meta["name"], slot), "schedule", slot)
    patch.status["nextRunAt"] = iso(next_slot(parsed.schedule, slot))


@kopf.on.create(*MM, annotations={RUN_NOW_ANNOTATION: kopf.PRESENT}, backoff=5)
@kopf.on.update(*MM, annotations={RUN_NOW_ANNOTATION: kopf.PRESENT}, backoff=5)
async def run_now(body: kopf.Body, spec: kopf.Spec, meta: kopf.Meta, patch: kopf.Patch, **_: Any) -> None:
    request = meta["annotations"][RUN_NOW_ANNOTATION]
    try:
        parsed = _accept(spec)
    except SpecError as error:
        kopf.warn(body, reason="RunNowIgnored", message=f"the spec is invalid: {error}")
    else:
        if parsed.suspend:
            kopf.warn(body, reason="RunNowIgnored", message="the monitor is suspended")
        else:
            await _create_run(body, parsed, run_now_name(meta["name"], meta["uid"], request), "runNow", _now())
    patch.metadata.setdefault("annotations", {})[RUN_NOW_ANNOTATION] = None


async def _choose_runner(spec: ModelMonitorSpec, namespace: str) -> str:
    if spec.runner is not Runner.AUTO:
        return str(spec.runner)
    try:
        env = await _credentials(spec, namespace)
        size = await api(data_bytes, spec, env)
    except ModelMonitorError:
        return "inline"  # the inline run reports the unreadable data at once
    return "inline" if size is not None and size <= CONFIG.inline_max_bytes else "job"


async def _create_run(body: kopf.Body, spec: ModelMonitorSpec, name: str, trigger: str, evaluate_at: datetime) -> None:
    namespace, monitor = body["metadata"]["namespace"], body["metadata"]["name"]
    run = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "MonitorRun",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {MONITOR_LABEL: monitor},
            "ownerReferences": [_owner(body)],
        },
        "spec": {
            "monitor": monitor,
            "trigger": trigger,
            "evaluateAt": iso(evaluate_at),
            "runner": await _choose_runner(spec, namespace),
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


@kopf.on.delete(*MM, optional=True)
async def forget_metrics(namespace: str, name: str, **_: Any) -> None:
    metrics.forget_monitor(namespace, name)


# --- MonitorRun execution ---------------------------------------------------------------


async def _credentials(spec: ModelMonitorSpec, namespace: str) -> dict[str, str] | None:
    if spec.credentials is None:
        return None
    from kubernetes.client.rest import ApiException

    name = spec.credentials.secret_ref.name
    try:
        return await api(STATE.kube.secret_env, namespace, name)
    except ApiException as error:
        if error.status == 404:
            raise SpecError(f"spec.credentials.secretRef: Secret {name!r} not found in namespace {namespace}") from None
        raise


@kopf.on.resume(*MR, backoff=5)
@kopf.on.create(*MR, backoff=5)
async def execute_run(body: kopf.Body, spec: kopf.Spec, namespace: str, name: str, **_: Any) -> None:
    run = await api(STATE.kube.get_run, namespace, name)
    if run is None or (run.get("status") or {}).get("phase") in TERMINAL_PHASES:
        _log.info("%s/%s has finished already: nothing to execute", namespace, name)
        return
    monitor = await api(STATE.kube.get_monitor, namespace, spec["monitor"])
    if monitor is None:
        return  # the monitor is gone; garbage collection removes this run
    status = run.get("status") or {}
    try:
        parsed = _accept(monitor["spec"])
        env = await _credentials(parsed, namespace)
    except SpecError as error:
        await api(STATE.kube.patch_run_status, namespace, name, error_status("InvalidSpec", str(error)))
        return
    if spec.get("runner") == "job":
        await _start_job(run, monitor, parsed)
        return
    async with STATE.inline_slots:
        size = await api(_size_or_none, parsed, env)
        if size is not None and size > CONFIG.inline_max_bytes:
            message = (
                f"the data is {size / 2**20:.0f} MiB, over the inline limit of "
                f"{CONFIG.inline_max_bytes / 2**20:.0f} MiB: set spec.runner to job"
            )
            await api(STATE.kube.patch_run_status, namespace, name, error_status("InlineDataTooLarge", message))
            return
        started = status.get("startedAt") or iso(_now())
        await api(
            STATE.kube.patch_run_status, namespace, name, {"phase": "Running", "startedAt": started, "runner": "inline"}
        )
        _log.info("evaluating %s/%s inline", namespace, name)
        final = await api(evaluate, spec["monitor"], parsed, dict(spec), env)
    await api(STATE.kube.patch_run_status, namespace, name, final)
    _log.info("evaluated %s/%s: %s", namespace, name, final["phase"])


def _size_or_none(spec: ModelMonitorSpec, env: dict[str, str] | None) -> int | None:
    try:
        return data_bytes(spec, env)
    except ModelMonitorError:
        return None  # the run itself reports unreadable data, naming the file


async def _start_job(run: dict[str, Any], monitor: dict[str, Any], spec: ModelMonitorSpec) -> None:
    namespace, name = run["metadata"]["namespace"], run["metadata"]["name"]
    template = spec.job_template
    account = template.service_account_name if template and template.service_account_name else None
    if account is None:
        account = runner_account_name(monitor["metadata"]["name"])
        await api(STATE.kube.ensure_runner_identity, namespace, monitor["metadata"]["name"], account, _owner(monitor))
    job = job_manifest(
        run=name,
        monitor=monitor["metadata"]["name"],
        namespace=namespace,
        spec=spec,
        image=CONFIG.runner_image,
        command=CONFIG.runner_command,
        service_account=account,
    )
    job["metadata"]["ownerReferences"] = [_owner(run)]
    await api(STATE.kube.create_job, namespace, job)
    started = (run.get("status") or {}).get("startedAt") or iso(_now())
    await api(
        STATE.kube.patch_run_status,
        namespace,
        name,
        {"phase": "Running", "startedAt": started, "runner": "job", "job": name},
    )


async def _end_run_with_error(namespace: str, run_name: str, reason: str, message: str, *, delete_job: bool) -> None:
    run = await api(STATE.kube.get_run, namespace, run_name)
    if run is None or (run.get("status") or {}).get("phase") in TERMINAL_PHASES:
        return
    status = error_status(reason, message, started_at=(run.get("status") or {}).get("startedAt"))
    status["job"] = run_name
    await api(STATE.kube.patch_run_status, namespace, run_name, status)
    if delete_job:
        await api(STATE.kube.delete_job, namespace, run_name)


@kopf.on.event("batch", "v1", "jobs", labels={RUN_LABEL: kopf.PRESENT})
async def job_changed(body: kopf.Body, namespace: str, type: str | None, **_: Any) -> None:
    if type == "DELETED":
        return
    run_name = body["metadata"]["labels"][RUN_LABEL]
    pods = await api(STATE.kube.job_pods, namespace, body["metadata"]["name"])
    outcome = judge_job(dict(body), pods)
    if not outcome.finished:
        return
    if outcome.succeeded:
        run = await api(STATE.kube.get_run, namespace, run_name)
        if run is not None and (run.get("status") or {}).get("phase") not in TERMINAL_PHASES:
            await _end_run_with_error(
                namespace,
                run_name,
                "JobCompletedWithoutResults",
                "the Job completed but did not write the run's results",
                delete_job=False,
            )
        return
    await _end_run_with_error(namespace, run_name, outcome.reason, outcome.message, delete_job=False)


@kopf.on.event("", "v1", "pods", labels={RUN_LABEL: kopf.PRESENT})
async def pod_changed(body: kopf.Body, namespace: str, type: str | None, **_: Any) -> None:
    if type == "DELETED":
        return
    outcome = judge_pod(dict(body))
    if outcome.finished:  # a Pod that can never succeed: end the run, and the Job with it
        await _end_run_with_error(
            namespace, body["metadata"]["labels"][RUN_LABEL], outcome.reason, outcome.message, delete_job=True
        )


# --- recording finished runs --------------------------------------------------------------


async def _record_missed(namespace: str, monitor: str, status: kopf.Status, runs: kopf.Index) -> None:
    """Level-triggered backstop: record the newest finished run if its event was missed."""
    finished = [run for run in runs.get((namespace, monitor), []) if run["status"]["phase"] in TERMINAL_PHASES]
    newest = max(finished, key=run_order, default=None)
    if newest is None or not is_newer(newest, status.get("lastRun")):
        return
    run = await api(STATE.kube.get_run, namespace, newest["metadata"]["name"])
    if run is not None:
        await _record_locked(namespace, monitor, run)


async def _record_locked(namespace: str, monitor_name: str, run: dict[str, Any]) -> None:
    lock = STATE.monitor_locks.setdefault((namespace, monitor_name), asyncio.Lock())
    async with lock:
        monitor = await api(STATE.kube.get_monitor, namespace, monitor_name)
        if monitor is not None:
            await _record(monitor, run)


@kopf.on.event(*MR)
async def run_changed(body: kopf.Body, namespace: str, type: str | None, **_: Any) -> None:
    if type == "DELETED" or (body.get("status") or {}).get("phase") not in TERMINAL_PHASES:
        return
    await _record_locked(namespace, body["spec"]["monitor"], dict(body))


async def _record(monitor: dict[str, Any], run: dict[str, Any]) -> None:
    namespace, name = monitor["metadata"]["namespace"], monitor["metadata"]["name"]
    status = monitor.get("status") or {}
    last = status.get("lastRun")
    if last and last.get("name") == run["metadata"]["name"]:
        return  # recorded already (a replayed event, or a restart)
    if not is_newer(run, last):
        return
    run_status = run["status"]
    results = run_status.get("results")
    generation = monitor["metadata"]["generation"]
    updates = outcome_conditions(run_status["phase"], results, run_status.get("message", ""))
    conditions, changed = merge(list(status.get("conditions") or []), updates, generation=generation, now=iso(_now()))
    summary = last_run_summary(run, generation)
    if results:  # first, so the endpoint never lags behind what the status shows
        metrics.export_results(namespace, name, monitor["spec"]["model"]["name"], results)
    await api(STATE.kube.patch_monitor_status, namespace, name, {"lastRun": summary, "conditions": conditions})
    _log.info(
        "recorded %s for %s/%s: %s %s",
        run["metadata"]["name"],
        namespace,
        name,
        run_status["phase"],
        summary["verdict"],
    )
    for condition in changed:
        _event(monitor, condition)
    if run_status["phase"] != "Succeeded":
        kopf.warn(
            monitor,
            reason="RunError",
            message=f"{run['metadata']['name']}: {run_status.get('reason')}: {run_status.get('message', '')}"[:1000],
        )
    result = (
        "error"
        if run_status["phase"] != "Succeeded"
        else ("healthy" if results and results["healthy"] else "unhealthy")
    )
    completed = run_status.get("completedAt")
    metrics.count_run(
        namespace,
        name,
        result=result,
        runner=run["spec"].get("runner", ""),
        seconds=_duration(run_status),
        finished_at=parse_iso(completed).timestamp() if completed else None,
    )
    try:
        spec = _accept(monitor["spec"])
    except SpecError:
        return  # history is pruned once the spec is valid again
    runs = await api(STATE.kube.list_runs, namespace, name)
    for doomed in runs_to_prune(
        runs,
        keep_succeeded=spec.successful_runs_history_limit,
        keep_failed=spec.failed_runs_history_limit,
        protect=run["metadata"]["name"],
    ):
        await api(STATE.kube.delete_run, namespace, doomed)


def _duration(status: dict[str, Any]) -> float | None:
    if status.get("durationSeconds") is not None:
        return float(status["durationSeconds"])
    if status.get("startedAt") and status.get("completedAt"):
        return (parse_iso(status["completedAt"]) - parse_iso(status["startedAt"])).total_seconds()
    return None
