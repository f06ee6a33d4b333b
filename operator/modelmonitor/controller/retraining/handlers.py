"""Retraining handlers: start objects when a run, a slot or a request calls for it; record how they end.

Every write goes through the monitor's lock and starts from a fresh read of its status.
An object is created before the status that records it, under a name derived from its
trigger: a crash in between replays the trigger, which finds the object and adopts it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import kopf
from kubernetes.client.rest import ApiException

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.api.retraining import RetrainSpec
from modelmonitor.controller import faults, metrics
from modelmonitor.controller.conditions import RETRAINING, Condition, merge
from modelmonitor.controller.kube import KindNotServed, api_message
from modelmonitor.controller.naming import MONITOR_LABEL, RETRAIN_NOW_ANNOTATION
from modelmonitor.controller.retraining.objects import (
    GONE,
    RETRAINING_LABEL,
    Outcome,
    TriggerContext,
    build_object,
    context_from_summary,
    group_of,
    guess_plural,
    read_outcome,
    retraining_name,
)
from modelmonitor.controller.retraining.policy import (
    Action,
    Active,
    Decision,
    RetrainingState,
    condition_after,
    condition_after_outcome,
    decide_on_request,
    decide_on_run,
    decide_on_slot,
    next_streak,
)
from modelmonitor.controller.retraining.registered import registered_version
from modelmonitor.controller.runtime import MM, STATE, accept, api, monitor_lock, now, owner, owns_monitor
from modelmonitor.controller.scheduling import latest_slot, next_slot, slot_offset
from modelmonitor.durations import parse_duration
from modelmonitor.errors import SpecError
from modelmonitor.times import iso, parse_iso

_log = logging.getLogger(__name__)
DEFAULT_TIMEOUT = str(RetrainSpec.model_fields["timeout"].default)  # for objects whose retrain spec was removed
_EVENTS = {
    "Succeeded": ("Normal", "RetrainingSucceeded"),
    "Failed": ("Warning", "RetrainingFailed"),
    "Unknown": ("Warning", "RetrainingOutcomeUnknown"),
}


@dataclass
class Step:
    """What a retraining decision changes: the status to persist, the condition, the Events, the counts."""

    status: dict[str, Any] = field(default_factory=dict)
    conditions: list[Condition] = field(default_factory=list)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)  # outcomes, for the counter

    def announce(self, monitor: dict[str, Any]) -> None:
        """After the status is persisted: Events and metrics."""
        namespace, name = monitor["metadata"]["namespace"], monitor["metadata"]["name"]
        for kind, reason, message in self.events:
            kopf.event(monitor, type=kind, reason=reason, message=message[:1000])
        for outcome in self.finished:
            metrics.count_retraining(namespace, name, outcome)
        if "retraining" in self.status:
            metrics.set_retraining_active(namespace, name, len(self.status["retraining"]["active"]))


def _state_of(monitor: dict[str, Any]) -> RetrainingState:
    return RetrainingState.from_status((monitor.get("status") or {}).get("retraining"))


def _parsed(monitor: dict[str, Any]) -> ModelMonitorSpec | None:
    try:
        return accept(monitor)
    except SpecError:
        return None


async def on_run_recorded(monitor: dict[str, Any], summary: dict[str, Any], outcome: list[Condition]) -> Step:
    """Called with the monitor's lock held, while a finished run is recorded; persisted with the run."""
    parsed = _parsed(monitor)
    spec = parsed.retrain if parsed else None
    step = Step()
    if spec is None:
        return step
    state = _state_of(monitor)
    streak, breached = next_streak(state.streak, {c.type: c.status for c in outcome}, spec.on)
    decision = decide_on_run(spec, state, streak, breached, now())
    context = context_from_summary(
        monitor, summary, trigger="breach", reason=",".join(breached), message=decision.message
    )
    trigger = Trigger(decision, f"run/{summary['name']}", context)
    state = await _apply(monitor, spec, replace(state, streak=streak), trigger, step)
    step.status = {"retraining": state.to_status()}
    return step


