"""Retraining against the real control plane: triggered by runs, debounced, cooled down, scheduled, requested."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from modelmonitor.controller.faults import AFTER_RETRAINING_CREATED
from tests.controller.conftest import GROUP, VERSION, condition, get_monitor, monitor_document
from tests.helpers import eventually

pytestmark = pytest.mark.cluster
TRAIN = """
import json, os, pathlib, sys
context = {k: v for k, v in os.environ.items() if k.startswith("MODELMONITOR_")}
pathlib.Path(sys.argv[1], os.environ["HOSTNAME"] + ".json").write_text(json.dumps(context))
sys.exit(int(sys.argv[2]))
"""


def job_template(directory: Path, exit_code: int = 0) -> dict[str, Any]:
    """A training Job whose container writes the context it was given, then exits with ``exit_code``."""
    container = {
        "name": "train",
        "image": "trainer:1",
        "command": [sys.executable, "-c", TRAIN, str(directory), str(exit_code)],
    }
    return {"spec": {"backoffLimit": 0, "template": {"spec": {"containers": [container]}}}}


def create(custom: client.CustomObjectsApi, namespace: str, document: dict) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)


def retraining(custom, namespace: str, name: str) -> dict[str, Any]:
    return (get_monitor(custom, namespace, name).get("status") or {}).get("retraining") or {}


def retraining_jobs(custom, namespace: str) -> list[client.V1Job]:
    batch = client.BatchV1Api(custom.api_client)
    return batch.list_namespaced_job(namespace, label_selector="modelmonitor.io/retraining=true").items


def ended(custom, namespace: str, name: str, outcome: str = "Succeeded") -> dict[str, Any] | None:
    state = retraining(custom, namespace, name)
    return state if (state.get("last") or {}).get("outcome") == outcome and not state.get("active") else None


def events(custom, namespace: str, name: str) -> list[str]:
    listed = client.CoreV1Api(custom.api_client).list_namespaced_event(namespace).items
    return [e.reason for e in listed if e.involved_object.name == name for _ in range(e.count or 1)]


def annotate(custom, namespace: str, name: str, key: str, value: str) -> None:
    body = {"metadata": {"annotations": {f"modelmonitor.io/{key}": value}}}
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", name, body)


def test_a_degraded_model_is_retrained_once_with_the_context(
    start_operator, custom, namespace, samples, tmp_path
) -> None:
    operator = start_operator()
    retrain = {"on": ["PerformanceDegraded"], "jobTemplate": job_template(tmp_path)}
    create(custom, namespace, monitor_document(samples, "degraded", "drifted", actions={"retrain": retrain}))
    state = eventually(lambda: ended(custom, namespace, "degraded"), timeout=90, what="the retraining Succeeded")
    jobs = retraining_jobs(custom, namespace)
    assert [job.metadata.name for job in jobs] == [state["last"]["name"]]
    job = jobs[0]
    assert (
        job.metadata.owner_references[0].kind == "ModelMonitor" and job.metadata.owner_references[0].name == "degraded"
    )
    assert job.metadata.labels["modelmonitor.io/trigger-run"] == "degraded-g1"
    assert (
        state["count"] == 1
        and state["last"]["trigger"] == "breach"
        and state["last"]["reason"] == "PerformanceDegraded"
    )
    context = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert context["MODELMONITOR_MONITOR"] == "degraded" and context["MODELMONITOR_RUN"] == "degraded-g1"
    assert context["MODELMONITOR_REASON"] == "PerformanceDegraded" and context["MODELMONITOR_MODEL_VERSION"] == "7"
    assert json.loads(context["MODELMONITOR_METRICS"])["accuracy"] < 0.75
    assert "amount" in context["MODELMONITOR_DRIFTED_FEATURES"].split(",")
    assert context["MODELMONITOR_WINDOW_START"] < context["MODELMONITOR_WINDOW_END"]
    annotation = json.loads(job.metadata.annotations["modelmonitor.io/retraining-context"])
    assert annotation["run"] == "degraded-g1" and annotation["metrics"] == json.loads(context["MODELMONITOR_METRICS"])
    monitor = get_monitor(custom, namespace, "degraded")
    assert (condition(monitor, "Retraining")["status"], condition(monitor, "Retraining")["reason"]) == (
        "False",
        "Succeeded",
    )
    reasons = eventually(
        lambda: (found := events(custom, namespace, "degraded")) and "RetrainingSucceeded" in found and found
    )
    assert reasons.count("RetrainingStarted") == 1 and reasons.count("RetrainingSucceeded") == 1
    labels = f'monitor="degraded",namespace="{namespace}"'
    text = operator.metrics()
    assert f'modelmonitor_retrainings_total{{{labels},outcome="Succeeded"}} 1.0' in text
    assert f"modelmonitor_retraining_active{{{labels}}} 0.0" in text


def test_after_two_it_waits_for_a_second_unhealthy_run(start_operator, custom, namespace, samples, tmp_path) -> None:
    start_operator()
    retrain = {"after": 2, "jobTemplate": job_template(tmp_path)}
    create(custom, namespace, monitor_document(samples, "patient", "drifted", actions={"retrain": retrain}))
    debouncing = eventually(lambda: condition(get_monitor(custom, namespace, "patient"), "Retraining"))
    assert debouncing["reason"] == "Debouncing" and "in 1 consecutive run; retraining after 2" in debouncing["message"]
    assert retraining(custom, namespace, "patient")["unhealthyStreak"] == 1 and not retraining_jobs(custom, namespace)
    annotate(custom, namespace, "patient", "run-now", "second")
    eventually(lambda: ended(custom, namespace, "patient"), timeout=90, what="the retraining after the second run")
    assert len(retraining_jobs(custom, namespace)) == 1
    assert retraining(custom, namespace, "patient")["unhealthyStreak"] == 0


def test_within_the_cooldown_a_second_breach_is_suppressed(
    start_operator, custom, namespace, samples, tmp_path
) -> None:
    start_operator()
    retrain = {"cooldown": "24h", "jobTemplate": job_template(tmp_path)}
    create(custom, namespace, monitor_document(samples, "cool", "drifted", actions={"retrain": retrain}))
    eventually(lambda: ended(custom, namespace, "cool"), timeout=90)
    annotate(custom, namespace, "cool", "run-now", "again")
    suppressed = eventually(
        lambda: (
            (found := condition(get_monitor(custom, namespace, "cool"), "Retraining"))
            and found["reason"] == "Suppressed"
            and found
        ),
        what="the second breach suppressed",
    )
    assert "within the cooldown of 24h" in suppressed["message"] and suppressed["status"] == "False"
    # kopf posts Events from a queue of its own: the condition can be written before the Event is posted
    eventually(lambda: "RetrainingSuppressed" in events(custom, namespace, "cool"), what="the Event posted")
    assert len(retraining_jobs(custom, namespace)) == 1 and retraining(custom, namespace, "cool")["count"] == 1


def test_a_failing_retraining_is_reported_once_and_not_retried(
    start_operator, custom, namespace, samples, tmp_path
) -> None:
    operator = start_operator()
    retrain = {"jobTemplate": job_template(tmp_path, exit_code=1)}
    create(custom, namespace, monitor_document(samples, "failing", "drifted", actions={"retrain": retrain}))
    state = eventually(lambda: ended(custom, namespace, "failing", "Failed"), timeout=90, what="the retraining Failed")
    assert "BackoffLimitExceeded" in state["last"]["message"] or "backoff limit" in state["last"]["message"]
    retraining_condition = condition(get_monitor(custom, namespace, "failing"), "Retraining")
    assert (retraining_condition["status"], retraining_condition["reason"]) == ("False", "Failed")
    labels = f'monitor="failing",namespace="{namespace}"'
    eventually(lambda: f'modelmonitor_retrainings_total{{{labels},outcome="Failed"}} 1.0' in operator.metrics())
    eventually(lambda: "RetrainingFailed" in events(custom, namespace, "failing"))
    import time

    time.sleep(5)  # several ticks: a failed retraining is not retried, nor reported again
    assert events(custom, namespace, "failing").count("RetrainingFailed") == 1
    assert len(retraining_jobs(custom, namespace)) == 1 and retraining(custom, namespace, "failing")["count"] == 1


def test_a_schedule_starts_one_on_its_slot(start_operator, custom, namespace, samples, tmp_path) -> None:
    start_operator()
    retrain = {"schedule": {"interval": "1m"}, "jobTemplate": job_template(tmp_path)}
    create(custom, namespace, monitor_document(samples, "weekly", actions={"retrain": retrain}))
    job = eventually(lambda: retraining_jobs(custom, namespace), timeout=100, what="a scheduled retraining")[0]
    assert job.metadata.labels["modelmonitor.io/trigger"] == "schedule"
    state = eventually(lambda: ended(custom, namespace, "weekly"), timeout=60)
    assert state["last"]["reason"] == "Schedule" and state["nextScheduledAt"].endswith(":00Z")


def test_retrain_now_starts_one_and_is_cleared(start_operator, custom, namespace, samples, tmp_path) -> None:
    start_operator()
    create(
        custom,
        namespace,
        monitor_document(samples, "asked", actions={"retrain": {"jobTemplate": job_template(tmp_path)}}),
    )
    eventually(lambda: (get_monitor(custom, namespace, "asked").get("status") or {}).get("lastRun"))
    assert not retraining_jobs(custom, namespace)  # healthy: nothing to do
    annotate(custom, namespace, "asked", "retrain-now", "1")
    state = eventually(lambda: ended(custom, namespace, "asked"), timeout=60)
    assert state["last"]["trigger"] == "request" and state["last"]["reason"] == "Requested"
    assert retraining_jobs(custom, namespace)[0].metadata.labels["modelmonitor.io/trigger"] == "request"
    annotations = get_monitor(custom, namespace, "asked")["metadata"].get("annotations") or {}
    assert "modelmonitor.io/retrain-now" not in annotations


def test_an_operator_killed_right_after_the_trigger_creates_no_duplicate(
    start_operator, custom, namespace, samples, tmp_path
) -> None:
    doomed = start_operator(env={"MODELMONITOR_FAULT": AFTER_RETRAINING_CREATED})
    retrain = {"jobTemplate": job_template(tmp_path)}
    create(custom, namespace, monitor_document(samples, "crash", "drifted", actions={"retrain": retrain}))
    eventually(lambda: doomed.process.poll() is not None, timeout=60, what="the operator dead at the fault point")
    assert len(retraining_jobs(custom, namespace)) == 1
    assert not retraining(custom, namespace, "crash")  # created, not recorded: the crash came in between
    start_operator()
    state = eventually(lambda: ended(custom, namespace, "crash"), timeout=90, what="the adopted retraining recorded")
    assert state["count"] == 1 and [job.metadata.name for job in retraining_jobs(custom, namespace)] == [
        state["last"]["name"]
    ]
    # Events are posted in order from kopf's queue: once the ending's is there, every start's is too
    eventually(lambda: "RetrainingSucceeded" in events(custom, namespace, "crash"), what="the ending's Event posted")
    assert events(custom, namespace, "crash").count("RetrainingStarted") == 1


def slow_job(directory: Path) -> dict[str, Any]:
    template = job_template(directory)
    container = template["spec"]["template"]["spec"]["containers"][0]
    container["command"] = ["sh", "-c", 'sleep 20; exec "$0" "$@"', *container["command"]]
    return template


def test_runs_finishing_together_start_one_retraining(start_operator, custom, namespace, samples, tmp_path) -> None:
    start_operator()
    create(
        custom,
        namespace,
        monitor_document(samples, "busy", "drifted", actions={"retrain": {"jobTemplate": slow_job(tmp_path)}}),
    )
    eventually(lambda: retraining(custom, namespace, "busy").get("active"), timeout=60, what="the first retraining")
    annotate(custom, namespace, "busy", "run-now", "a")
    annotate(custom, namespace, "busy", "run-now", "b")  # two more unhealthy runs, evaluated side by side
    eventually(lambda: events(custom, namespace, "busy").count("RetrainingSuppressed") >= 1, timeout=60)
    assert len(retraining_jobs(custom, namespace)) == 1 and retraining(custom, namespace, "busy")["count"] == 1


def test_two_replicas_acting_at_once_start_one_retraining(start_operator, custom, namespace, samples, tmp_path) -> None:
    """Even without peering (both standalone, both active), the trigger's name admits one object."""
    start_operator()
    start_operator()
    create(
        custom,
        namespace,
        monitor_document(samples, "twice", "drifted", actions={"retrain": {"jobTemplate": job_template(tmp_path)}}),
    )
    state = eventually(lambda: ended(custom, namespace, "twice"), timeout=90)
    assert [job.metadata.name for job in retraining_jobs(custom, namespace)] == [state["last"]["name"]]
    assert state["count"] == 1


