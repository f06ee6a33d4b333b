"""What a rollout does next: pure rules over the spec, where it stands, the comparison and the router.

In order, the first that applies wins:

1. a person's ``spec.decision``: promote, abort, or pause; a paused rollout stays paused
   until the decision is resume;
2. the router's weights (or mirrored share) differ from the ones set: pause, ``WeightDrift``;
3. the arms' row shares disagree with the weights (sequential p < 0.001): pause,
   ``SampleRatioMismatch``, since a broken split invalidates every comparison;
4. the candidate's labelled interval lies entirely below −δ, on the primary metric or a
   guardrail: roll back;
5. with ``analysis.estimated``, the estimates trusted (no ``EstimateUnreliable``) and the
   labels not yet conclusive: the candidate's estimated interval lies entirely below −δ: roll
   back, before the labels;
6. fewer labelled rows than ``minSamplesPerArm`` in an arm, and no estimate to go on: wait,
   ``InsufficientData``; no data is neither failure nor success;
7. the step's ``minDuration`` has not passed: wait;
8. the labelled interval's lower bound is above −δ and every guardrail's too: advance, or
   promote after the last step. Labels overrule estimates;
9. the estimated lower bound is above −δ (and no labelled guardrail is worse): advance; after
   the last step promote only with ``promoteOn: estimated``, else wait for the labels;
10. the step's budget (``maxDuration``, by default four times ``minDuration``) ran out:
    ``Inconclusive``, then ``onInconclusive`` (pause or roll back);
11. otherwise continue: wait for more data at this step.

The intervals come from the engine's confidence sequences, valid at every look, so
re-evaluating every ``interval`` does not inflate the error rates. Every verdict says which
evidence decided it (``decided_by``: labels or estimates).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from modelmonitor.api.rollout import ModelRolloutSpec, OnInconclusive, PromoteOn, UserDecision
from modelmonitor.durations import parse_duration

SRM_P_VALUE = 0.001
DEFAULT_BUDGET_FACTOR = 4
LABELS = "labels"
ESTIMATES = "estimates"


class Action(StrEnum):
    WAIT = "Wait"
    ADVANCE = "Advance"
    PROMOTE = "Promote"
    ROLLBACK = "Rollback"
    PAUSE = "Pause"
    ABORT = "Abort"
    INCONCLUSIVE = "Inconclusive"


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str
    message: str
    decided_by: str = ""  # LABELS or ESTIMATES when the comparison decided it


@dataclass(frozen=True)
class Position:
    """Where the rollout stands: the step (0-based), when it began, the weights (and mirror) set, and a pause not yet
    resumed."""

    step: int
    step_started_at: datetime
    weights_set: Mapping[str, int]
    paused: str = ""  # the reason it was paused for
    mirror_set: int = 0  # percent of the requests mirrored to the candidate


@dataclass(frozen=True)
class Bounds:
    """The interval of the candidate's improvement (negative: worse) for one metric, and its margin."""

    metric: str
    low: float
    high: float
    margin: float

    @property
    def worse(self) -> bool:
        """Worse than the margin allows, at every look: the whole interval lies below −δ."""
        return self.high < -self.margin

    @property
    def non_inferior(self) -> bool:
        return self.low > -self.margin


@dataclass(frozen=True)
class Evidence:
    """What the comparison found, as the controller needs it (the numbers come from the engine)."""

    labeled_rows: Mapping[str, int]  # arm -> labelled rows since the rollout began
    primary: Bounds | None
    guardrails: Sequence[Bounds]
    srm_p_value: float
    expected_shares: Sequence[float]
    observed_shares: Sequence[float]
    estimated: Bounds | None = None  # analysis.estimated: the expected primary metric's interval
    estimated_rows: Mapping[str, int] | None = None  # arm -> rows the estimate rests on (labelled or not)
    unreliable: str = ""  # why the estimates are not to be trusted now (EstimateUnreliable)

    def trusted_estimate(self, minimum: int) -> Bounds | None:
        """The estimate to decide on: trusted, and resting on at least ``minimum`` rows per arm."""
        if self.unreliable or self.estimated is None or not self.estimated_rows:
            return None
        return self.estimated if min(self.estimated_rows.values()) >= minimum else None