@dataclass(frozen=True)
class Trigger:
    """What called for retraining: the decision on it, its key (for the object's name) and its context."""

    decision: Decision
    key: str
    context: TriggerContext


def _without_run(monitor: dict[str, Any], decision: Decision, key: str, kind: str) -> Trigger:
    """A slot's or a request's trigger: its context is the last recorded run's."""
    reason = {"schedule": "Schedule", "request": "Requested"}[kind]
    last_run = (monitor.get("status") or {}).get("lastRun")
    context = context_from_summary(monitor, last_run, trigger=kind, reason=reason, message=decision.message)
    return Trigger(decision, key, context)


async def _apply(
    monitor: dict[str, Any], spec: RetrainSpec, state: RetrainingState, trigger: Trigger, step: Step
) -> RetrainingState:
    decision = trigger.decision
    if decision.action is Action.START:
        return await _start(monitor, spec, state, trigger, step)
    if decision.action is Action.SUPPRESS:
        step.events.append(("Normal", "RetrainingSuppressed", decision.message))
    if condition := condition_after(decision, state):
        step.conditions.append(condition)
    return state


async def _start(
    monitor: dict[str, Any], spec: RetrainSpec, state: RetrainingState, trigger: Trigger, step: Step
) -> RetrainingState:
    decision, context = trigger.decision, trigger.context
    namespace, monitor_name = monitor["metadata"]["namespace"], monitor["metadata"]["name"]
    name = retraining_name(monitor_name, monitor["metadata"]["uid"], trigger.key)
    if state.knows(name):
        return state  # a replay of a trigger already acted on
    manifest = build_object(spec, name=name, namespace=namespace, context=context, owner=owner(monitor))
    api_version, kind = manifest["apiVersion"], manifest["kind"]
    started_at = iso(now())
    try:
        await _check_resource(api_version, kind)
        created = await api(STATE.kube.create_object, namespace, manifest)
    except (ApiException, KindNotServed, PermissionError) as error:
        message = f"could not create {kind} {name}: {_why(error, api_version, kind, namespace)}"
        step.conditions.append(Condition(RETRAINING, "False", "Failed", message))
        step.events.append(("Warning", "RetrainingFailed", message))
        step.finished.append("Failed")
        failed = Outcome("Failed", "CreateFailed", message)
        last = _last(name, api_version, kind, context.trigger, context.reason, started_at, failed)
        return replace(state, last=last, streak=0)  # recorded as failed: never retried in a loop
    faults.crash_point(faults.AFTER_RETRAINING_CREATED)
    if not created:  # it exists: a crash came between creating it and recording it
        existing = await api(STATE.kube.get_object, namespace, api_version, kind, name)
        started_at = ((existing or {}).get("metadata") or {}).get("creationTimestamp") or started_at
    _log.info("started retraining %s %s/%s: %s", kind, namespace, name, decision.message)
    message = f"{kind} {name} started: {decision.message}"
    step.conditions.append(Condition(RETRAINING, "True", "Started", message))
    step.events.append(("Normal", "RetrainingStarted", message))
    return state.started(Active(name, api_version, kind, started_at, context.trigger, context.reason))


async def _check_resource(api_version: str, kind: str) -> None:
    """The admission policy checks the user's right to create the guessed resource; it must be the real one."""
    plural = await api(STATE.kube.plural, api_version, kind)
    if plural != guess_plural(kind):
        raise PermissionError(
            f"{kind} is served as the resource {plural!r}, not {guess_plural(kind)!r}: the admission policy "
            "could not have checked the user's right to create it, so the operator will not"
        )


