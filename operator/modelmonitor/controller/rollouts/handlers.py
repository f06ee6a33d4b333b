"""ModelRollout handlers: set the step's weights, compare the versions every interval, act on the verdict.

One timer per rollout does it all, so nothing about a rollout happens twice at once. It
loads (spec, status, router weights, the comparison), decides with ``policy``, moves the
state with ``state``, persists the status, and only then touches the router.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import kopf

from modelmonitor.api.comparison import Comparison, ComparisonDocument
from modelmonitor.api.parsing import parse_rollout_spec
from modelmonitor.api.rollout import ModelRolloutSpec, UserDecision
from modelmonitor.controller import faults, metrics
from modelmonitor.controller.conditions import Condition, merge
from modelmonitor.controller.config import TICK_SECONDS
from modelmonitor.controller.naming import GROUP, ROLLOUTS, VERSION
from modelmonitor.controller.offload import CheckProcessDied
from modelmonitor.controller.rollouts import registry
from modelmonitor.controller.rollouts import state as states
from modelmonitor.controller.rollouts.comparing import compare, concept_drift, estimate_condition, estimate_event
from modelmonitor.controller.rollouts.policy import Action, Evidence, Verdict, decide
from modelmonitor.controller.rollouts.routers import ObservedWeights, Router, RouterError, router_for
from modelmonitor.controller.rollouts.state import RolloutState
from modelmonitor.controller.runtime import STATE, accept, api, credentials, now
from modelmonitor.durations import parse_duration
from modelmonitor.errors import ModelMonitorError, SpecError
from modelmonitor.times import iso, parse_iso, precise_iso

MRO = (GROUP, VERSION, ROLLOUTS)
SETTLE_LIMIT = timedelta(minutes=1)
_log = logging.getLogger(__name__)


@kopf.timer(*MRO, interval=TICK_SECONDS, backoff=5)
async def reconcile_rollout(body: kopf.Body, spec: kopf.Spec, meta: kopf.Meta, status: kopf.Status, **_: Any) -> None:
    namespace, generation = meta["namespace"], meta["generation"]
    if not STATE.shard.owns(namespace, meta["name"]):
        return  # another replica's (a filter would not notice when the members change: no event says so)
    moment = now()
    current = RolloutState.from_status(status)
    try:
        parsed = parse_rollout_spec(dict(spec))
    except SpecError as error:
        await _hold(body, current, generation, "InvalidSpec", str(error))
        return
    pinned = states.pinned_spec(parsed, current, generation)
    if pinned is None:
        try:  # the versions the aliases name now (no call for a rollout without aliases)
            parsed = await registry.resolved_arms(parsed, namespace)
        except ModelMonitorError as error:
            await _hold(body, current, generation, states.REGISTRY_UNAVAILABLE, str(error))
            return
        if current is not None and current.paused == states.REGISTRY_UNAVAILABLE:
            current = None  # held before it could start: it starts now
        elif current is not None and not current.terminal and not current.versions:
            current = replace(current, versions=states.versions_of(parsed))  # held before (another reason)
    else:
        parsed = pinned
    if current is None or states.should_restart(parsed, current, generation):
        current = states.start(parsed, generation, moment, current.aborted_version if current else "")
        await _persist(body, current, None)
    try:
        router = router_for(parsed, namespace, STATE.kube.custom)
        current = await _apply_weights(body, current, router)
        if current.terminal:
            await _record_in_registry(body, parsed, current)
            return
        observed = await api(router.observed_weights)
    except RouterError as error:
        await _hold(body, current, generation, "RouterUnavailable", str(error))
        return
    resuming = states.resume_pending(parsed, current, generation)
    if resuming and current.paused == "WeightDrift":  # take the weights back
        current = await _apply_weights(body, replace(current, weights_applied=False, paused=""), router)
        observed = await api(router.observed_weights)
    effective = parsed if resuming or parsed.decision != UserDecision.RESUME else _without_decision(parsed)
    drifted = dict(observed.weights) != dict(current.weights) or observed.mirror != current.mirror
    if drifted and current.paused == "WeightDrift" and not resuming:
        return  # held already; a person resumes it (which takes the weights back) or decides
    if not (drifted or resuming or _due(parsed, current, moment) or effective.decision != UserDecision.NONE):
        return
    logged = states.logged_weights(observed.weights, observed.mirror)
    comparison, problem = await _compare(parsed, namespace, current, logged, moment)
    verdict = decide(
        effective,
        current.position(),
        comparison[1] if comparison else None,
        observed.weights,
        moment,
        changed_by=observed.written_by,
        observed_mirror=observed.mirror,
    )
    if problem and verdict.reason == "NoComparison":
        verdict = Verdict(verdict.action, "ComparisonError", problem)
    following = states.advance(current, parsed, verdict, moment)
    if resuming and verdict.action is not Action.PAUSE:
        following = replace(following, resumed_generation=generation)
    following = replace(following, generation=generation)
    trusted = [estimate_condition(*comparison)] if comparison and parsed.analysis.estimated else []
    await _persist(
        body,
        following,
        _analysis(comparison[0] if comparison else None, parsed, verdict),
        observed=observed,
        conditions=trusted,
    )
    await _apply_weights(body, following, router)
    if following.phase == states.PROMOTED and parsed.update_monitor_on_promotion and not parsed.by_alias:
        await api(STATE.kube.set_monitor_version, namespace, parsed.monitor_ref.name, parsed.candidate.version)
        kopf.event(  # not kopf.info: the operator posts kopf's own messages from WARNING up (lifecycle)
            body,
            type="Normal",
            reason="MonitorUpdated",
            message=f"{parsed.monitor_ref.name}: spec.model.version is now {parsed.candidate.version}",
        )


async def _record_in_registry(body: kopf.Body, spec: ModelRolloutSpec, state: RolloutState) -> None:
    """A finished rollout by registry alias: its decision written to the registry, once it is (level-triggered)."""
    if not spec.by_alias or state.registry_recorded_at or state.phase not in (states.PROMOTED, states.ROLLED_BACK):
        return
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    interval = str((body.get("status") or {}).get("difference") or "")
    try:
        done = await registry.record_decision(spec, namespace, name, state, interval)
    except ModelMonitorError as error:  # tried again on the next tick
        kopf.warn(body, reason="RegistryUpdateFailed", message=str(error)[:1000])
        return
    await api(STATE.kube.patch_rollout_status, namespace, name, {"registryRecordedAt": iso(now())})
    kopf.event(body, type="Normal", reason="RegistryUpdated", message=done)
    _log.info("%s/%s: %s", namespace, name, done)


def _without_decision(spec: ModelRolloutSpec) -> ModelRolloutSpec:
    """A resume already acted on counts no more (until the spec changes again)."""
    return spec.model_copy(update={"decision": UserDecision.NONE})


def _due(spec: ModelRolloutSpec, state: RolloutState, moment: Any) -> bool:
    if not state.evaluated_at:
        return True
    return moment >= parse_iso(state.evaluated_at) + parse_duration(spec.analysis.interval)


async def _compare(
    spec: ModelRolloutSpec, namespace: str, state: RolloutState, weights: Any, moment: Any
) -> tuple[tuple[dict[str, Any], Evidence] | None, str]:
    """The comparison's document and evidence, or None and why there is none.

    ``weights`` say what share of the logged rows each arm should have (``state.logged_weights``): on a shadow step
    the candidate logs the mirrored requests beside the baseline's.
    """
    monitor = await api(STATE.kube.get_monitor, namespace, spec.monitor_ref.name)
    if monitor is None:
        return None, f"ModelMonitor {spec.monitor_ref.name} not found in namespace {namespace}"
    try:
        monitor_spec = accept(monitor)
        env = await credentials(monitor_spec, namespace)  # the monitor's data is read with its Secret's keys
        arguments = {
            "versions": {"baseline": spec.baseline.version, "candidate": spec.candidate.version},
            "metric": spec.analysis.metric,
            "guardrails": [guardrail.metric for guardrail in spec.analysis.guardrails],
            "fairness_guardrails": [guardrail.metric for guardrail in spec.analysis.fairness_guardrails],
            "alpha": spec.comparison_alpha,
            "paired": spec.steps[state.step].shadow,
            "estimated": spec.analysis.estimated,
            "references": {"baseline": spec.baseline.reference, "candidate": spec.candidate.reference},
            "min_samples_per_arm": spec.analysis.min_samples_per_arm,
            "since": parse_iso(state.started_at),
            "until": moment,
            "weights": dict(weights),
            "weights_since": _settled(spec, state),
            "env": env,
        }
        compared = await STATE.checks.call(
            compare, monitor_spec, arguments, spec.analysis.non_inferiority_margin, spec.analysis.guardrail_margins
        )
    except ModelMonitorError as error:
        return None, f"{error.reason}: {error}"
    except CheckProcessDied as error:
        return None, str(error)
    document, evidence = compared
    if spec.analysis.estimated and (drifted := concept_drift(monitor)):
        suspended = "; ".join(reason for reason in (evidence.unreliable, drifted) if reason)
        evidence = replace(evidence, unreliable=suspended)
    return (document, evidence), ""


def _settled(spec: ModelRolloutSpec, state: RolloutState) -> datetime:
    """When the current weights were surely in force: rows logged in between may have been routed by the old ones.

    A router takes a moment to apply new weights (a proxy's config push), so the
    sample-ratio check starts a quarter of the step's minDuration (at most a minute) after
    the weights were applied.
    """
    applied = parse_iso(state.weights_applied_at or state.step_started_at)
    settle = min(parse_duration(spec.steps[state.step].min_duration) / 4, SETTLE_LIMIT)
    return applied + settle


def _analysis(comparison: dict[str, Any] | None, spec: ModelRolloutSpec, verdict: Verdict) -> dict[str, Any]:
    """The comparison (its document) as the status shows it: with each margin δ, and the decision in words."""
    analysis: dict[str, Any] = dict(comparison) if comparison else {}
    if comparison is not None:
        analysis["primary"]["margin"] = spec.analysis.non_inferiority_margin
        for guardrail in analysis["guardrails"]:
            guardrail["margin"] = spec.analysis.guardrail_margins[guardrail["metric"]]
        if "primary" in (estimated := analysis.get("estimated") or {}):
            estimated["primary"]["margin"] = spec.analysis.non_inferiority_margin
    analysis["decision"] = {"action": verdict.action.value, "reason": verdict.reason, "message": verdict.message}
    if verdict.decided_by:
        analysis["decidedBy"] = verdict.decided_by
    analysis["evaluatedAt"] = iso(now())
    return analysis


async def _apply_weights(body: kopf.Body, state: RolloutState, router: Router) -> RolloutState:
    """The second phase of a weights change: patch the router, then record that it is done."""
    if state.weights_applied:
        return state
    faults.crash_point(faults.BEFORE_ROUTER_PATCH)
    await api(router.set_weights, dict(state.weights), state.mirror)
    applied = replace(state, weights_applied=True, weights_applied_at=precise_iso(now()), events=())
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    done = {
        "weightsApplied": True,
        "weightsAppliedAt": applied.weights_applied_at,
        "conditions": _conditions(body, applied),
    }
    await api(STATE.kube.patch_rollout_status, namespace, name, done)
    _log.info("%s/%s: weights %s set on the %s router", namespace, name, dict(state.weights), router.kind)
    return applied


def _conditions(body: kopf.Body, state: RolloutState, extra: list[Condition] | None = None) -> list[dict[str, Any]]:
    """The rollout's conditions for ``state`` (and ``extra``), merged into those it has (transition times kept)."""
    previous = list((body.get("status") or {}).get("conditions") or [])
    updates = [*states.conditions(state), *(extra or [])]
    conditions, _ = merge(previous, updates, generation=state.generation, now=iso(now()))
    return conditions


async def _hold(body: kopf.Body, current: RolloutState | None, generation: int, reason: str, message: str) -> None:
    """Pause for a reason the data cannot fix (an invalid spec, a missing router), saying why."""
    base = current or RolloutState(states.PAUSED, iso(now()), 0, iso(now()), {}, True, generation)
    if base.phase == states.PAUSED and base.paused == reason and base.message == message:
        return
    held = replace(base, phase=states.PAUSED, paused=reason, reason=reason, message=message, generation=generation)
    held = replace(held, events=(("Warning", "Paused", f"{reason}: {message}"),))
    await _persist(body, held, None)


async def _persist(
    body: kopf.Body,
    state: RolloutState,
    analysis: dict[str, Any] | None,
    observed: ObservedWeights | None = None,
    conditions: list[Condition] | None = None,
) -> None:
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    status: dict[str, Any] = {**state.to_status(), "conditions": _conditions(body, state, conditions)}
    previous = list((body.get("status") or {}).get("conditions") or [])
    told = [event for condition in conditions or [] if (event := estimate_event(previous, condition))]
    compared = ComparisonDocument.from_document(analysis) if analysis and "primary" in analysis else None
    if analysis is not None:
        status["analysis"] = analysis
    if compared is not None and not math.isnan(compared.primary.difference):
        status["difference"] = _difference(compared.primary)
    elif analysis and "primary" in (estimated := analysis.get("estimated") or {}):
        guessed = Comparison.from_document(estimated["primary"], "estimated.primary")
        if not math.isnan(guessed.difference):  # before the labels: the estimate, said to be one
            status["difference"] = _difference(guessed)
    if observed is not None:
        status["observedWeights"] = dict(observed.weights)
        status["observedMirror"] = observed.mirror
    await api(STATE.kube.patch_rollout_status, namespace, name, status)
    for kind, reason, message in [*state.events, *told]:
        kopf.event(body, type=kind, reason=reason, message=message)
    metrics.export_rollout(
        namespace, name, phase=state.phase, weights=dict(state.weights), mirror=state.mirror, analysis=compared
    )


def _difference(compared: Comparison) -> str:
    """``accuracy +0.012 [-0.004, +0.028]``, or ``accuracy est. -0.310 [...]`` for an estimate."""
    low, high = compared.interval.low, compared.interval.high
    bounds = f" [{low:+.3f}, {high:+.3f}]" if not (math.isnan(low) or math.isnan(high)) else ""
    return f"{compared.metric}{' est.' if compared.estimated else ''} {compared.difference:+.3f}{bounds}"


@kopf.on.delete(*MRO, optional=True)
async def forget_rollout(namespace: str, name: str, **_: Any) -> None:
    metrics.forget_rollout(namespace, name)
