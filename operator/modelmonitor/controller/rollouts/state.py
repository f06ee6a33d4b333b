"""A rollout's state as a value: read from and written to ``status``, moved on by a verdict. Pure.

Weights are written in two phases. First the status records the weights to set, with
``weightsApplied: false``; then the router is patched, and the flag set. After a crash
in between, the router lags behind the status. That is this operator's own unfinished
write, re-applied on the next tick, never mistaken for someone else's change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from modelmonitor.api.rollout import ModelRolloutSpec, OnInconclusive
from modelmonitor.controller.conditions import Condition
from modelmonitor.controller.rollouts.policy import Action, Position, Verdict
from modelmonitor.times import iso, parse_iso, precise_iso

PROGRESSING, PAUSED, PROMOTED, ROLLED_BACK, INCONCLUSIVE, ABORTED = (
    "Progressing",
    "Paused",
    "Promoted",
    "RolledBack",
    "Inconclusive",
    "Aborted",
)
TERMINAL = frozenset({PROMOTED, ROLLED_BACK, ABORTED})
ALL_BASELINE = {"baseline": 100, "candidate": 0}
ALL_CANDIDATE = {"baseline": 0, "candidate": 100}


def step_weights(spec: ModelRolloutSpec, step: int) -> dict[str, int]:
    """The arms' shares of the traffic at a step: a shadow step leaves it all with the baseline."""
    weight = spec.steps[step].weight or 0
    return {"baseline": 100 - weight, "candidate": weight}


def step_mirror(spec: ModelRolloutSpec, step: int) -> int:
    """The percent of requests mirrored to the candidate at a step: 0 but on a shadow step."""
    return spec.steps[step].mirror or 0