def _why(error: Exception, api_version: str, kind: str, namespace: str) -> str:
    if isinstance(error, ApiException):
        resource = guess_plural(kind) + (f".{group_of(api_version)}" if group_of(api_version) else "")
        if error.status == 403:
            return (
                f"the operator may not create {resource} in namespace {namespace}: grant it "
                "(see docs/retraining.md, 'Permissions')"
            )
        return f"{error.status} {error.reason}: {api_message(error)}"
    return str(error)


def _last(
    name: str, api_version: str, kind: str, trigger: str, reason: str, started_at: str, outcome: Outcome
) -> dict[str, Any]:
    return {
        "name": name,
        "apiVersion": api_version,
        "kind": kind,
        "trigger": trigger,
        "reason": reason,
        "startedAt": started_at,
        "finishedAt": iso(now()),
        "outcome": outcome.state,
        "message": outcome.message,
    }


def _conclude(
    state: RetrainingState, item: Active, outcome: Outcome, step: Step, registered: dict[str, Any]
) -> RetrainingState:
    """Record how an active object ended: last (and the version it registered), the condition, an Event, a count."""
    last = _last(item.name, item.api_version, item.kind, item.trigger, item.reason, item.started_at, outcome)
    state = state.finished(item.name, {**last, **registered})
    message = f"{item.kind} {item.name}: {outcome.state}: {outcome.message}"
    if "registeredVersion" in registered:
        message += f"; registered version {registered['registeredVersion']}"
    step.conditions.append(condition_after_outcome(state, outcome.state, message))
    step.events.append((*_EVENTS[outcome.state], message))
    step.finished.append(outcome.state)
    _log.info("retraining %s ended: %s", item.name, outcome)
    return state


async def _observe(namespace: str, item: Active, timeout: str) -> Outcome:
    try:
        obj = await api(STATE.kube.get_object, namespace, item.api_version, item.kind, item.name)
    except KindNotServed:
        return GONE
    outcome = read_outcome(obj)
    if not outcome.finished and now() >= parse_iso(item.started_at) + parse_duration(timeout):
        return Outcome("Unknown", "Timeout", f"no outcome within the timeout of {timeout}; no longer tracked")
    return outcome


async def _persist(monitor: dict[str, Any], before: RetrainingState, state: RetrainingState, step: Step) -> None:
    if state == before and not step.conditions and not step.events:
        return
    step.status = {"retraining": state.to_status()}
    status = monitor.get("status") or {}
    conditions, _ = merge(
        list(status.get("conditions") or []),
        step.conditions,
        generation=monitor["metadata"]["generation"],
        now=iso(now()),
    )
    namespace, name = monitor["metadata"]["namespace"], monitor["metadata"]["name"]
    await api(STATE.kube.patch_monitor_status, namespace, name, {**step.status, "conditions": conditions})
    step.announce(monitor)


async def reconcile(body: kopf.Body, parsed: ModelMonitorSpec, status: kopf.Status) -> None:
    """On the monitor's timer tick: read the outcomes of active objects, and act on schedule slots."""
    spec = parsed.retrain
    recorded = status.get("retraining") or {}
    due = spec is not None and spec.schedule is not None and not parsed.suspend
    if due and recorded.get("nextScheduledAt"):
        due = now() >= parse_iso(recorded["nextScheduledAt"])
    if not recorded.get("active") and not due:
        return  # the common case costs no API call
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    async with monitor_lock(namespace, name):
        monitor = await api(STATE.kube.get_monitor, namespace, name)
        if monitor is None:
            return
        before = state = _state_of(monitor)
        step = Step()
        timeout = spec.timeout if spec is not None else DEFAULT_TIMEOUT
        for item in state.active:
            outcome = await _observe(namespace, item, timeout)
            if outcome.finished:
                state = _conclude(state, item, outcome, step, await _registration(monitor, item, outcome))
        if spec is not None and spec.schedule is not None and not parsed.suspend:
            state = await _schedule(monitor, spec, state, step)
        await _persist(monitor, before, state, step)


