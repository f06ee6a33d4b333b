"""Accepting a ModelMonitor's spec: the Ready condition, its schedule's metrics, and a run when the spec changes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import kopf

from modelmonitor.api.documents import DocumentError
from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.controller import metrics
from modelmonitor.controller.conditions import READY, Condition, merge
from modelmonitor.controller.monitors.run_creation import create_run
from modelmonitor.controller.naming import SHARD_OWNER_ANNOTATION, spec_change_run_name
from modelmonitor.controller.records import run_results
from modelmonitor.controller.runtime import MM, STATE, accept, api, condition_event, monitor_lock, now, owns_monitor
from modelmonitor.controller.scheduling import longest_gap, next_slot, slot_offset
from modelmonitor.errors import SpecError
from modelmonitor.times import iso, parse_iso


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
        export_schedule(meta, status, parsed, moment)
        if parsed.suspend:
            ready, upcoming = Condition(READY, "False", "Suspended", "spec.suspend is true: no new runs"), None
        else:
            upcoming = iso(next_slot(parsed.schedule, moment, slot_offset_of(parsed, meta)))
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
        await reexport(body, last_name)


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


def export_schedule(
    meta: Mapping[str, Any], status: Mapping[str, Any], spec: ModelMonitorSpec, moment: datetime
) -> None:
    """The schedule's metrics: how long a gap is normal, and when runs last succeeded, errored or retrained."""
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


def slot_offset_of(spec: ModelMonitorSpec, meta: Any) -> timedelta:
    """Where in each interval this monitor's slots fall (0, or with spread a stable share of it)."""
    return slot_offset(spec.schedule, meta["namespace"], meta["name"])


def _describe(spec: ModelMonitorSpec) -> str:
    return f"interval {spec.schedule.interval}" if spec.schedule.interval else f"cron '{spec.schedule.cron}'"


async def reexport(body: Mapping[str, Any], run_name: str) -> None:
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