def logged_weights(weights: Mapping[str, int], mirror: int) -> dict[str, int]:
    """What share of the logged rows each arm should have, as weights: a mirrored request is logged by both arms.

    >>> logged_weights({"baseline": 100, "candidate": 0}, 50)
    {'baseline': 100, 'candidate': 50}
    """
    return {"baseline": weights["baseline"], "candidate": weights["candidate"] + mirror * weights["baseline"] // 100}


@dataclass(frozen=True)
class RolloutState:
    phase: str
    started_at: str
    step: int  # 0-based
    step_started_at: str
    weights: Mapping[str, int]
    weights_applied: bool
    generation: int
    mirror: int = 0  # percent of the requests mirrored to the candidate (a shadow step)
    reason: str = ""
    message: str = ""
    paused: str = ""
    resumed_generation: int = 0
    aborted_version: str = ""
    evaluated_at: str = ""
    weights_applied_at: str = ""
    versions: Mapping[str, str] = field(default_factory=dict)  # each arm's version, as pinned when it started
    registry_recorded_at: str = ""  # when the decision was written to the model registry, if it is in one
    events: tuple[tuple[str, str, str], ...] = field(default=(), compare=False)

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> RolloutState | None:
        if not status.get("phase") or not status.get("startedAt"):
            return None
        return cls(
            phase=status["phase"],
            started_at=status["startedAt"],
            step=int(status.get("currentStep") or 1) - 1,
            step_started_at=status.get("stepStartedAt") or status["startedAt"],
            weights=dict(status.get("weights") or {}),
            weights_applied=bool(status.get("weightsApplied")),
            generation=int(status.get("observedGeneration") or 0),
            mirror=int(status.get("mirror") or 0),
            reason=status.get("reason", ""),
            message=status.get("message", ""),
            paused=status.get("pausedFor", ""),
            resumed_generation=int(status.get("resumedGeneration") or 0),
            aborted_version=status.get("abortedVersion", ""),
            evaluated_at=status.get("evaluatedAt", ""),
            weights_applied_at=status.get("weightsAppliedAt", ""),
            versions=dict(status.get("versions") or {}),
            registry_recorded_at=status.get("registryRecordedAt", ""),
        )

    def to_status(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "reason": self.reason,
            "message": self.message[:2000],
            "startedAt": self.started_at,
            "currentStep": self.step + 1,
            "stepStartedAt": self.step_started_at,
            "weights": dict(self.weights),
            "mirror": self.mirror,
            "weightsApplied": self.weights_applied,
            "observedGeneration": self.generation,
            "pausedFor": self.paused,
            "resumedGeneration": self.resumed_generation,
            "abortedVersion": self.aborted_version,
            "evaluatedAt": self.evaluated_at,
            "weightsAppliedAt": self.weights_applied_at,
            "versions": dict(self.versions),
            "registryRecordedAt": self.registry_recorded_at,
        }

    def position(self) -> Position:
        return Position(self.step, parse_iso(self.step_started_at), self.weights, self.paused, self.mirror)

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL


def start(spec: ModelRolloutSpec, generation: int, now: datetime, aborted_version: str = "") -> RolloutState:
    """The first step; ``spec``'s arms name their versions (aliases resolved: ``ModelRolloutSpec.pinned``).

    To the microsecond: the rows compared are those logged after it, and rows of the second before it are not
    the rollout's (a previous rollout's, or labelled ones served before it).
    """
    moment = precise_iso(now)
    message = f"step 1 of {len(spec.steps)}: {spec.steps[0].describe(spec.candidate.version)}"
    return RolloutState(
        phase=PROGRESSING,
        started_at=moment,
        step=0,
        step_started_at=moment,
        weights=step_weights(spec, 0),
        weights_applied=False,
        generation=generation,
        mirror=step_mirror(spec, 0),
        reason="Started",
        message=message,
        aborted_version=aborted_version,
        versions=versions_of(spec),
        events=(("Normal", "RolloutStarted", message),),
    )


def versions_of(spec: ModelRolloutSpec) -> dict[str, str]:
    """Each arm's version, for ``status.versions``; the spec's aliases resolved already."""
    assert spec.baseline.version is not None and spec.candidate.version is not None
    return {"baseline": spec.baseline.version, "candidate": spec.candidate.version}


REGISTRY_UNAVAILABLE = "RegistryUnavailable"  # paused before it could start: its aliases could not be resolved


def pinned_spec(spec: ModelRolloutSpec, state: RolloutState | None, generation: int) -> ModelRolloutSpec | None:
    """``spec`` with each arm's version as the status pinned it; None when the registry must name them now: at
    the start, after a changed spec ends a finished rollout, and while a start waits for the registry."""
    if state is None or state.paused == REGISTRY_UNAVAILABLE or (state.terminal and generation != state.generation):
        return None
    return spec.pinned(dict(state.versions))


def should_restart(spec: ModelRolloutSpec, state: RolloutState, generation: int) -> bool:
    """A finished rollout starts again only when its spec changed, and never for a candidate it aborted."""
    if not state.terminal or generation == state.generation:
        return False
    return spec.candidate.version != state.aborted_version


def resume_pending(spec: ModelRolloutSpec, state: RolloutState, generation: int) -> bool:
    """``decision: resume`` counts once per spec generation, so a later pause is not undone by a stale resume."""
    return spec.decision == "resume" and generation > state.resumed_generation


def advance(state: RolloutState, spec: ModelRolloutSpec, verdict: Verdict, now: datetime) -> RolloutState:
    """The state after ``verdict``; its Events ride along in ``events``."""
    moment = iso(now)
    state = replace(state, evaluated_at=moment, reason=verdict.reason, message=verdict.message, events=())
    action = verdict.action
    if action is Action.WAIT:
        resumed = bool(state.paused)
        state = replace(state, phase=PROGRESSING, paused="")
        return _with_event(state, "Normal", "RolloutResumed", verdict.message) if resumed else state
    if action is Action.ADVANCE:
        step = state.step + 1
        message = f"step {step + 1} of {len(spec.steps)}: {spec.steps[step].describe()} ({verdict.message})"
        state = replace(
            state,
            phase=PROGRESSING,
            paused="",
            step=step,
            step_started_at=moment,
            weights=step_weights(spec, step),
            mirror=step_mirror(spec, step),
            weights_applied=False,
            message=message,
        )
        return _with_event(state, "Normal", "StepAdvanced", message)
    if action is Action.PROMOTE:
        state = replace(state, phase=PROMOTED, paused="", weights=ALL_CANDIDATE, mirror=0, weights_applied=False)
        promoted = f"candidate {spec.candidate.version} at 100%: {verdict.message}"
        return _with_event(state, "Normal", "Promoted", promoted)
    if action in (Action.ROLLBACK, Action.ABORT):
        phase = ROLLED_BACK if action is Action.ROLLBACK else ABORTED
        state = replace(
            state,
            phase=phase,
            paused="",
            weights=ALL_BASELINE,
            mirror=0,
            weights_applied=False,
            aborted_version=spec.candidate.version,
        )
        reason = "RolledBack" if action is Action.ROLLBACK else "Aborted"
        return _with_event(state, "Warning", reason, f"baseline {spec.baseline.version} at 100%: {verdict.message}")
    if action is Action.INCONCLUSIVE:
        state = replace(state, phase=INCONCLUSIVE, paused=verdict.reason)
        if spec.on_inconclusive is OnInconclusive.ROLLBACK:
            state = replace(
                state, weights=ALL_BASELINE, mirror=0, weights_applied=False, aborted_version=spec.candidate.version
            )
        return _with_event(state, "Warning", "Inconclusive", verdict.message)
    assert action is Action.PAUSE
    if state.phase in (PAUSED, INCONCLUSIVE) and state.paused == verdict.reason:
        return state  # held already, for the same reason: no new Event
    state = replace(state, phase=PAUSED, paused=verdict.reason)
    return _with_event(state, "Warning", "Paused", f"{verdict.reason}: {verdict.message}")


def _with_event(state: RolloutState, kind: str, reason: str, message: str) -> RolloutState:
    return replace(state, events=(*state.events, (kind, reason, message[:1000])))


def conditions(state: RolloutState) -> list[Condition]:
    """Progressing, Promoted, RolledBack and Paused, each with the state's reason and message.

    Promoted and RolledBack turn True only once the router carries the final weights, so
    ``kubectl wait --for=condition=Promoted`` returns when the traffic has moved.
    """

    def of(kind: str, true: bool) -> Condition:
        return Condition(kind, "True" if true else "False", state.reason or state.phase, state.message)

    settled = state.weights_applied
    return [
        of("Progressing", state.phase == PROGRESSING or (state.terminal and not settled)),
        of("Promoted", state.phase == PROMOTED and settled),
        of("RolledBack", state.phase in (ROLLED_BACK, ABORTED) and settled),
        of("Paused", state.phase in (PAUSED, INCONCLUSIVE)),
    ]
