"""The decision rules with analysis.estimated: estimates may roll back early and advance; labels overrule them."""

from __future__ import annotations

from dataclasses import replace

from modelmonitor.controller.conditions import Condition
from modelmonitor.controller.rollouts.comparing import concept_drift, estimate_condition, estimate_event
from modelmonitor.controller.rollouts.policy import ESTIMATES, LABELS, Action, Bounds, decide, judge
from tests.controller.test_rollout_policy import NOW, WEIGHTS, evidence, position, spec


def estimated(
    guess_low: float, guess_high: float, rows: int = 5_000, labelled: int = 0, unreliable: str = "", **labels
):
    """Evidence with an estimate [guess_low, guess_high]; by default no label yet (``labelled`` rows an arm)."""
    found = evidence(rows=labelled, **labels)
    return replace(
        found,
        estimated=Bounds("accuracy", guess_low, guess_high, 0.01),
        estimated_rows={"baseline": rows * 9, "candidate": rows},
        unreliable=unreliable,
    )


def on() -> object:
    return spec(spec__analysis__estimated=True)


def test_an_estimated_worse_candidate_rolls_back_before_any_label() -> None:
    verdict = decide(on(), position(minutes=1), estimated(-0.09, -0.03), WEIGHTS, NOW)
    assert (verdict.action, verdict.reason, verdict.decided_by) == (
        Action.ROLLBACK,
        "CandidateWorseEstimated",
        ESTIMATES,
    )
    assert verdict.message == "estimated accuracy improvement [-0.0900, -0.0300] lies below −0.01"


def test_estimates_decide_nothing_unless_the_spec_asks() -> None:
    verdict = decide(spec(), position(minutes=1), estimated(-0.09, -0.03), WEIGHTS, NOW)
    assert (verdict.action, verdict.reason) == (Action.WAIT, "InsufficientData")


def test_estimates_on_too_few_rows_wait() -> None:
    verdict = decide(on(), position(minutes=1), estimated(-0.09, -0.03, rows=100), WEIGHTS, NOW)
    assert (verdict.action, verdict.reason) == (Action.WAIT, "InsufficientData")


def test_a_suspended_estimate_decides_nothing_and_the_wait_says_why() -> None:
    suspended = estimated(-0.09, -0.03, unreliable="the monitor's concept-drift checks fire")
    verdict = decide(on(), position(minutes=1), suspended, WEIGHTS, NOW)
    assert (verdict.action, verdict.reason) == (Action.WAIT, "InsufficientData")
    assert verdict.message.endswith("estimates suspended (EstimateUnreliable): the monitor's concept-drift checks fire")


def test_estimated_non_inferior_advances_a_step_after_its_minimum_duration() -> None:
    assert decide(on(), position(minutes=10), estimated(-0.005, 0.03), WEIGHTS, NOW).reason == "StepInProgress"
    verdict = decide(on(), position(), estimated(-0.005, 0.03), WEIGHTS, NOW)
    assert (verdict.action, verdict.reason, verdict.decided_by) == (Action.ADVANCE, "NonInferiorEstimated", ESTIMATES)


def test_the_last_step_waits_for_labels_unless_promote_on_estimated() -> None:
    last = position(step=2, minutes=130)
    verdict = decide(on(), last, estimated(-0.005, 0.03), WEIGHTS, NOW)
    assert (verdict.action, verdict.reason) == (Action.WAIT, "AwaitingLabels")
    assert "promotion waits for the labels (promoteOn: labels)" in verdict.message
    eager = spec(spec__analysis__estimated=True, spec__analysis__promoteOn="estimated")
    promoted = decide(eager, last, estimated(-0.005, 0.03), WEIGHTS, NOW)
    assert (promoted.action, promoted.reason, promoted.decided_by) == (
        Action.PROMOTE,
        "NonInferiorEstimated",
        ESTIMATES,
    )