async def _schedule(monitor: dict[str, Any], spec: RetrainSpec, state: RetrainingState, step: Step) -> RetrainingState:
    assert spec.schedule is not None
    moment = now()
    offset = slot_offset(spec.schedule, monitor["metadata"]["namespace"], monitor["metadata"]["name"])
    if state.next_scheduled_at is None:
        return replace(state, next_scheduled_at=iso(next_slot(spec.schedule, moment, offset)))
    if moment < parse_iso(state.next_scheduled_at):
        return state
    slot = latest_slot(spec.schedule, moment, offset)  # missed slots are not caught up
    trigger = _without_run(monitor, decide_on_slot(spec, state, slot, moment), f"slot/{iso(slot)}", "schedule")
    state = await _apply(monitor, spec, state, trigger, step)
    return replace(state, next_scheduled_at=iso(next_slot(spec.schedule, slot, offset)))


async def _conclude_locked(namespace: str, monitor_name: str, name: str, outcome: Outcome) -> None:
    async with monitor_lock(namespace, monitor_name):
        monitor = await api(STATE.kube.get_monitor, namespace, monitor_name)
        if monitor is None:
            return
        before = _state_of(monitor)
        item = next((item for item in before.active if item.name == name), None)
        if item is None:
            return  # recorded already, or not ours
        step = Step()
        registered = await _registration(monitor, item, outcome)
        await _persist(monitor, before, _conclude(before, item, outcome, step, registered), step)


async def _registration(monitor: dict[str, Any], item: Active, outcome: Outcome) -> dict[str, Any]:
    if outcome.state != "Succeeded":
        return {}
    return await registered_version(_parsed(monitor), monitor["metadata"]["namespace"], item.name)


@kopf.on.event("batch", "v1", "jobs", labels={RETRAINING_LABEL: "true"})
async def retraining_job_changed(body: kopf.Body, namespace: str, type: str | None, **_: Any) -> None:
    """Jobs are watched, so their outcome is recorded at once; other kinds are read on the timer tick."""
    outcome = GONE if type == "DELETED" else read_outcome(dict(body))
    monitor_name = (body["metadata"].get("labels") or {}).get(MONITOR_LABEL)
    if outcome.finished and monitor_name and owns_monitor(namespace, monitor_name):
        await _conclude_locked(namespace, monitor_name, body["metadata"]["name"], outcome)


@kopf.on.create(*MM, annotations={RETRAIN_NOW_ANNOTATION: kopf.PRESENT}, backoff=5, when=owns_monitor)
@kopf.on.update(*MM, annotations={RETRAIN_NOW_ANNOTATION: kopf.PRESENT}, backoff=5, when=owns_monitor)
async def retrain_now(body: kopf.Body, meta: kopf.Meta, **_: Any) -> None:
    request = meta["annotations"][RETRAIN_NOW_ANNOTATION]
    await _retrain_on_request(body, meta["namespace"], meta["name"], request)
    # cleared only while it still holds this request: a newer one stays for its own update
    await api(STATE.kube.clear_monitor_annotation, meta["namespace"], meta["name"], RETRAIN_NOW_ANNOTATION, request)


async def _retrain_on_request(body: kopf.Body, namespace: str, name: str, request: str) -> None:
    async with monitor_lock(namespace, name):
        monitor = await api(STATE.kube.get_monitor, namespace, name)
        if monitor is None:
            return
        parsed = _parsed(monitor)
        spec = parsed.retrain if parsed else None
        if parsed is None or spec is None:
            kopf.warn(
                body, reason="RetrainNowIgnored", message="spec.actions.retrain is not set (or the spec is invalid)"
            )
            return
        if parsed.suspend:
            kopf.warn(body, reason="RetrainNowIgnored", message="the monitor is suspended")
            return
        before = _state_of(monitor)
        trigger = _without_run(
            monitor, decide_on_request(spec, before, request, now()), f"request/{request}", "request"
        )
        step = Step()
        state = await _apply(monitor, spec, before, trigger, step)
        await _persist(monitor, before, state, step)
