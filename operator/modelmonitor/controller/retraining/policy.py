"""When to retrain: pure decisions over the spec, the state recorded on the monitor, and the clock.

* A run counts towards the **streak** when any condition in ``on`` is True; a run that
  judged those conditions False resets it; a run that judged none of them (an error, too
  little data) neither counts nor resets it.
* A streak of ``after`` runs calls for retraining, as does a ``schedule`` slot or a
  ``retrain-now`` request.  Then two gates, in order: ``maxConcurrent`` active ones, and the
  ``cooldown`` since the last start whatever its outcome (a request, being a person's
  explicit intent, passes the cooldown but not ``maxConcurrent``).
* Starting resets the streak; a suppressed breach keeps it, so the first unhealthy run
  after the cooldown acts at once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from modelmonitor.api.retraining import RetrainSpec
from modelmonitor.controller.conditions import RETRAINING, Condition
from modelmonitor.durations import parse_duration
from modelmonitor.times import iso, parse_iso


@dataclass(frozen=True)
class Active:
    """A retraining object that has not reported an outcome yet."""

    name: str
    api_version: str
    kind: str
    started_at: str
    trigger: str
    reason: str

    def to_status(self) -> dict[str, str]:
        return {
            "name": self.name,
            "apiVersion": self.api_version,
            "kind": self.kind,
            "startedAt": self.started_at,
            "trigger": self.trigger,
            "reason": self.reason,
        }

    @classmethod
    def from_status(cls, item: Mapping[str, Any]) -> Active:
        return cls(
            name=item["name"],
            api_version=item.get("apiVersion", "batch/v1"),
            kind=item.get("kind", "Job"),
            started_at=item["startedAt"],
            trigger=item.get("trigger", ""),
            reason=item.get("reason", ""),
        )


@dataclass(frozen=True)
class RetrainingState:
    """``status.retraining`` as a value: what is active, how it last ended, the streak and the next slot."""

    active: tuple[Active, ...] = ()
    last: Mapping[str, Any] | None = None
    count: int = 0
    streak: int = 0
    next_scheduled_at: str | None = None

    @classmethod
    def from_status(cls, status: Mapping[str, Any] | None) -> RetrainingState:
        status = status or {}
        return cls(
            active=tuple(Active.from_status(item) for item in status.get("active") or []),
            last=status.get("last"),
            count=int(status.get("count") or 0),
            streak=int(status.get("unhealthyStreak") or 0),
            next_scheduled_at=status.get("nextScheduledAt"),
        )

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "active": [item.to_status() for item in self.active],
            "count": self.count,
            "unhealthyStreak": self.streak,
            # null on purpose: a merge patch deletes the next slot once there is none (retraining taken out of the spec)
            "nextScheduledAt": self.next_scheduled_at,
        }
        if self.last:  # once there is a last retraining there always is: no null needed
            status["last"] = dict(self.last)
        return status

    def last_started_at(self) -> datetime | None:
        starts = [item.started_at for item in self.active]
        if self.last and self.last.get("startedAt"):
            starts.append(self.last["startedAt"])
        return max((parse_iso(start) for start in starts), default=None)

    def knows(self, name: str) -> bool:
        """Whether this object was started (and recorded) already."""
        return any(item.name == name for item in self.active) or bool(self.last and self.last.get("name") == name)

    def started(self, item: Active) -> RetrainingState:
        return replace(self, active=(*self.active, item), count=self.count + 1, streak=0)

    def finished(self, name: str, last: Mapping[str, Any]) -> RetrainingState:
        return replace(self, active=tuple(item for item in self.active if item.name != name), last=last)


class Action(StrEnum):
    START = "Start"
    SUPPRESS = "Suppress"
    DEBOUNCE = "Debounce"
    NONE = "None"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str = ""  # the Retraining condition's reason
    message: str = ""


NOTHING = Decision(Action.NONE)


def next_streak(streak: int, outcome: Mapping[str, str], on: Sequence[str]) -> tuple[int, list[str]]:
    """The streak after a run whose conditions were ``outcome`` (type -> status), and which triggers were True."""
    breached = [str(kind) for kind in on if outcome.get(str(kind)) == "True"]
    if breached:
        return streak + 1, breached
    if any(outcome.get(str(kind)) == "False" for kind in on):
        return 0, []
    return streak, []


def decide_on_run(
    spec: RetrainSpec, state: RetrainingState, streak: int, breached: Collection[str], now: datetime
) -> Decision:
    if not breached:
        return NOTHING
    what = f"{', '.join(breached)} in {streak} consecutive run{'s' if streak > 1 else ''}"
    if streak < spec.after:
        return Decision(Action.DEBOUNCE, "Debouncing", f"{what}; retraining after {spec.after}")
    return _gate(spec, state, now, what, cooldown_reason="Suppressed")


def decide_on_slot(spec: RetrainSpec, state: RetrainingState, slot: datetime, now: datetime) -> Decision:
    return _gate(spec, state, now, f"the scheduled retraining of {iso(slot)}", cooldown_reason="CoolingDown")


def decide_on_request(spec: RetrainSpec, state: RetrainingState, request: str, now: datetime) -> Decision:
    return _gate(spec, state, now, f"the retrain-now request {request!r}", cooldown_reason="", honour_cooldown=False)


def _gate(
    spec: RetrainSpec,
    state: RetrainingState,
    now: datetime,
    what: str,
    *,
    cooldown_reason: str,
    honour_cooldown: bool = True,
) -> Decision:
    if len(state.active) >= spec.max_concurrent:
        names = ", ".join(f"{item.kind} {item.name}" for item in state.active)
        return Decision(
            Action.SUPPRESS,
            "Suppressed",
            f"{what}: not retraining, {len(state.active)} already active "
            f"(maxConcurrent {spec.max_concurrent}): {names}",
        )
    started = state.last_started_at()
    if honour_cooldown and spec.cooldown and started is not None:
        until = started + parse_duration(spec.cooldown)
        if now < until:
            return Decision(
                Action.SUPPRESS,
                cooldown_reason,
                f"{what}: not retraining within the cooldown of {spec.cooldown} since the last one started at "
                f"{iso(started)}; possible again at {iso(until)}",
            )
    return Decision(Action.START, "Started", what)


def condition_after(decision: Decision, state: RetrainingState) -> Condition | None:
    """The Retraining condition once ``decision`` is applied to ``state``; None leaves it as it is.

    While one runs the condition stays True: a suppressed or debounced trigger does not hide it.
    """
    if decision.action is Action.NONE or (state.active and decision.action is not Action.START):
        return None
    status = "True" if decision.action is Action.START else "False"
    return Condition(RETRAINING, status, decision.reason, decision.message)


def condition_after_outcome(state: RetrainingState, outcome: str, message: str) -> Condition:
    """The Retraining condition once an object reported ``outcome`` (Succeeded, Failed or Unknown)."""
    if state.active:
        others = ", ".join(item.name for item in state.active)
        return Condition(RETRAINING, "True", "Started", f"{message}; still active: {others}")
    reason = outcome if outcome in ("Succeeded", "Failed") else "OutcomeUnknown"
    return Condition(RETRAINING, "False", reason, message)