def test_the_last_step_waiting_for_labels_that_stay_undecided_runs_out_of_its_budget() -> None:
    straddling = estimated(-0.005, 0.03, labelled=800, low=-0.03, high=0.02)
    waiting = decide(on(), position(step=2, minutes=130), straddling, WEIGHTS, NOW)
    assert (waiting.action, waiting.reason) == (Action.WAIT, "AwaitingLabels")
    late = decide(on(), position(step=2, minutes=60 * 24), straddling, WEIGHTS, NOW)  # the budget: 4 x 2h
    assert (late.action, late.reason) == (Action.INCONCLUSIVE, "Inconclusive")


def test_labels_overrule_estimates() -> None:
    # the labels say non-inferior: the estimate's "worse" does not roll back, the labels promote
    both = estimated(-0.09, -0.03, labelled=800)
    verdict = decide(on(), position(step=2, minutes=130), both, WEIGHTS, NOW)
    assert (verdict.action, verdict.reason, verdict.decided_by) == (Action.PROMOTE, "NonInferior", LABELS)
    # the labels say worse: rolled back on them, whatever the estimate says
    worse = estimated(-0.005, 0.03, labelled=800, low=-0.08, high=-0.02)
    verdict = decide(on(), position(), worse, WEIGHTS, NOW)
    assert (verdict.action, verdict.reason, verdict.decided_by) == (Action.ROLLBACK, "CandidateWorse", LABELS)


def test_a_labelled_guardrail_breach_rolls_back_even_when_the_estimate_passes() -> None:
    breached = estimated(-0.005, 0.03, labelled=800, guard=(-0.09, -0.03))
    assert decide(on(), position(), breached, WEIGHTS, NOW).reason == "GuardrailBreached"


def test_the_comparison_endpoint_fails_on_an_estimate_and_passes_on_one_only_when_asked() -> None:
    assert judge(estimated(-0.09, -0.03), 500).reason == "CandidateWorseEstimated"
    waiting = judge(estimated(-0.005, 0.03), 500)
    assert (waiting.action, waiting.reason) == (Action.WAIT, "AwaitingLabels")
    assert judge(estimated(-0.005, 0.03), 500, pass_on_estimates=True).action is Action.PROMOTE
    assert judge(estimated(-0.09, -0.03, unreliable="drift"), 500).reason == "InsufficientData"


def test_the_estimates_condition_says_refused_suspended_or_trusted() -> None:
    refused = estimate_condition({"estimated": {"refused": "candidate.reference is not set"}}, estimated(-0.1, 0.1))
    assert (refused.status, refused.reason) == ("False", "EstimateRefused")
    suspended = estimate_condition({"estimated": {"primary": {}}}, estimated(-0.1, 0.1, unreliable="drift"))
    assert (suspended.status, suspended.reason, suspended.message) == ("False", "EstimateUnreliable", "drift")
    trusted = estimate_condition({"estimated": {"primary": {}}}, estimated(-0.1, 0.1))
    assert (trusted.type, trusted.status, trusted.reason) == ("EstimatesTrusted", "True", "EstimatesHold")


def test_only_a_true_concept_drift_condition_suspends_the_estimates() -> None:
    def monitor(status: str) -> dict:
        drift = {"type": "ConceptDrift", "status": status, "reason": "ConceptDrift", "message": "ddm: drift at row 900"}
        return {"status": {"conditions": [{"type": "Healthy", "status": "False"}, drift]}}

    assert concept_drift(monitor("True")) == "the monitor's concept-drift checks fire (ddm: drift at row 900)"
    assert concept_drift(monitor("False")) == concept_drift(monitor("Unknown")) == concept_drift({}) == ""


def test_an_event_tells_when_the_estimates_are_refused_suspended_or_trusted_again() -> None:
    trusted = Condition("EstimatesTrusted", "True", "EstimatesHold", "no concept drift")
    suspended = Condition("EstimatesTrusted", "False", "EstimateUnreliable", "baseline's labelled rows realize")
    assert estimate_event([], trusted) is None  # trusted from the start: no news
    assert estimate_event([], suspended) == ("Warning", "EstimateUnreliable", "baseline's labelled rows realize")
    before = [{"type": "EstimatesTrusted", "status": "False", "reason": "EstimateUnreliable"}]
    assert estimate_event(before, suspended) is None  # told once
    assert estimate_event(before, trusted) == ("Normal", "EstimatesHold", "no concept drift")