def decide(
    spec: ModelRolloutSpec,
    position: Position,
    evidence: Evidence | None,
    observed_weights: Mapping[str, int] | None,
    now: datetime,
    changed_by: str = "",
    observed_mirror: int | None = None,
) -> Verdict:
    """The next action; ``evidence`` is None when the data could not be compared (it waits)."""
    if spec.decision is UserDecision.PROMOTE:
        return Verdict(Action.PROMOTE, "PromotedByUser", "spec.decision is promote")
    if spec.decision is UserDecision.ABORT:
        return Verdict(Action.ABORT, "AbortedByUser", "spec.decision is abort")
    if spec.decision is UserDecision.PAUSE:
        return Verdict(Action.PAUSE, "PausedByUser", "spec.decision is pause")
    if position.paused and spec.decision is not UserDecision.RESUME:
        return Verdict(Action.PAUSE, position.paused, f"paused ({position.paused}) until spec.decision is resume")
    if observed_weights is not None and dict(observed_weights) != dict(position.weights_set):
        return Verdict(
            Action.PAUSE,
            "WeightDrift",
            f"the router's weights are {_weights(observed_weights)}, not the {_weights(position.weights_set)} "
            f"this rollout set: changed by {changed_by or 'someone or something else'}",
        )
    if observed_mirror is not None and observed_mirror != position.mirror_set:
        return Verdict(
            Action.PAUSE,
            "WeightDrift",
            f"the router mirrors {observed_mirror}% of the requests to the candidate, not the {position.mirror_set}% "
            f"this rollout set: changed by {changed_by or 'someone or something else'}",
        )
    if evidence is None:
        return Verdict(Action.WAIT, "NoComparison", "the versions could not be compared yet")
    if evidence.srm_p_value < SRM_P_VALUE:
        return Verdict(
            Action.PAUSE,
            "SampleRatioMismatch",
            f"rows split {_shares(evidence.observed_shares)} between baseline and candidate, not the "
            f"{_shares(evidence.expected_shares)} set (sequential p={evidence.srm_p_value:.2g} < {SRM_P_VALUE}): "
            "a broken split invalidates the comparison",
        )
    minimum = spec.analysis.min_samples_per_arm
    waiting = _too_little(evidence, minimum)
    everything = (evidence.primary, *evidence.guardrails) if waiting is None and evidence.primary is not None else ()
    if worse := [bounds for bounds in everything if bounds.worse]:
        reason = "CandidateWorse" if worse[0] is evidence.primary else "GuardrailBreached"
        return Verdict(Action.ROLLBACK, reason, _below(worse), LABELS)
    labelled_pass = waiting is None and all(bounds.non_inferior for bounds in everything)
    estimate = evidence.trusted_estimate(minimum) if spec.analysis.estimated else None
    if estimate is not None and estimate.worse and not labelled_pass:
        return Verdict(Action.ROLLBACK, "CandidateWorseEstimated", f"estimated {_below([estimate])}", ESTIMATES)
    if waiting is not None and estimate is None:
        return _with_suspension(waiting, evidence)
    step = spec.steps[position.step]
    elapsed = now - position.step_started_at
    if elapsed < parse_duration(step.min_duration):
        return Verdict(Action.WAIT, "StepInProgress", f"step {position.step + 1} lasts at least {step.min_duration}")
    last = position.step + 1 == len(spec.steps)
    if labelled_pass:
        return Verdict(Action.PROMOTE if last else Action.ADVANCE, "NonInferior", _above(everything), LABELS)
    if estimate is not None and estimate.non_inferior:
        message = f"estimated {_above([estimate])}"
        if not last:
            return Verdict(Action.ADVANCE, "NonInferiorEstimated", message, ESTIMATES)
        if spec.analysis.promote_on is PromoteOn.ESTIMATED:
            return Verdict(Action.PROMOTE, "NonInferiorEstimated", f"{message} (promoteOn: estimated)", ESTIMATES)
        if waiting is not None or elapsed < budget(spec, position.step):  # labels undecided past it: Inconclusive
            waits = f"{message}; promotion waits for the labels (promoteOn: labels)"
            return Verdict(Action.WAIT, "AwaitingLabels", waits)
    if waiting is not None:
        return _with_suspension(waiting, evidence)
    assert evidence.primary is not None
    if elapsed >= budget(spec, position.step):
        then = "rolling back" if spec.on_inconclusive is OnInconclusive.ROLLBACK else "pausing"
        return Verdict(
            Action.INCONCLUSIVE,
            "Inconclusive",
            f"step {position.step + 1} ran out of its {_hours(budget(spec, position.step))} undecided: "
            f"{_straddles(evidence.primary)}; {then}",
        )
    return Verdict(Action.WAIT, "Undecided", _straddles(evidence.primary))