WORKFLOW = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Workflow",
    "spec": {"entrypoint": "train", "templates": [{"name": "train", "container": {"image": "trainer:1"}}]},
}
PIPELINE_RUN = {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "spec": {"pipelineRef": {"name": "train"}}}


@pytest.mark.parametrize(
    ("template", "plural", "finish", "outcome"),
    [
        (WORKFLOW, "workflows", {"phase": "Succeeded"}, "Succeeded"),
        (WORKFLOW, "workflows", {"phase": "Failed", "message": "child 'train' failed"}, "Failed"),
        (
            PIPELINE_RUN,
            "pipelineruns",
            {"conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}]},
            "Succeeded",
        ),
        (
            PIPELINE_RUN,
            "pipelineruns",
            {
                "conditions": [
                    {
                        "type": "Succeeded",
                        "status": "False",
                        "reason": "Failed",
                        "message": "Tasks Completed: 1 (Failed: 1)",
                    }
                ]
            },
            "Failed",
        ),
    ],
    ids=["workflow-succeeded", "workflow-failed", "pipelinerun-succeeded", "pipelinerun-failed"],
)
def test_any_kind_is_created_with_the_context_and_its_outcome_read_back(
    start_operator, custom, namespace, samples, pipeline_crds, template, plural, finish, outcome
) -> None:
    start_operator()
    create(
        custom,
        namespace,
        monitor_document(samples, "pipeline", "drifted", actions={"retrain": {"resourceTemplate": template}}),
    )
    group, version = template["apiVersion"].split("/")
    created = eventually(
        lambda: custom.list_namespaced_custom_object(group, version, namespace, plural)["items"],
        what="the object created",
    )[0]
    context = json.loads(created["metadata"]["annotations"]["modelmonitor.io/retraining-context"])
    assert context["run"] == "pipeline-g1" and context["reason"] == "PerformanceDegraded"
    assert created["metadata"]["ownerReferences"][0]["name"] == "pipeline" and created["spec"] == template["spec"]
    # the object is created before the status records it (so a crash in between adopts it): wait for the record
    active = eventually(lambda: retraining(custom, namespace, "pipeline").get("active"), what="the object recorded")
    assert active[0]["name"] == created["metadata"]["name"]
    name = created["metadata"]["name"]
    if plural == "workflows":  # Argo's Workflow has no status subresource: the controller writes the object
        custom.patch_namespaced_custom_object(group, version, namespace, plural, name, {"status": finish})
    else:
        custom.patch_namespaced_custom_object_status(group, version, namespace, plural, name, {"status": finish})
    state = eventually(lambda: ended(custom, namespace, "pipeline", outcome), timeout=30, what=f"the outcome {outcome}")
    assert state["last"]["kind"] == template["kind"] and state["last"]["name"] == name
    if outcome == "Failed":
        assert finish.get("message", "") in state["last"]["message"] or "Failed: 1" in state["last"]["message"]
