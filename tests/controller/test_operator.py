"""The operator against the real control plane: runs, schedule, Jobs, errors, restarts, cleanup, metrics."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from kubernetes import client

from tests.controller.conftest import (
    GROUP,
    VERSION,
    condition,
    create_admitted_before_its_rule,
    get_monitor,
    list_runs,
    monitor_document,
)
from tests.helpers import eventually

pytestmark = pytest.mark.cluster


def create(custom: client.CustomObjectsApi, namespace: str, document: dict) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)


def finished_runs(custom: client.CustomObjectsApi, namespace: str) -> list[dict]:
    return [r for r in list_runs(custom, namespace) if (r.get("status") or {}).get("phase") in ("Succeeded", "Error")]


def recorded(custom: client.CustomObjectsApi, namespace: str, name: str, run: str | None = None) -> dict | None:
    monitor = get_monitor(custom, namespace, name)
    last = (monitor.get("status") or {}).get("lastRun")
    if last and (run is None or last["name"] == run):
        return monitor
    return None


def test_monitors_go_ready_run_at_once_and_get_the_right_status(
    start_operator,
    custom,
    namespace,
    samples,
    control_plane,
    kubeconfig,
) -> None:
    start_operator()
    create(custom, namespace, monitor_document(samples, "healthy"))
    create(custom, namespace, monitor_document(samples, "drifted", "drifted"))
    wait = subprocess.run(
        [
            str(control_plane.assets.kubectl),
            "wait",
            "--for=condition=Healthy",
            "mm/healthy",
            "-n",
            namespace,
            "--timeout=60s",
        ],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
    )
    assert wait.returncode == 0, wait.stderr
    healthy = eventually(lambda: recorded(custom, namespace, "healthy"))
    drifted = eventually(lambda: recorded(custom, namespace, "drifted"))
    assert condition(healthy, "Ready")["status"] == "True" and condition(healthy, "Ready")["reason"] == "Scheduled"
    assert healthy["status"]["observedGeneration"] == 1
    assert (
        healthy["status"]["lastRun"]["name"] == "healthy-g1" and healthy["status"]["lastRun"]["trigger"] == "specChange"
    )
    assert condition(drifted, "Healthy")["status"] == "False"
    assert condition(drifted, "DataDrift")["status"] == "True"
    assert "amount" in condition(drifted, "DataDrift")["message"]
    performance = condition(drifted, "PerformanceDegraded")
    assert (
        performance["status"] == "True"
        and "accuracy" in performance["message"]
        and "< min 0.75" in performance["message"]
    )
    assert condition(drifted, "ConceptDrift")["status"] == "True"
    for item in drifted["status"]["conditions"]:
        assert item["observedGeneration"] == 1 and item["lastTransitionTime"] and item["reason"]
    run = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "monitorruns", "drifted-g1")
    assert run["metadata"]["ownerReferences"][0]["name"] == "drifted"
    assert run["status"]["results"]["verdict"] == "Failed" and run["status"]["conditions"][0]["type"] == "Succeeded"
    expected = {("drifted", "DataDriftDetected"), ("drifted", "PerformanceDegraded"), ("healthy", "Healthy")}

    def reasons() -> set[tuple[str, str]]:
        events = client.CoreV1Api(custom.api_client).list_namespaced_event(namespace).items
        return {(e.involved_object.name, e.reason) for e in events}

    # kopf posts events from a queue after the status patch: they may trail the conditions by a moment
    eventually(lambda: expected <= reasons(), timeout=30, what=f"the events {sorted(expected)}")
    table = subprocess.run(
        [str(control_plane.assets.kubectl), "get", "mm", "-n", namespace, "-o", "wide"],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
    ).stdout
    assert re.search(r"drifted\s+credit-risk\s+False\s+True", table), table
    assert "accuracy=0.7" in table  # the healthy monitor's metric values under -o wide


def test_runs_on_its_schedule_slots(start_operator, custom, namespace, samples) -> None:
    start_operator()
    create(custom, namespace, monitor_document(samples, "every-minute", schedule={"interval": "1m"}))
    run = eventually(
        lambda: next((r for r in list_runs(custom, namespace) if r["spec"]["trigger"] == "schedule"), None),
        timeout=90,
        what="a scheduled run",
    )
    slot = run["spec"]["evaluateAt"]
    assert slot.endswith(":00Z") and run["metadata"]["name"] == "every-minute-" + re.sub(r"\D", "", slot)
    eventually(
        lambda: get_monitor(custom, namespace, "every-minute")["status"]["nextRunAt"] > slot,
        what="nextRunAt moved past the slot",
    )


def test_run_now_annotation_runs_at_once_and_is_cleared(start_operator, custom, namespace, samples) -> None:
    start_operator()
    create(custom, namespace, monitor_document(samples, "manual"))
    eventually(lambda: recorded(custom, namespace, "manual", "manual-g1"))
    custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "modelmonitors",
        "manual",
        {"metadata": {"annotations": {"modelmonitor.io/run-now": "first"}}},
    )
    run = eventually(lambda: next((r for r in list_runs(custom, namespace) if r["spec"]["trigger"] == "runNow"), None))
    eventually(lambda: recorded(custom, namespace, "manual", run["metadata"]["name"]))
    annotations = get_monitor(custom, namespace, "manual")["metadata"].get("annotations") or {}
    assert "modelmonitor.io/run-now" not in annotations


def test_the_job_runner_completes_through_the_job_controller(start_operator, custom, namespace, samples) -> None:
    start_operator()
    create(custom, namespace, monitor_document(samples, "batch", "drifted", runner="job"))
    monitor = eventually(lambda: recorded(custom, namespace, "batch", "batch-g1"), timeout=90)
    assert monitor["status"]["lastRun"]["runner"] == "job" and monitor["status"]["lastRun"]["verdict"] == "Failed"
    batch = client.BatchV1Api(custom.api_client)

    def complete() -> client.V1Job | None:
        job = batch.read_namespaced_job("batch-g1", namespace)
        return job if any(c.type == "Complete" and c.status == "True" for c in job.status.conditions or []) else None

    job = eventually(complete, what="the Job Complete")
    assert job.metadata.owner_references[0].kind == "MonitorRun"
    assert job.spec.template.spec.service_account_name == "batch-runner"
    role = client.RbacAuthorizationV1Api(custom.api_client).read_namespaced_role("batch-runner", namespace)
    assert {verb for rule in role.rules for verb in rule.verbs} <= {"get", "patch"}  # least privilege


def test_a_failing_job_is_an_error_run_with_the_reason(start_operator, custom, namespace, samples) -> None:
    start_operator("--runner-command", f"{sys.executable} -c 'import sys; sys.exit(3)'")
    create(custom, namespace, monitor_document(samples, "broken", runner="job"))
    monitor = eventually(lambda: recorded(custom, namespace, "broken", "broken-g1"), timeout=90)
    last = monitor["status"]["lastRun"]
    assert last["phase"] == "Error" and last["reason"] == "BackoffLimitExceeded" and "exit code 3" in last["message"]
    assert condition(monitor, "Healthy")["reason"] == "RunError"


def test_an_unpullable_image_is_an_error_run(start_operator, custom, namespace, samples) -> None:
    start_operator("--runner-image", "missing.invalid/modelmonitor:0")
    create(custom, namespace, monitor_document(samples, "pull", runner="job"))
    monitor = eventually(lambda: recorded(custom, namespace, "pull", "pull-g1"), timeout=90)
    assert monitor["status"]["lastRun"]["reason"] == "ErrImagePull"
    eventually(
        lambda: not client.BatchV1Api(custom.api_client).list_namespaced_job(namespace).items,
        what="the stuck Job deleted",
    )


def test_unreadable_data_is_an_error_run_naming_the_file(start_operator, custom, namespace, samples, tmp_path) -> None:
    start_operator()
    document = monitor_document(samples, "nodata")
    document["spec"]["data"]["current"]["uri"] = str(tmp_path / "gone.parquet")
    create(custom, namespace, document)
    monitor = eventually(lambda: recorded(custom, namespace, "nodata"))
    assert monitor["status"]["lastRun"]["reason"] == "SourceError"
    assert "gone.parquet: no such file or directory" in monitor["status"]["lastRun"]["message"]


def test_an_invalid_spec_becomes_a_condition_not_a_crash(start_operator, custom, namespace, samples) -> None:
    operator = start_operator()
    create_admitted_before_its_rule(custom, namespace, samples, "badcron")
    ready = eventually(lambda: condition(get_monitor(custom, namespace, "badcron"), "Ready"))
    assert ready["status"] == "False" and ready["reason"] == "InvalidSpec" and "previousWindow" in ready["message"]
    assert operator.process.poll() is None and not list_runs(custom, namespace)


def test_suspend_stops_new_runs(start_operator, custom, namespace, samples) -> None:
    start_operator()
    create(custom, namespace, monitor_document(samples, "paused", suspend=True))
    ready = eventually(lambda: condition(get_monitor(custom, namespace, "paused"), "Ready"))
    assert (ready["status"], ready["reason"]) == ("False", "Suspended")
    assert not list_runs(custom, namespace)


def test_a_killed_operator_neither_loses_nor_repeats_a_run(start_operator, custom, namespace, samples) -> None:
    slow = f'sh -c \'sleep 6; exec "$0" -m modelmonitor "$@"\' {sys.executable}'
    first = start_operator("--runner-command", slow)
    create(custom, namespace, monitor_document(samples, "durable", runner="job"))
    batch = client.BatchV1Api(custom.api_client)
    eventually(lambda: batch.list_namespaced_job(namespace).items, what="the run's Job")
    first.kill()
    second = start_operator("--runner-command", slow)
    monitor = eventually(lambda: recorded(custom, namespace, "durable", "durable-g1"), timeout=90)
    assert monitor["status"]["lastRun"]["phase"] == "Succeeded"
    assert [r["metadata"]["name"] for r in list_runs(custom, namespace)] == ["durable-g1"]
    assert [j.metadata.name for j in batch.list_namespaced_job(namespace).items] == ["durable-g1"]
    counted = f'modelmonitor_runs_total{{monitor="durable",namespace="{namespace}",result="healthy"}} 1.0'
    eventually(lambda: counted in second.metrics(), what="the run counted once")


def test_history_is_pruned_to_the_limits(start_operator, custom, namespace, samples) -> None:
    start_operator()
    create(
        custom,
        namespace,
        monitor_document(samples, "short", successfulRunsHistoryLimit=2),
    )
    eventually(lambda: recorded(custom, namespace, "short", "short-g1"))
    for request in ("a", "b", "c"):
        before = {r["metadata"]["name"] for r in list_runs(custom, namespace)}
        custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            "modelmonitors",
            "short",
            {"metadata": {"annotations": {"modelmonitor.io/run-now": request}}},
        )
        new = eventually(lambda before=before: {r["metadata"]["name"] for r in list_runs(custom, namespace)} - before)
        eventually(lambda new=new: recorded(custom, namespace, "short", next(iter(new))))
    try:
        eventually(lambda: len(finished_runs(custom, namespace)) == 2)
    except AssertionError:
        kept = [
            (r["metadata"]["name"], r["metadata"]["creationTimestamp"], r["status"].get("completedAt"))
            for r in list_runs(custom, namespace)
        ]
        raise AssertionError(f"not pruned to two runs: {kept}") from None
    kept = {r["metadata"]["name"] for r in list_runs(custom, namespace)}
    assert get_monitor(custom, namespace, "short")["status"]["lastRun"]["name"] in kept


def test_deleting_a_monitor_removes_runs_jobs_and_series(start_operator, custom, namespace, samples) -> None:
    operator = start_operator()
    create(custom, namespace, monitor_document(samples, "doomed", runner="job"))
    eventually(lambda: recorded(custom, namespace, "doomed", "doomed-g1"), timeout=90)
    assert 'monitor="doomed"' in operator.metrics()
    custom.delete_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "modelmonitors",
        "doomed",
        body=client.V1DeleteOptions(propagation_policy="Foreground"),
    )
    batch = client.BatchV1Api(custom.api_client)
    eventually(
        lambda: not list_runs(custom, namespace) and not batch.list_namespaced_job(namespace).items,
        what="runs and Jobs garbage-collected",
    )
    eventually(lambda: 'monitor="doomed"' not in operator.metrics(), what="the series gone")


def _samples_of(text: str, name: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) :].rsplit(" ", 1)
            found[labels] = float(value)
    return found


def test_metrics_endpoint_matches_the_status(start_operator, custom, namespace, samples) -> None:
    operator = start_operator()
    create(custom, namespace, monitor_document(samples, "exported", "drifted"))
    eventually(lambda: recorded(custom, namespace, "exported"))
    results = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "monitorruns", "exported-g1")["status"][
        "results"
    ]
    text = operator.metrics()
    values = _samples_of(text, "modelmonitor_metric_value")
    for metric in results["metrics"]:
        key = f'{{metric="{metric["name"]}",model="credit-risk",monitor="exported",namespace="{namespace}"}}'
        assert values[key] == pytest.approx(metric["value"])
    breached = _samples_of(text, "modelmonitor_threshold_breached")
    assert breached[f'{{metric="accuracy",model="credit-risk",monitor="exported",namespace="{namespace}"}}'] == 1.0
    drift = _samples_of(text, "modelmonitor_feature_drift")
    for feature in results["drift"]["features"]:
        key = (
            f'{{feature="{feature["feature"]}",method="{feature["method"]}",model="credit-risk",'
            f'monitor="exported",namespace="{namespace}"}}'
        )
        assert drift[key] == pytest.approx(feature["statistic"])
    dataset = _samples_of(text, "modelmonitor_dataset_drift")
    base = f'model="credit-risk",monitor="exported",namespace="{namespace}"'
    assert dataset[f"{{{base}}}"] == 1.0
    share = _samples_of(text, "modelmonitor_drifted_features_share")[f"{{{base}}}"]
    assert share == pytest.approx(results["drift"]["driftedShare"]) and share > 0.5
    thresholds = _samples_of(text, "modelmonitor_metric_threshold")
    assert thresholds == {
        f'{{bound="min",metric="{name}",{base}}}': bound
        for name, bound in (("accuracy", 0.75), ("f1", 0.6), ("rocAuc", 0.8))
    }
    concept = _samples_of(text, "modelmonitor_concept_drift_detected")
    assert concept == {
        f'{{method="{detector["method"]}",{base}}}': float(detector["detected"]) for detector in results["conceptDrift"]
    }
    assert concept[f'{{method="performanceWindow",{base}}}'] == 1.0  # accuracy drops two thirds into the window
    assert _samples_of(text, "modelmonitor_monitor_info") == {f"{{{base}}}": 1.0}
    key = f'{{monitor="exported",namespace="{namespace}"}}'
    assert _samples_of(text, "modelmonitor_monitor_interval_seconds") == {key: 8760 * 3600.0}
    created = get_monitor(custom, namespace, "exported")["metadata"]["creationTimestamp"]
    assert _samples_of(text, "modelmonitor_monitor_created_timestamp_seconds") == {
        key: datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
    }
    runs = _samples_of(text, "modelmonitor_runs_total")  # from zero: increase() sees the first error
    assert runs[f'{{monitor="exported",namespace="{namespace}",result="error"}}'] == 0.0
    assert runs[f'{{monitor="exported",namespace="{namespace}",result="unhealthy"}}'] == 1.0
    counted = f'modelmonitor_run_duration_seconds_count{{monitor="exported",namespace="{namespace}",runner="inline"}}'
    eventually(lambda: counted in operator.metrics(), what="the run's duration observed")
    assert (
        f'modelmonitor_last_success_timestamp_seconds{{monitor="exported",namespace="{namespace}"}}'
        in operator.metrics()
    )
    json.dumps(results)


def test_a_restarted_operator_still_knows_the_last_success_and_a_suspended_monitor_is_never_stale(
    start_operator, custom, namespace, samples
) -> None:
    first = start_operator()
    create(custom, namespace, monitor_document(samples, "kept"))
    monitor = eventually(lambda: recorded(custom, namespace, "kept"))
    succeeded = monitor["status"]["lastSuccessfulRunAt"]
    assert succeeded == monitor["status"]["lastRun"]["completedAt"]
    first.kill()
    second = start_operator()
    key = f'{{monitor="kept",namespace="{namespace}"}}'
    expected = datetime.fromisoformat(succeeded.replace("Z", "+00:00")).timestamp()
    eventually(
        lambda: _samples_of(second.metrics(), "modelmonitor_last_success_timestamp_seconds").get(key) == expected,
        what="the last success exported again after the restart",
    )
    assert _samples_of(second.metrics(), "modelmonitor_last_run_errored") == {key: 0.0}
    suspend = {"spec": {"suspend": True}}
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", "kept", suspend)
    eventually(
        lambda: key not in _samples_of(second.metrics(), "modelmonitor_monitor_interval_seconds"),
        what="no interval, so no staleness, while suspended",
    )
    assert _samples_of(second.metrics(), "modelmonitor_monitor_info") == {
        f'{{model="credit-risk",monitor="kept",namespace="{namespace}"}}': 1.0
    }


def test_only_one_replica_is_active(start_operator, custom, namespace, samples) -> None:
    custom.create_namespaced_custom_object(
        "kopf.dev",
        "v1",
        namespace,
        "kopfpeerings",
        {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": "modelmonitor"}},
    )
    active = start_operator("--priority", "10", standalone=False)
    standby = start_operator("--priority", "5", standalone=False)

    def peers() -> list[int]:
        peering = custom.get_namespaced_custom_object("kopf.dev", "v1", namespace, "kopfpeerings", "modelmonitor")
        return sorted(peer["priority"] for peer in (peering.get("status") or {}).values())

    eventually(lambda: peers() == [5, 10], what="both replicas in the peering")
    create(custom, namespace, monitor_document(samples, "peered"))
    eventually(lambda: recorded(custom, namespace, "peered", "peered-g1"))
    # kopf logs a handler's success after it returned, which is after it created the run
    eventually(lambda: "Handler 'accept_spec'" in active.log.read_text(), what="the active replica's accept_spec")
    assert "Handler 'accept_spec'" not in standby.log.read_text()
    assert [r["metadata"]["name"] for r in list_runs(custom, namespace)] == ["peered-g1"]


SLOW_SERVER = """
import functools, http.server, sys, time

