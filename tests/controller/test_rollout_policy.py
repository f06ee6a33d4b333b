"""The rollout's decision rules, one by one and in their order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from modelmonitor.api.parsing import parse_rollout_spec
from modelmonitor.controller.rollouts.policy import Action, Bounds, Evidence, Position, decide
from tests.controller.test_rollout_spec import VALID
from tests.helpers import with_value

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WEIGHTS = {"baseline": 90, "candidate": 10}


def spec(**changes):
    document = VALID
    for path, value in changes.items():
        document = with_value(document, path.replace("__", "."), value)
    return parse_rollout_spec(document["spec"])


def position(step: int = 0, minutes: float = 45, paused: str = "") -> Position:
    return Position(step, NOW - timedelta(minutes=minutes), WEIGHTS, paused)


def evidence(
    low: float = -0.005,
    high: float = 0.02,
    rows: int = 800,
    guard: tuple[float, float] = (-0.01, 0.03),
    srm: float = 0.5,
) -> Evidence:
    return Evidence(
        labeled_rows={"baseline": rows * 9, "candidate": rows},
        primary=Bounds("accuracy", low, high, 0.01),
        guardrails=[Bounds("rocAuc", *guard, 0.02)],
        srm_p_value=srm,
        expected_shares=(0.9, 0.1),
        observed_shares=(0.9, 0.1),
    )


def test_non_inferior_after_the_minimum_duration_advances() -> None:
    verdict = decide(spec(), position(), evidence(), WEIGHTS, NOW)
    assert (verdict.action, verdict.reason) == (Action.ADVANCE, "NonInferior")
    assert "accuracy improvement [-0.0050, +0.0200] lies above −0.01" in verdict.message


def test_after_the_last_step_it_promotes() -> None:
    assert decide(spec(), position(step=2, minutes=130), evidence(), WEIGHTS, NOW).action is Action.PROMOTE


def test_it_waits_out_the_minimum_duration_even_when_the_evidence_is_good() -> None:
    verdict = decide(spec(), position(minutes=10), evidence(), WEIGHTS, NOW)
    assert (verdict.action, verdict.reason) == (Action.WAIT, "StepInProgress")


def test_a_clearly_worse_candidate_rolls_back_at_once_even_within_the_step() -> None:
    verdict = decide(spec(), position(minutes=1), evidence(low=-0.08, high=-0.02), WEIGHTS, NOW)
    assert (verdict.action, verdict.reason) == (Action.ROLLBACK, "CandidateWorse")
    breached = decide(spec(), position(), evidence(guard=(-0.09, -0.03)), WEIGHTS, NOW)
    assert (breached.action, breached.reason) == (Action.ROLLBACK, "GuardrailBreached")
    assert "rocAuc improvement [-0.0900, -0.0300] lies below −0.02" in breached.message


def test_a_failing_guardrail_holds_the_advance() -> None:
    verdict = decide(spec(), position(), evidence(guard=(-0.05, 0.01)), WEIGHTS, NOW)
    assert (verdict.action, verdict.reason) == (Action.WAIT, "Undecided")


def test_too_little_data_waits_and_names_the_counts() -> None:
    verdict = decide(spec(), position(), evidence(rows=120), WEIGHTS, NOW)
    assert (verdict.action, verdict.reason) == (Action.WAIT, "InsufficientData")
    assert verdict.message == "labelled rows baseline 1080, candidate 120; 500 per arm needed"
    assert decide(spec(), position(), evidence(low=-0.9, high=-0.5, rows=120), WEIGHTS, NOW).action is Action.WAIT


def test_a_sample_ratio_mismatch_pauses_before_anything_else() -> None:
    mismatch = evidence(low=-0.08, high=-0.02, srm=1e-6)
    verdict = decide(spec(), position(), mismatch, WEIGHTS, NOW)
    assert (verdict.action, verdict.reason) == (Action.PAUSE, "SampleRatioMismatch")
    assert "90.0%/10.0%" in verdict.message and "p=1e-06 < 0.001" in verdict.message


def test_weights_changed_by_someone_else_pause_it() -> None:
    verdict = decide(spec(), position(), evidence(), {"baseline": 50, "candidate": 50}, NOW)
    assert (verdict.action, verdict.reason) == (Action.PAUSE, "WeightDrift")
    assert "baseline 50%/candidate 50%, not the baseline 90%/candidate 10%" in verdict.message


def test_a_mirror_changed_by_someone_else_pauses_it() -> None:
    shadow = Position(0, NOW - timedelta(minutes=45), {"baseline": 100, "candidate": 0}, mirror_set=100)
    weights = {"baseline": 100, "candidate": 0}
    verdict = decide(spec(), shadow, evidence(), weights, NOW, changed_by="argocd", observed_mirror=0)
    assert (verdict.action, verdict.reason) == (Action.PAUSE, "WeightDrift")
    assert verdict.message == (
        "the router mirrors 0% of the requests to the candidate, not the 100% this rollout set: changed by argocd"
    )
    assert decide(spec(), shadow, evidence(), weights, NOW, observed_mirror=100).reason != "WeightDrift"


@pytest.mark.parametrize(
    ("decision", "action"), [("promote", Action.PROMOTE), ("abort", Action.ABORT), ("pause", Action.PAUSE)]
)
def test_a_persons_decision_comes_first(decision: str, action: Action) -> None:
    assert (
        decide(spec(spec__decision=decision), position(), evidence(low=-0.08, high=-0.02), {"x": 1}, NOW).action
        is action
    )


def test_an_undecided_step_is_inconclusive_when_its_budget_runs_out() -> None:
    straddling = evidence(low=-0.03, high=0.02)
    assert decide(spec(), position(minutes=100), straddling, WEIGHTS, NOW).action is Action.WAIT
    verdict = decide(spec(), position(minutes=121), straddling, WEIGHTS, NOW)  # 4 × 30m
    assert (verdict.action, verdict.reason) == (Action.INCONCLUSIVE, "Inconclusive")
    assert "step 1 ran out of its 2h undecided" in verdict.message and verdict.message.endswith("pausing")
    rollback = spec(spec__onInconclusive="rollback", spec__steps__0__maxDuration="40m")
    assert decide(rollback, position(minutes=41), straddling, WEIGHTS, NOW).message.endswith("rolling back")


def test_no_comparison_waits() -> None:
    assert decide(spec(), position(), None, WEIGHTS, NOW).reason == "NoComparison"


def test_a_pause_holds_until_a_person_resumes() -> None:
    held = decide(spec(), position(paused="SampleRatioMismatch"), evidence(), WEIGHTS, NOW)
    assert (held.action, held.reason) == (Action.PAUSE, "SampleRatioMismatch")
    assert "until spec.decision is resume" in held.message
    resumed = decide(spec(spec__decision="resume"), position(paused="SampleRatioMismatch"), evidence(), WEIGHTS, NOW)
    assert resumed.action is Action.ADVANCE


def test_a_single_comparison_is_judged_pass_fail_or_inconclusive() -> None:
    from modelmonitor.controller.rollouts.policy import judge

    assert judge(evidence(), 500).reason == "NonInferior"
    assert judge(evidence(low=-0.08, high=-0.02), 500).reason == "CandidateWorse"
    assert judge(evidence(low=-0.03, high=0.02), 500).reason == "Undecided"
    assert judge(evidence(rows=100), 500).reason == "InsufficientData"
    assert judge(evidence(srm=1e-9), 500).action is Action.ROLLBACK
