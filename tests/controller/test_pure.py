"""The controller's pure parts: slots, names, conditions, Job judging, pruning, the CRD YAML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modelmonitor import crd
from modelmonitor.api.parsing import parse_spec
from modelmonitor.api.results import Results
from modelmonitor.api.schedule import Schedule
from modelmonitor.controller.conditions import Condition, merge, outcome_conditions
from modelmonitor.controller.naming import run_now_name, slot_run_name
from modelmonitor.controller.records import is_newer, last_run_summary, runs_to_prune
from modelmonitor.controller.runners.job_objects import job_manifest, judge_job, judge_pod
from modelmonitor.controller.scheduling import latest_slot, next_slot, slot_offset
from tests.test_spec import VALID

ROOT = Path(__file__).resolve().parents[2]


def test_committed_crds_are_current() -> None:
    rendered = crd.render()
    committed = {path.name: path.read_text() for path in (ROOT / "crds").glob("*.yaml")}
    assert committed == rendered, "run: python -m modelmonitor.crd"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "now", "latest", "following"),
    [
        (Schedule(interval="1h"), "2026-11-23T10:30:00", "2026-11-23T10:00:00", "2026-11-23T11:00:00"),
        (Schedule(interval="1h"), "2026-11-23T10:00:00", "2026-11-23T10:00:00", "2026-11-23T11:00:00"),
        (Schedule(interval="15m"), "2026-11-23T10:31:10", "2026-11-23T10:30:00", "2026-11-23T10:45:00"),
        (Schedule(cron="0 */6 * * *"), "2026-11-23T10:30:00", "2026-11-23T06:00:00", "2026-11-23T12:00:00"),
        (Schedule(cron="0 */6 * * *"), "2026-11-23T12:00:00", "2026-11-23T12:00:00", "2026-11-23T18:00:00"),
    ],
)
def test_slots_are_jitter_free(schedule: Schedule, now: str, latest: str, following: str) -> None:
    assert latest_slot(schedule, at(now)) == at(latest)
    assert next_slot(schedule, at(now)) == at(following)


def test_spread_slots_keep_the_interval_shifted_by_a_stable_offset() -> None:
    schedule = Schedule(interval="1h", spread=True)
    offset = slot_offset(schedule, "team-a", "credit-risk")
    assert offset == slot_offset(schedule, "team-a", "credit-risk") and timedelta(0) <= offset < timedelta(hours=1)
    assert offset != slot_offset(schedule, "team-b", "credit-risk")
    now = at("2026-11-23T10:30:00")
    latest = latest_slot(schedule, now, offset)
    assert (
        latest <= now < latest + timedelta(hours=1)
        and (latest - at("2026-11-23T00:00:00")) % timedelta(hours=1) == offset
    )
    assert next_slot(schedule, latest, offset) == latest + timedelta(hours=1)
    assert next_slot(schedule, now, offset) == latest + timedelta(hours=1)
    assert slot_offset(Schedule(interval="1h"), "team-a", "credit-risk") == timedelta(0)  # not asked to spread


def test_a_fleet_spread_over_a_minute_starts_a_few_runs_a_second() -> None:
    schedule = Schedule(interval="1m", spread=True)
    seconds = [slot_offset(schedule, f"fleet-{i % 4}", f"m-{i:05d}").total_seconds() for i in range(1000)]
    per_second = [seconds.count(second) for second in range(60)]
    assert min(per_second) >= 5 and max(per_second) <= 35  # about 16.7 each: a uniform spread


def test_names_are_deterministic_and_fit_a_job_name() -> None:
    monitor = "m" * crd.MAX_MONITOR_NAME
    assert len(slot_run_name(monitor, at("2026-11-23T10:00:00"))) <= 63
    assert run_now_name(monitor, "uid", "1") == run_now_name(monitor, "uid", "1") != run_now_name(monitor, "uid", "2")
    assert len(run_now_name(monitor, "uid", "x")) <= 63


def _results(**overrides: Any) -> Results:
    """A stored results document, as sparse as the API server leaves one (nulls pruned), read as the type."""
    results = {
        "errors": [],
        "metrics": [{"name": "accuracy", "value": 0.6, "status": "Failed", "reason": "accuracy 0.6 < min 0.8"}],
        "drift": {
            "features": [
                {"feature": "x", "drifted": True, "status": "Failed"},
                {"feature": "y", "drifted": False, "status": "Passed"},
            ],
            "driftedShare": 0.5,
            "datasetDriftShare": 0.5,
            "datasetDrift": True,
            "status": "Failed",
        },
        "conceptDrift": [],
    }
    results.update(overrides)
    return Results.from_document({key: value for key, value in results.items() if value is not None})


def test_conditions_name_the_values() -> None:
    healthy, drift, performance, concept = outcome_conditions("Succeeded", _results())
    assert (healthy.status, healthy.reason) == ("False", "ChecksFailed")
    assert "accuracy 0.6 < min 0.8" in healthy.message and "dataset drift: 50%" in healthy.message
    assert (drift.status, drift.reason) == ("True", "DatasetDrift") and drift.message.endswith(": x")
    assert (performance.status, performance.message) == ("True", "accuracy 0.6 < min 0.8")
    assert (concept.status, concept.reason) == ("Unknown", "NotChecked")


def test_an_estimate_past_its_threshold_is_a_condition_before_any_label_says_so() -> None:
    estimated = {"status": "Failed", "reason": "estimated accuracy 0.61 < min 0.8 (95% interval 0.58-0.64, 900 rows)"}
    metrics = [{"name": "accuracy", "value": 0.86, "status": "Passed", "reason": "ok", "estimated": estimated}]
    estimation = {"status": "Passed", "reason": "900 rows without labels"}
    healthy, *_, warned = outcome_conditions(
        "Succeeded", _results(metrics=metrics, drift=None, performanceEstimation=estimation)
    )
    assert (warned.type, warned.status, warned.reason) == (
        "EstimatedPerformanceDegraded",
        "True",
        "EstimateBreachesThreshold",
    )
    assert warned.message == estimated["reason"] and estimated["reason"] in healthy.message
    refused = {"status": "Inconclusive", "reason": "the calibrated scores are off by 0.09"}
    *_, unknown = outcome_conditions("Succeeded", _results(drift=None, performanceEstimation=refused))
    assert (unknown.status, unknown.reason, unknown.message) == ("Unknown", "NotEstimated", refused["reason"])
    assert len(outcome_conditions("Succeeded", _results())) == 4  # no estimation configured: no such condition


def test_a_broken_data_quality_rule_is_a_condition_that_names_the_pipeline_not_drift() -> None:
    broken = {
        "rule": "missing",
        "column": "x",
        "status": "Failed",
        "value": 1.0,
        "limit": 0.05,
        "message": "x: every one of 2,000 rows has no value: the column is no longer filled",
    }
    kept = {"rule": "range", "column": "y", "status": "Passed", "message": "y: 0% of 2,000 values outside [0, 1]"}
    healthy, drift, *_, quality = outcome_conditions("Succeeded", _results(qualityRules=[broken, kept]))
    assert (quality.type, quality.status, quality.reason) == ("DataQuality", "True", "RulesBroken")
    assert quality.message == f"broken pipeline, not drift: {broken['message']}"
    assert f"data quality: {broken['message']}" in healthy.message
    # x drifted, and it is the column the pipeline broke: the drift condition says which may be the cause
    assert "data-quality rules broke on x: a broken pipeline, not a change in the world" in drift.message
    *_, quality = outcome_conditions("Succeeded", _results(qualityRules=[kept]))
    assert (quality.status, quality.reason, quality.message) == ("False", "RulesKept", "1 of 1 data-quality rules kept")
    errored = {**kept, "status": "Error", "message": "column 'y': holds string, not numbers"}
    *_, quality = outcome_conditions("Succeeded", _results(qualityRules=[errored]))
    assert (quality.status, quality.reason) == ("Unknown", "RuleError")
    assert "DataQuality" not in {c.type for c in outcome_conditions("Succeeded", _results())}  # none configured


def test_a_run_error_makes_health_false_and_the_rest_unknown() -> None:
    healthy, *others = outcome_conditions("Error", None, "ErrImagePull")
    assert (healthy.status, healthy.reason, healthy.message) == ("False", "RunError", "ErrImagePull")
    assert {c.status for c in others} == {"Unknown"}


def test_transition_time_moves_only_when_the_status_changes() -> None:
    first, changed = merge([], [Condition("Healthy", "True", "ChecksPassed", "ok")], generation=1, now="T1")
    assert first[0]["lastTransitionTime"] == "T1" and len(changed) == 1
    same, changed = merge(first, [Condition("Healthy", "True", "ChecksPassed", "ok again")], generation=2, now="T2")
    assert same[0]["lastTransitionTime"] == "T1" and same[0]["observedGeneration"] == 2 and not changed
    flipped, changed = merge(same, [Condition("Healthy", "False", "ChecksFailed", "bad")], generation=2, now="T3")
    assert flipped[0]["lastTransitionTime"] == "T3" and changed[0].status == "False"


def _pod(state: dict[str, Any]) -> dict[str, Any]:
    return {"status": {"containerStatuses": [{"name": "check", "state": state}]}}


@pytest.mark.parametrize(
    ("job_conditions", "pod_state", "finished", "succeeded", "reason"),
    [
        ([], {"running": {}}, False, False, ""),
        ([{"type": "Complete", "status": "True"}], {"terminated": {"exitCode": 0}}, True, True, "Completed"),
        (
            [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            ],
            {"terminated": {"exitCode": 3, "reason": "Error"}},
            True,
            False,
            "BackoffLimitExceeded",
        ),
        (
            [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}],
            {"running": {}},
            True,
            False,
            "DeadlineExceeded",
        ),
        (
            [],
            {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}},
            True,
            False,
            "ImagePullBackOff",
        ),
        (
            [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}],
            {"terminated": {"exitCode": 137, "reason": "OOMKilled"}},
            True,
            False,
            "OOMKilled",
        ),
    ],
)
def test_jobs_are_judged_strictly(job_conditions, pod_state, finished, succeeded, reason) -> None:
    outcome = judge_job({"status": {"conditions": job_conditions}}, [_pod(pod_state)])
    assert (outcome.finished, outcome.succeeded, outcome.reason) == (finished, succeeded, reason)
    if reason == "BackoffLimitExceeded":
        assert "exit code 3" in outcome.message


def test_an_oom_killed_pod_ends_the_run_at_once() -> None:
    assert judge_pod(_pod({"terminated": {"exitCode": 137, "reason": "OOMKilled"}})).reason == "OOMKilled"
    assert not judge_pod(_pod({"terminated": {"exitCode": 0, "reason": "Completed"}})).finished


def test_job_manifest_applies_the_template_and_credentials() -> None:
    spec = parse_spec(
        {
            **VALID,
            "jobTemplate": {
                "resources": {"limits": {"memory": "2Gi"}},
                "nodeSelector": {"pool": "batch"},
                "tolerations": [{"key": "batch", "operator": "Exists"}],
                "imagePullSecrets": [{"name": "reg"}],
                "activeDeadlineSeconds": 600,
            },
            "credentials": {"secretRef": {"name": "s3"}},
        }
    )
    job = job_manifest(
        run="m-g1",
        monitor="m",
        namespace="ns",
        spec=spec,
        image="img:1",
        command=["modelmonitor"],
        service_account="m-runner",
    )
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["modelmonitor", "run", "--namespace", "ns", "--name", "m-g1"]
    assert container["envFrom"] == [{"secretRef": {"name": "s3"}}]
    assert container["resources"] == {"limits": {"memory": "2Gi"}}
    assert pod["nodeSelector"] == {"pool": "batch"} and pod["imagePullSecrets"] == [{"name": "reg"}]
    assert pod["serviceAccountName"] == "m-runner" and pod["restartPolicy"] == "Never"
    assert job["spec"]["activeDeadlineSeconds"] == 600 and job["spec"]["backoffLimit"] == 2
    assert "env" not in container  # secrets are referenced, never copied
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {}}]


def test_the_job_template_may_replace_the_security_contexts() -> None:
    override = {"runAsUser": 1000, "fsGroup": 2000}
    spec = parse_spec(
        {**VALID, "jobTemplate": {"securityContext": {"privileged": False}, "podSecurityContext": override}}
    )
    job = job_manifest(
        run="m-g1", monitor="m", namespace="ns", spec=spec, image="i", command=["c"], service_account="sa"
    )
    pod = job["spec"]["template"]["spec"]
    assert pod["securityContext"] == override and pod["containers"][0]["securityContext"] == {"privileged": False}


def _run(name: str, phase: str, created: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "creationTimestamp": created}, "status": {"phase": phase}}


def test_pruning_keeps_the_newest_within_each_limit() -> None:
    runs = [_run(f"s{i}", "Succeeded", f"2026-01-01T00:0{i}:00Z") for i in range(5)]
    runs += [_run(f"e{i}", "Error", f"2026-01-01T00:1{i}:00Z") for i in range(3)]
    runs.append(_run("running", "Running", "2026-01-01T00:00:00Z"))
    doomed = runs_to_prune(runs, keep_succeeded=2, keep_failed=1, protect="s0")
    assert sorted(doomed) == ["e0", "e1", "s1", "s2"]


def _finished(name: str, created: str, completed: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "spec": {},
        "status": {"phase": "Succeeded", "completedAt": completed},
    }


def test_runs_created_in_the_same_second_are_ordered_by_when_they_finished() -> None:
    """Run-now names are hashes: neither they nor whole-second creation times order runs."""
    last = last_run_summary(_finished("m-now-ffff", "2026-01-01T00:00:01Z", "2026-01-01T00:00:01.200000Z"), 1, None)
    later = _finished("m-now-0000", "2026-01-01T00:00:01Z", "2026-01-01T00:00:01.900000Z")
    earlier = _finished("m-now-aaaa", "2026-01-01T00:00:01Z", "2026-01-01T00:00:01.100000Z")
    assert is_newer(later, last)
    assert not is_newer(earlier, last)  # an older run never replaces the recorded one
    assert not is_newer(_finished("m-now-ffff", "2026-01-01T00:00:01Z", "2026-01-01T00:00:01.200000Z"), last)
    assert not is_newer(_finished("m-g1", "2026-01-01T00:00:00Z", "2026-01-01T00:00:05Z"), last)


def test_a_relisted_run_its_monitor_already_names_is_not_recorded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A relist brings back thousands of finished runs: only one newer than the watched lastRun is recorded."""
    from modelmonitor.controller import runs
    from modelmonitor.controller.runtime import STATE

    def run(name: str, created: str) -> dict[str, Any]:
        return {
            "metadata": {"name": name, "creationTimestamp": created},
            "spec": {"monitor": "m"},
            "status": {"phase": "Succeeded", "completedAt": created},
        }

    last = {"name": "m-2", "createdAt": "2026-12-04T10:02:00Z", "completedAt": "2026-12-04T10:02:00Z"}
    monkeypatch.setattr(STATE, "monitors", {("ns", "m"): {"status": {"lastRun": last}}}, raising=False)
    assert not runs._maybe_unrecorded("ns", run("m-1", "2026-12-04T10:01:00Z"))  # older: recorded long ago
    assert not runs._maybe_unrecorded("ns", run("m-2", "2026-12-04T10:02:00Z"))  # the one it names
    assert runs._maybe_unrecorded("ns", run("m-3", "2026-12-04T10:03:00Z"))
    assert not runs._maybe_unrecorded("other", run("m-3", "2026-12-04T10:03:00Z"))  # not seen yet: its first tick