class Slow(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        time.sleep(2.0)
        super().do_GET()

    def do_HEAD(self):
        time.sleep(2.0)
        super().do_HEAD()

    def log_message(self, *args):
        pass

handler = functools.partial(Slow, directory=sys.argv[2])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
"""


def test_an_inline_run_cut_short_by_a_crash_finishes_once(start_operator, custom, namespace, samples, tmp_path) -> None:
    from tests.servers import local_server

    script = tmp_path / "slow_server.py"
    script.write_text(SLOW_SERVER)
    with local_server([sys.executable, str(script), "{port}", str(samples)]) as port:
        document = monitor_document(samples, "slow", runner="inline")
        document["spec"]["data"]["current"]["uri"] = f"http://127.0.0.1:{port}/healthy.parquet"
        document["spec"]["data"]["reference"]["uri"] = f"http://127.0.0.1:{port}/reference.parquet"
        first = start_operator()
        create(custom, namespace, document)

        def running() -> bool:
            runs = list_runs(custom, namespace)
            return bool(runs) and (runs[0].get("status") or {}).get("phase") == "Running"

        eventually(running, what="the inline run under way")
        first.kill()
        second = start_operator()
        try:
            monitor = eventually(lambda: recorded(custom, namespace, "slow", "slow-g1"), timeout=120)
        except AssertionError:
            states = [(r["metadata"]["name"], r.get("status")) for r in list_runs(custom, namespace)]
            raise AssertionError(
                f"not recorded: {get_monitor(custom, namespace, 'slow').get('status')}; {states}"
            ) from None
    assert monitor["status"]["lastRun"]["phase"] == "Succeeded" and monitor["status"]["lastRun"]["healthy"]
    assert [r["metadata"]["name"] for r in list_runs(custom, namespace)] == ["slow-g1"]
    counted = f'modelmonitor_runs_total{{monitor="slow",namespace="{namespace}",result="healthy"}} 1.0'
    eventually(lambda: counted in second.metrics(), what="the run counted once")


def _descendants(pid: int) -> list[int]:
    children = [
        int(child)
        for task in os.listdir(f"/proc/{pid}/task")
        for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split()
    ]
    return children + [grandchild for child in children for grandchild in _descendants(child)]


def test_a_check_process_killed_mid_run_is_replaced_and_the_run_succeeds_once(
    start_operator, custom, namespace, samples, tmp_path
) -> None:
    """What the kernel's OOM killer does to a check process: the run is tried again in a fresh one."""
    from tests.servers import local_server

    script = tmp_path / "slow_server.py"
    script.write_text(SLOW_SERVER)
    with local_server([sys.executable, str(script), "{port}", str(samples)]) as port:
        document = monitor_document(samples, "oom", runner="inline")
        document["spec"]["data"]["current"]["uri"] = f"http://127.0.0.1:{port}/healthy.parquet"
        document["spec"]["data"]["reference"]["uri"] = f"http://127.0.0.1:{port}/reference.parquet"
        operator = start_operator()
        create(custom, namespace, document)

        def running() -> bool:
            runs = list_runs(custom, namespace)
            return bool(runs) and (runs[0].get("status") or {}).get("phase") == "Running"

        eventually(running, what="the inline run under way")
        assert operator.process is not None
        # the check processes and the fork server they come from
        workers = [pid for pid in _descendants(operator.process.pid) if "resource_tracker" not in _cmdline(pid)]
        assert len(workers) >= 2, f"no check processes: {workers}"
        for pid in workers:
            os.kill(pid, 9)
        monitor = eventually(lambda: recorded(custom, namespace, "oom", "oom-g1"), timeout=120)
    assert monitor["status"]["lastRun"]["phase"] == "Succeeded" and monitor["status"]["lastRun"]["healthy"]
    assert [r["metadata"]["name"] for r in list_runs(custom, namespace)] == ["oom-g1"]
    assert operator.process.poll() is None  # the operator itself lives on
    assert not set(workers) & set(_descendants(operator.process.pid))  # fresh check processes


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as found:
            return found.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def test_a_job_deleted_by_hand_ends_its_run_as_an_error(start_operator, custom, namespace, samples) -> None:
    start_operator("--runner-command", f"{sys.executable} -c 'import time; time.sleep(600)'")
    create(custom, namespace, monitor_document(samples, "handmade", runner="job"))
    batch = client.BatchV1Api(custom.api_client)
    eventually(lambda: batch.list_namespaced_job(namespace).items, what="the run's Job")
    batch.delete_namespaced_job("handmade-g1", namespace, propagation_policy="Background")
    monitor = eventually(lambda: recorded(custom, namespace, "handmade", "handmade-g1"), timeout=90)
    last = monitor["status"]["lastRun"]
    assert last["phase"] == "Error" and last["reason"] == "JobDeleted", last


def test_estimates_before_the_labels_reach_the_conditions_and_the_metrics(
    start_operator, custom, namespace, samples
) -> None:
    operator = start_operator()
    create(custom, namespace, monitor_document(samples, "estimated", performanceEstimation={"method": "cbpe"}))
    monitor = eventually(lambda: recorded(custom, namespace, "estimated"))
    run = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "monitorruns", "estimated-g1")
    results = run["status"]["results"]
    assert results["performanceEstimation"]["status"] == "Passed", results["performanceEstimation"]
    accuracy = next(m for m in results["metrics"] if m["name"] == "accuracy")
    assert accuracy["estimated"]["rows"] == results["performanceEstimation"]["unlabeledRows"] > 0
    warned = condition(monitor, "EstimatedPerformanceDegraded")
    assert (warned["status"], warned["reason"]) == ("False", "EstimatesWithinThresholds")
    assert "estimated accuracy" in warned["message"]
    estimated = _samples_of(operator.metrics(), "modelmonitor_metric_estimated_value")
    base = f'metric="accuracy",model="credit-risk",monitor="estimated",namespace="{namespace}"'
    assert estimated[f'{{bound="value",{base}}}'] == pytest.approx(accuracy["estimated"]["value"])
    assert estimated[f'{{bound="lower",{base}}}'] < estimated[f'{{bound="upper",{base}}}']


