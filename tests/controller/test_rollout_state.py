"""A rollout's state moved on by verdicts: steps, terminal phases, pauses, restarts. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from modelmonitor.controller.rollouts import state as states
from modelmonitor.controller.rollouts.policy import Action, Verdict
from modelmonitor.times import parse_iso
from tests.controller.test_rollout_policy import spec

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def started():
    return states.start(spec(), generation=1, now=NOW)


def test_a_start_sets_step_one_and_waits_for_the_router() -> None:
    state = started()
    assert (state.phase, state.step, dict(state.weights), state.weights_applied) == (
        "Progressing",
        0,
        {"baseline": 90, "candidate": 10},
        False,
    )
    assert [event[1] for event in state.events] == ["RolloutStarted"]
    assert states.RolloutState.from_status(state.to_status()) == state


def test_a_start_is_kept_to_the_microsecond() -> None:
    """Rows logged in the second before a rollout began are not its own (whole seconds counted them in)."""
    moment = datetime(2026, 11, 23, 12, 0, 5, 165_397, tzinfo=UTC)
    state = states.start(spec(), generation=1, now=moment)
    assert parse_iso(state.started_at) == moment == parse_iso(state.step_started_at)


def test_advancing_moves_to_the_next_steps_weights() -> None:
    state = states.advance(started(), spec(), Verdict(Action.ADVANCE, "NonInferior", "ok"), NOW)
    assert state.step == 1 and dict(state.weights) == {"baseline": 75, "candidate": 25} and not state.weights_applied
    assert state.events[0][1] == "StepAdvanced" and state.to_status()["currentStep"] == 2


def test_terminal_decisions_set_all_or_nothing_and_remember_an_aborted_version() -> None:
    promoted = states.advance(started(), spec(), Verdict(Action.PROMOTE, "NonInferior", "ok"), NOW)
    assert promoted.phase == "Promoted" and dict(promoted.weights) == states.ALL_CANDIDATE and promoted.terminal
    rolled = states.advance(started(), spec(), Verdict(Action.ROLLBACK, "CandidateWorse", "bad"), NOW)
    assert (
        rolled.phase == "RolledBack" and dict(rolled.weights) == states.ALL_BASELINE and rolled.aborted_version == "8"
    )
    aborted = states.advance(started(), spec(), Verdict(Action.ABORT, "AbortedByUser", "no"), NOW)
    assert aborted.phase == "Aborted" and aborted.events[0] == ("Warning", "Aborted", "baseline 7 at 100%: no")


def test_promoted_turns_true_only_once_the_router_carries_it() -> None:
    promoted = states.advance(started(), spec(), Verdict(Action.PROMOTE, "NonInferior", "ok"), NOW)
    by_type = {c.type: c.status for c in states.conditions(promoted)}
    assert by_type == {"Progressing": "True", "Promoted": "False", "RolledBack": "False", "Paused": "False"}
    settled = {c.type: c.status for c in states.conditions(replace(promoted, weights_applied=True))}
    assert settled["Promoted"] == "True" and settled["Progressing"] == "False"


def test_a_repeated_pause_posts_no_new_event_and_a_wait_after_a_pause_resumes() -> None:
    paused = states.advance(started(), spec(), Verdict(Action.PAUSE, "SampleRatioMismatch", "split"), NOW)
    assert paused.phase == "Paused" and paused.paused == "SampleRatioMismatch" and len(paused.events) == 1
    again = states.advance(paused, spec(), Verdict(Action.PAUSE, "SampleRatioMismatch", "split"), NOW)
    assert again.events == ()
    resumed = states.advance(paused, spec(), Verdict(Action.WAIT, "InsufficientData", "more"), NOW)
    assert resumed.phase == "Progressing" and resumed.paused == "" and resumed.events[0][1] == "RolloutResumed"


def test_inconclusive_holds_or_rolls_back_as_the_spec_says() -> None:
    held = states.advance(started(), spec(), Verdict(Action.INCONCLUSIVE, "Inconclusive", "straddles"), NOW)
    assert held.phase == "Inconclusive" and dict(held.weights) == {"baseline": 90, "candidate": 10}
    back = states.advance(
        started(), spec(spec__onInconclusive="rollback"), Verdict(Action.INCONCLUSIVE, "Inconclusive", "x"), NOW
    )
    assert dict(back.weights) == states.ALL_BASELINE and back.aborted_version == "8"


def test_a_finished_rollout_restarts_only_for_a_changed_spec_and_never_for_an_aborted_version() -> None:
    rolled = states.advance(started(), spec(), Verdict(Action.ROLLBACK, "CandidateWorse", "bad"), NOW)
    assert not states.should_restart(spec(), rolled, generation=1)
    assert not states.should_restart(spec(spec__steps__0__minDuration="1h"), rolled, generation=2)  # still version 8
    assert states.should_restart(spec(spec__candidate__version="10"), rolled, generation=3)


def test_a_resume_counts_once_per_generation() -> None:
    paused = replace(started(), paused="WeightDrift", resumed_generation=0)
    assert states.resume_pending(spec(spec__decision="resume"), paused, generation=2)
    assert not states.resume_pending(spec(spec__decision="resume"), replace(paused, resumed_generation=2), 2)


def test_a_start_pins_each_arms_version_in_status() -> None:
    state = states.start(spec(), 3, NOW)
    assert state.versions == {"baseline": "7", "candidate": "8"}
    assert states.RolloutState.from_status(state.to_status()).versions == state.versions
    older = {key: value for key, value in state.to_status().items() if key not in ("versions", "registryRecordedAt")}
    assert states.RolloutState.from_status(older).versions == {}  # a status from before versions were kept


def test_a_promotion_tags_both_versions_and_a_rollback_the_candidate_alone() -> None:
    from modelmonitor.controller.rollouts.registry import decision_tags

    versions = {"baseline": "7", "candidate": "8"}
    promoted = decision_tags(spec(), "credit-v8", states.PROMOTED, versions, "accuracy +0.012 [-0.003, +0.027]")
    assert sorted(promoted) == ["7", "8"]
    assert promoted["8"] == {
        "modelmonitor.rollout": "credit-v8",
        "modelmonitor.rollout.decision": "Promoted",
        "modelmonitor.rollout.metric": "accuracy",
        "modelmonitor.rollout.interval": "accuracy +0.012 [-0.003, +0.027]",
        "modelmonitor.rollout.role": "candidate",
    }
    assert promoted["7"]["modelmonitor.rollout.role"] == "baseline"
    rolled_back = decision_tags(spec(), "credit-v8", states.ROLLED_BACK, versions, "")
    assert list(rolled_back) == ["8"] and rolled_back["8"]["modelmonitor.rollout.decision"] == "RolledBack"
    assert "modelmonitor.rollout.interval" not in rolled_back["8"]  # no interval was shown: none is claimed


def test_the_registry_names_the_versions_only_at_a_start_a_restart_or_while_a_start_waits_for_it() -> None:
    from modelmonitor.api.parsing import parse_rollout_spec

    document = spec().model_dump(by_alias=True, exclude_none=True)
    document["candidate"] = {"mlflow": {"alias": "challenger"}, "backend": "credit-risk-v8"}
    by_alias = parse_rollout_spec(document)
    running = replace(states.start(spec(), 1, NOW), versions={"baseline": "7", "candidate": "12"})
    pinned = states.pinned_spec(by_alias, running, 2)  # a spec change mid-rollout keeps what it started with
    assert pinned is not None and pinned.candidate.version == "12"
    assert states.pinned_spec(by_alias, None, 1) is None  # the start
    finished = replace(running, phase=states.PROMOTED)
    assert states.pinned_spec(by_alias, finished, 1) is not None
    assert states.pinned_spec(by_alias, finished, 2) is None  # a changed spec may start it again: ask anew
    waiting = replace(running, phase=states.PAUSED, paused=states.REGISTRY_UNAVAILABLE, versions={})
    assert states.pinned_spec(by_alias, waiting, 1) is None
    assert states.pinned_spec(spec(), replace(running, versions={}), 1) == spec()  # no alias: nothing to pin


def test_a_shadow_step_mirrors_the_candidate_while_the_baseline_serves_everyone() -> None:
    shadowing = spec(spec__steps=[{"mirror": 100, "minDuration": "1h"}, {"weight": 20, "minDuration": "1h"}])
    state = states.start(shadowing, generation=1, now=NOW)
    assert (dict(state.weights), state.mirror) == ({"baseline": 100, "candidate": 0}, 100)
    assert state.message == "step 1 of 2: candidate 8 mirrored 100% (shadow)"
    assert state.to_status()["mirror"] == 100 and states.RolloutState.from_status(state.to_status()) == state
    assert states.logged_weights(state.weights, state.mirror) == {"baseline": 100, "candidate": 100}
    live = states.advance(state, shadowing, Verdict(Action.ADVANCE, "NonInferior", "ok"), NOW)
    assert (dict(live.weights), live.mirror) == ({"baseline": 80, "candidate": 20}, 0)
    assert live.message == "step 2 of 2: candidate at 20% (ok)"
    assert states.logged_weights(live.weights, live.mirror) == dict(live.weights)
    for action in (Action.ROLLBACK, Action.PROMOTE, Action.ABORT):
        assert states.advance(state, shadowing, Verdict(action, "r", "m"), NOW).mirror == 0
    assert states.RolloutState.from_status({k: v for k, v in live.to_status().items() if k != "mirror"}) == live
