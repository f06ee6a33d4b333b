"""Retraining decisions and objects, as pure functions: streak, gates, conditions, manifests, outcomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from modelmonitor.api.parsing import parse_spec
from modelmonitor.api.retraining import RetrainSpec
from modelmonitor.controller.retraining.objects import (
    CONTEXT_ANNOTATION,
    TriggerContext,
    build_object,
    context_from_summary,
    guess_plural,
    read_outcome,
    retraining_name,
)
from modelmonitor.controller.retraining.policy import (
    Action,
    Active,
    RetrainingState,
    condition_after,
    condition_after_outcome,
    decide_on_request,
    decide_on_run,
    decide_on_slot,
    next_streak,
)
from modelmonitor.errors import SpecError
from modelmonitor.times import iso

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
JOB = {"spec": {"template": {"spec": {"containers": [{"name": "train", "image": "trainer:1"}]}}}}


def retrain(**fields: Any) -> RetrainSpec:
    return RetrainSpec.model_validate({"jobTemplate": JOB, **fields})


def active(name: str = "m-rt-1", started: datetime = NOW) -> Active:
    return Active(name, "batch/v1", "Job", iso(started), "breach", "PerformanceDegraded")


# --- the streak ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "streak", "breached"),
    [
        ({"PerformanceDegraded": "True", "DataDrift": "True"}, 3, ["PerformanceDegraded"]),
        ({"PerformanceDegraded": "False", "DataDrift": "True"}, 0, []),  # judged healthy for its trigger: reset
        ({"PerformanceDegraded": "Unknown"}, 2, []),  # an error or too little data: neither counts nor resets
        ({}, 2, []),
    ],
)
def test_the_streak_counts_consecutive_breaches_of_the_chosen_conditions(outcome, streak, breached) -> None:
    assert next_streak(2, outcome, ["PerformanceDegraded"]) == (streak, breached)


def test_any_of_several_triggers_counts() -> None:
    assert next_streak(
        0, {"PerformanceDegraded": "False", "ConceptDrift": "True"}, ["PerformanceDegraded", "ConceptDrift"]
    ) == (
        1,
        ["ConceptDrift"],
    )


# --- the gates -------------------------------------------------------------------------


def test_below_after_it_debounces_and_at_after_it_starts() -> None:
    spec = retrain(after=2)
    first = decide_on_run(spec, RetrainingState(), 1, ["PerformanceDegraded"], NOW)
    assert (first.action, first.reason) == (Action.DEBOUNCE, "Debouncing")
    assert first.message == "PerformanceDegraded in 1 consecutive run; retraining after 2"
    second = decide_on_run(spec, RetrainingState(), 2, ["PerformanceDegraded"], NOW)
    assert (second.action, second.reason) == (Action.START, "Started")


def test_a_healthy_run_decides_nothing() -> None:
    assert decide_on_run(retrain(), RetrainingState(), 0, [], NOW).action is Action.NONE


def test_the_cooldown_counts_from_the_last_start_whatever_its_outcome() -> None:
    spec = retrain(cooldown="24h")
    failed_an_hour_ago = RetrainingState(
        last={"name": "m-rt-1", "startedAt": iso(NOW - timedelta(hours=1)), "outcome": "Failed"}
    )
    decision = decide_on_run(spec, failed_an_hour_ago, 1, ["PerformanceDegraded"], NOW)
    assert (decision.action, decision.reason) == (Action.SUPPRESS, "Suppressed")
    assert "cooldown of 24h since the last one started at 2026-11-23T11:00:00Z" in decision.message
    assert "possible again at 2026-11-24T11:00:00Z" in decision.message
    later = decide_on_run(spec, failed_an_hour_ago, 1, ["PerformanceDegraded"], NOW + timedelta(hours=23))
    assert later.action is Action.START


def test_max_concurrent_suppresses_and_names_the_active_ones() -> None:
    state = RetrainingState(active=(active(),))
    decision = decide_on_run(retrain(), state, 1, ["DataDrift"], NOW)
    assert decision.action is Action.SUPPRESS and "1 already active (maxConcurrent 1): Job m-rt-1" in decision.message
    assert (
        decide_on_run(retrain(maxConcurrent=2, cooldown="1m"), state, 1, ["DataDrift"], NOW).action is Action.SUPPRESS
    )
    assert decide_on_run(retrain(maxConcurrent=2), state, 1, ["DataDrift"], NOW).action is Action.START


def test_a_slot_within_the_cooldown_is_skipped_and_a_request_passes_it_but_not_max_concurrent() -> None:
    spec = retrain(cooldown="24h", schedule={"cron": "0 3 * * 0"})
    recent = RetrainingState(last={"name": "x", "startedAt": iso(NOW - timedelta(hours=2))})
    slot = decide_on_slot(spec, recent, NOW, NOW)
    assert (slot.action, slot.reason) == (Action.SUPPRESS, "CoolingDown")
    assert decide_on_request(spec, recent, "1", NOW).action is Action.START
    busy = RetrainingState(active=(active(),))
    assert decide_on_request(spec, busy, "1", NOW).action is Action.SUPPRESS


def test_starting_resets_the_streak_and_counts() -> None:
    state = RetrainingState(streak=3, count=4).started(active())
    assert (state.streak, state.count, [item.name for item in state.active]) == (0, 5, ["m-rt-1"])
    assert state.knows("m-rt-1") and not state.knows("m-rt-2")
    finished = state.finished("m-rt-1", {"name": "m-rt-1", "startedAt": iso(NOW), "outcome": "Succeeded"})
    assert finished.active == () and finished.knows("m-rt-1") and finished.last_started_at() == NOW


def test_the_state_round_trips_through_the_status() -> None:
    state = RetrainingState(active=(active(),), last={"name": "old"}, count=2, streak=1, next_scheduled_at=iso(NOW))
    assert RetrainingState.from_status(state.to_status()) == state


# --- the condition -------------------------------------------------------------------------


def test_the_condition_stays_true_while_one_runs() -> None:
    running = RetrainingState(active=(active(),))
    debounced = decide_on_run(retrain(after=3), running, 1, ["DataDrift"], NOW)
    assert condition_after(debounced, running) is None
    assert condition_after(debounced, RetrainingState()).reason == "Debouncing"
    assert condition_after(decide_on_run(retrain(), RetrainingState(), 0, [], NOW), RetrainingState()) is None


def test_outcomes_become_the_condition_reason() -> None:
    assert condition_after_outcome(RetrainingState(), "Succeeded", "done").reason == "Succeeded"
    assert condition_after_outcome(RetrainingState(), "Failed", "boom").status == "False"
    assert condition_after_outcome(RetrainingState(), "Unknown", "gone").reason == "OutcomeUnknown"
    still = condition_after_outcome(RetrainingState(active=(active("other"),)), "Failed", "boom")
    assert (still.status, still.reason) == ("True", "Started") and "still active: other" in still.message


# --- the spec ------------------------------------------------------------------------------


BASE = {
    "model": {"name": "m", "task": "binaryClassification"},
    "schedule": {"interval": "1h"},
    "data": {"current": {"uri": "c.parquet"}, "reference": {"uri": "r.parquet"}},
}


@pytest.mark.parametrize(
    ("retrain_spec", "message"),
    [
        ({}, "set exactly one of jobTemplate or resourceTemplate"),
        ({"jobTemplate": JOB, "resourceTemplate": {"apiVersion": "v1", "kind": "Pod"}}, "exactly one of"),
        ({"jobTemplate": JOB, "after": 0}, "spec.actions.retrain.after: Input should be greater than or equal to 1"),
        ({"jobTemplate": JOB, "cooldown": "a day"}, "spec.actions.retrain.cooldown: String should match pattern"),
        ({"jobTemplate": JOB, "on": ["Boredom"]}, "spec.actions.retrain.on[0]: Input should be"),
        ({"jobTemplate": JOB, "on": ["DataDrift", "DataDrift"]}, "each trigger may appear once"),
        (
            {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}},
            "containers: List should have at least",
        ),
        ({"jobTemplate": {"spec": {}}}, "spec.actions.retrain.jobTemplate.spec.template: Field required"),
        ({"jobTemplate": {**JOB, "metadata": {"name": "fixed"}}}, "jobTemplate.metadata.name: Extra inputs"),
        ({"resourceTemplate": {"apiVersion": "argoproj.io/v1alpha1"}}, "resourceTemplate.kind: Field required"),
        ({"resourceTemplate": {"apiVersion": "Argo", "kind": "Workflow"}}, "apiVersion: String should match"),
        ({"jobTemplate": JOB, "schedule": {"interval": "10s"}}, "interval must be at least 1m"),
    ],
)
def test_a_bad_retrain_spec_names_the_field(retrain_spec: dict, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec({**BASE, "actions": {"retrain": retrain_spec}})
    assert message in str(caught.value)


# --- names, context and manifests ------------------------------------------------------------


def test_names_are_deterministic_per_trigger_and_fit_a_job_name() -> None:
    name = retraining_name("m" * 48, "uid-1", "run/m-g1")
    assert name == retraining_name("m" * 48, "uid-1", "run/m-g1") and len(name) <= 63
    assert name != retraining_name("m" * 48, "uid-1", "run/m-g2") != retraining_name("m" * 48, "uid-2", "run/m-g1")


@pytest.mark.parametrize(
    ("kind", "plural"),
    [
        ("Job", "jobs"),
        ("Workflow", "workflows"),
        ("PipelineRun", "pipelineruns"),
        ("Policy", "policies"),
        ("Ingress", "ingresses"),
    ],
)
def test_plurals_are_guessed_as_kubernetes_guesses_them(kind: str, plural: str) -> None:
    assert guess_plural(kind) == plural


CONTEXT = TriggerContext(
    monitor="credit",
    namespace="ml",
    trigger="breach",
    reason="PerformanceDegraded",
    message="PerformanceDegraded in 1 consecutive run",
    run="credit-g1",
    drifted_features=["amount", "income"],
    metrics={"accuracy": 0.64},
    window_start="2026-11-22T12:00:00Z",
    window_end="2026-11-23T12:00:00Z",
    model_name="credit-risk",
    model_version="7",
)
OWNER = {"apiVersion": "modelmonitor.io/v1alpha1", "kind": "ModelMonitor", "name": "credit", "uid": "u"}


def test_a_job_gets_its_name_owner_labels_and_the_context_in_every_container() -> None:
    job = dict(JOB)
    job["spec"] = {
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "train",
                        "image": "t:1",
                        "env": [{"name": "MODELMONITOR_RUN", "value": "spoofed"}, {"name": "KEEP", "value": "1"}],
                    },
                    {"name": "sidecar", "image": "s:1"},
                ]
            }
        },
        "backoffLimit": 0,
    }
    manifest = build_object(retrain(jobTemplate=job), name="credit-rt-1", namespace="ml", context=CONTEXT, owner=OWNER)
    assert (manifest["apiVersion"], manifest["kind"]) == ("batch/v1", "Job")
    assert manifest["metadata"]["name"] == "credit-rt-1" and manifest["metadata"]["namespace"] == "ml"
    assert manifest["metadata"]["ownerReferences"] == [OWNER]
    assert manifest["metadata"]["labels"] == {
        "modelmonitor.io/monitor": "credit",
        "modelmonitor.io/retraining": "true",
        "modelmonitor.io/trigger": "breach",
        "modelmonitor.io/trigger-run": "credit-g1",
    }
    assert manifest["spec"]["backoffLimit"] == 0 and manifest["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    for container in manifest["spec"]["template"]["spec"]["containers"]:
        env = {variable["name"]: variable["value"] for variable in container["env"]}
        assert env["MODELMONITOR_RUN"] == "credit-g1"  # ours, not a spoofed one
        assert env["MODELMONITOR_DRIFTED_FEATURES"] == "amount,income"
        assert json.loads(env["MODELMONITOR_METRICS"]) == {"accuracy": 0.64}
        assert env["MODELMONITOR_WINDOW_START"] == "2026-11-22T12:00:00Z"
        assert env["MODELMONITOR_MODEL_NAME"] == "credit-risk" and env["MODELMONITOR_MODEL_VERSION"] == "7"
        assert env["MODELMONITOR_MONITOR"] == "credit" and env["MODELMONITOR_REASON"] == "PerformanceDegraded"
    assert {"name": "KEEP", "value": "1"} in manifest["spec"]["template"]["spec"]["containers"][0]["env"]


def test_any_object_gets_the_context_annotation_and_keeps_its_spec() -> None:
    template = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"labels": {"team": "risk"}, "annotations": {"note": "x"}},
        "spec": {"entrypoint": "train", "templates": [{"name": "train", "container": {"image": "t:1"}}]},
    }
    manifest = build_object(
        RetrainSpec.model_validate({"resourceTemplate": template}),
        name="credit-rt-2",
        namespace="ml",
        context=CONTEXT,
        owner=OWNER,
    )
    assert manifest["spec"] == template["spec"] and manifest["kind"] == "Workflow"
    assert manifest["metadata"]["labels"]["team"] == "risk" and manifest["metadata"]["annotations"]["note"] == "x"
    context = json.loads(manifest["metadata"]["annotations"][CONTEXT_ANNOTATION])
    assert context == {
        "monitor": "credit",
        "namespace": "ml",
        "trigger": "breach",
        "reason": "PerformanceDegraded",
        "message": "PerformanceDegraded in 1 consecutive run",
        "run": "credit-g1",
        "driftedFeatures": ["amount", "income"],
        "metrics": {"accuracy": 0.64},
        "windowStart": "2026-11-22T12:00:00Z",
        "windowEnd": "2026-11-23T12:00:00Z",
        "modelName": "credit-risk",
        "modelVersion": "7",
        "retraining": "credit-rt-2",
        "trackingUri": "",
        "registeredModel": "",
    }


def test_a_model_in_a_registry_tells_the_training_where_and_which_version_the_run_judged() -> None:
    mlflow = {"trackingUri": "http://mlflow:5000", "name": "credit", "alias": "champion"}
    monitor = {"metadata": {"name": "credit", "namespace": "ml"}, "spec": {"model": {"name": "cr", "mlflow": mlflow}}}
    summary = {"name": "credit-g4", "modelVersion": "12"}
    context = context_from_summary(monitor, summary, trigger="breach", reason="DataDrift", message="")
    job = dict(JOB)
    own = {"name": "train", "image": "t:1", "env": [{"name": "MLFLOW_TRACKING_URI", "value": "http://proxy:80"}]}
    job["spec"] = {"template": {"spec": {"containers": [own, {"name": "plain", "image": "t:1"}]}}}
    manifest = build_object(retrain(jobTemplate=job), name="credit-rt-9", namespace="ml", context=context, owner=OWNER)
    [kept, given] = [
        {variable["name"]: variable["value"] for variable in container["env"]}
        for container in manifest["spec"]["template"]["spec"]["containers"]
    ]
    for env in (kept, given):
        assert env["MODELMONITOR_MODEL_VERSION"] == "12"  # the alias's version when the run judged it
        assert env["MODELMONITOR_MLFLOW_MODEL"] == "credit" and env["MODELMONITOR_RETRAINING"] == "credit-rt-9"
        assert env["MODELMONITOR_MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert given["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert kept["MLFLOW_TRACKING_URI"] == "http://proxy:80"  # a container's own setting is the user's choice
    without = context_from_summary(monitor, {}, trigger="request", reason="Requested", message="")
    assert without.model_version == ""  # no run yet: an alias names no version until one resolves it


# --- outcomes, kind by kind ------------------------------------------------------------------


def conditions(*items: tuple[str, str]) -> dict[str, Any]:
    return {
        "status": {
            "conditions": [{"type": kind, "status": status, "reason": f"{kind}{status}"} for kind, status in items]
        }
    }


@pytest.mark.parametrize(
    ("who", "obj", "state"),
    [
        ("batch Job complete", conditions(("SuccessCriteriaMet", "True"), ("Complete", "True")), "Succeeded"),
        ("batch Job failed", conditions(("FailureTarget", "True"), ("Failed", "True")), "Failed"),
        ("batch Job running", {"status": {"active": 1}}, "Running"),
        ("Tekton PipelineRun succeeded", conditions(("Succeeded", "True")), "Succeeded"),
        ("Tekton PipelineRun failed", conditions(("Succeeded", "False")), "Failed"),
        ("Tekton PipelineRun running", conditions(("Succeeded", "Unknown")), "Running"),
        ("Kubeflow Trainer TrainJob complete", conditions(("Created", "True"), ("Complete", "True")), "Succeeded"),
        (
            "Kubeflow training-operator PyTorchJob succeeded",
            conditions(("Running", "False"), ("Succeeded", "True")),
            "Succeeded",
        ),
        (
            "Kubeflow training-operator PyTorchJob failed",
            conditions(("Running", "False"), ("Failed", "True")),
            "Failed",
        ),
        ("Argo Workflow succeeded", {"status": {"phase": "Succeeded"}}, "Succeeded"),
        ("Argo Workflow failed", {"status": {"phase": "Failed", "message": "child failed"}}, "Failed"),
        ("Argo Workflow errored", {"status": {"phase": "Error"}}, "Failed"),
        ("Argo Workflow running", {"status": {"phase": "Running"}}, "Running"),
        ("just created", {"metadata": {"name": "x"}}, "Running"),
        ("deleted", None, "Unknown"),
    ],
)
def test_outcomes_are_read_from_the_object(who: str, obj: dict | None, state: str) -> None:
    assert read_outcome(obj).state == state, who


def test_a_failure_says_why() -> None:
    outcome = read_outcome(
        {
            "status": {
                "conditions": [
                    {
                        "type": "Failed",
                        "status": "True",
                        "reason": "BackoffLimitExceeded",
                        "message": "Job has reached the specified backoff limit",
                    }
                ]
            }
        }
    )
    assert (outcome.reason, outcome.message) == ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