def _with_suspension(verdict: Verdict, evidence: Evidence) -> Verdict:
    """A wait for labels says so when the estimates are suspended."""
    if not evidence.unreliable or evidence.estimated is None:
        return verdict
    suspended = f"estimates suspended (EstimateUnreliable): {evidence.unreliable}"
    return replace(verdict, message=f"{verdict.message}; {suspended}")


def budget(spec: ModelRolloutSpec, step: int) -> timedelta:
    chosen = spec.steps[step]
    if chosen.max_duration is not None:
        return parse_duration(chosen.max_duration)
    return DEFAULT_BUDGET_FACTOR * parse_duration(chosen.min_duration)


def _weights(weights: Mapping[str, Any]) -> str:
    return "/".join(f"{arm} {weight}%" for arm, weight in weights.items())


def _shares(shares: Sequence[float]) -> str:
    return "/".join(f"{share:.1%}" for share in shares)


def _interval(bounds: Bounds) -> str:
    return f"{bounds.metric} improvement [{bounds.low:+.4f}, {bounds.high:+.4f}]"


def _below(worse: Sequence[Bounds]) -> str:
    return "; ".join(f"{_interval(bounds)} lies below −{bounds.margin:g}" for bounds in worse)


def _above(passed: Sequence[Bounds]) -> str:
    return "; ".join(f"{_interval(bounds)} lies above −{bounds.margin:g}" for bounds in passed)


def _straddles(bounds: Bounds) -> str:
    return f"{_interval(bounds)} straddles −{bounds.margin:g}"


def _too_little(evidence: Evidence, minimum: int) -> Verdict | None:
    """Never decide on too little data: fewer labelled rows than ``minimum`` in an arm, or no primary interval."""
    if min(evidence.labeled_rows.values(), default=0) >= minimum and evidence.primary is not None:
        return None
    counts = ", ".join(f"{arm} {rows}" for arm, rows in evidence.labeled_rows.items())
    return Verdict(Action.WAIT, "InsufficientData", f"labelled rows {counts}; {minimum} per arm needed")


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:g}h"


def judge(evidence: Evidence, min_samples_per_arm: int, pass_on_estimates: bool = False) -> Verdict:
    """One comparison's verdict, without steps or weights: what the comparison endpoint answers.

    Pass: non-inferior on every metric. Fail: worse than the margin on any. Inconclusive:
    neither yet, or too little data. A sample-ratio mismatch is a Fail: the split is broken.
    With an estimate (``estimated=true``), trusted and the labels not conclusive: worse is a
    Fail; non-inferior a Pass only with ``pass_on_estimates``, else Inconclusive until labels agree.
    """
    if evidence.srm_p_value < SRM_P_VALUE:
        shares = f"{_shares(evidence.observed_shares)} instead of {_shares(evidence.expected_shares)}"
        return Verdict(Action.ROLLBACK, "SampleRatioMismatch", f"rows split {shares} (p={evidence.srm_p_value:.2g})")
    waiting = _too_little(evidence, min_samples_per_arm)
    everything = (evidence.primary, *evidence.guardrails) if waiting is None and evidence.primary is not None else ()
    if worse := [bounds for bounds in everything if bounds.worse]:
        return Verdict(Action.ROLLBACK, "CandidateWorse", _below(worse), LABELS)
    if everything and all(bounds.non_inferior for bounds in everything):
        return Verdict(Action.PROMOTE, "NonInferior", _above(everything), LABELS)
    if (estimate := evidence.trusted_estimate(min_samples_per_arm)) is not None:
        if estimate.worse:
            return Verdict(Action.ROLLBACK, "CandidateWorseEstimated", f"estimated {_below([estimate])}", ESTIMATES)
        if estimate.non_inferior and pass_on_estimates:
            return Verdict(Action.PROMOTE, "NonInferiorEstimated", f"estimated {_above([estimate])}", ESTIMATES)
        if estimate.non_inferior:
            return Verdict(Action.WAIT, "AwaitingLabels", f"estimated {_above([estimate])}; the labels must agree")
    if waiting is not None:
        return _with_suspension(waiting, evidence)
    assert evidence.primary is not None
    return Verdict(Action.WAIT, "Undecided", _straddles(evidence.primary))