def test_a_data_secret_never_shows_where_users_can_read(start_operator, custom, namespace, samples) -> None:
    """A planted credential: not in any status, Event, verbose log line, metric, report or Job spec."""
    planted = {"AWS_ACCESS_KEY_ID": "planted-id-7f3a91", "AWS_SECRET_ACCESS_KEY": "planted-secret-9c2e1b44"}
    core, batch = client.CoreV1Api(custom.api_client), client.BatchV1Api(custom.api_client)
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "data-access"}, "stringData": planted, "type": "Opaque"}
    )
    operator = start_operator("--verbose")
    access = {"secretRef": {"name": "data-access"}}
    create(custom, namespace, monitor_document(samples, "inline-secret", credentials=access))
    create(custom, namespace, monitor_document(samples, "job-secret", runner="job", credentials=access))
    eventually(lambda: recorded(custom, namespace, "inline-secret"))
    eventually(lambda: recorded(custom, namespace, "job-secret"), timeout=90)
    readable = {
        "monitors and their status": json.dumps(
            custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors")
        ),
        "runs and their results": json.dumps(list_runs(custom, namespace)),
        "events": json.dumps(custom.api_client.sanitize_for_serialization(core.list_namespaced_event(namespace))),
        "the verbose log": operator.log.read_text(),
        "metrics": operator.metrics(),
        "the web view and its reports": "".join(
            operator.page(path)
            for monitor in ("inline-secret", "job-secret")
            for path in (
                "/",
                "/api/monitors",
                f"/monitors/{namespace}/{monitor}",
                f"/api/monitors/{namespace}/{monitor}",
                f"/monitors/{namespace}/{monitor}/runs/{monitor}-g1",
                f"/api/monitors/{namespace}/{monitor}/runs/{monitor}-g1",
            )
        ),
        "jobs": json.dumps(custom.api_client.sanitize_for_serialization(batch.list_namespaced_job(namespace))),
    }
    assert "job-secret-g1" in readable["the web view and its reports"]  # the pages show the runs
    for where, text in readable.items():
        for value in planted.values():
            assert value not in text, f"{value} leaked into {where}"
    job = batch.read_namespaced_job("job-secret-g1", namespace)
    assert job.spec.template.spec.containers[0].env_from[0].secret_ref.name == "data-access"
    assert job.spec.template.spec.containers[0].env is None  # referenced, never copied
