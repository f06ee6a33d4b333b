"""Fault drills against the real control plane: nothing lost, nothing run twice, a true final status.

Each drill breaks one thing mid-flight (the API server, etcd, a watch stream, the data
source, a Pod, a permission, the operator itself, a second writer) and then checks the
runs, the monitor's status, the Jobs and the metrics. docs/reliability.md lists them.
"""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from modelmonitor.controller.kube import Kube, with_request_timeout, with_retries
from modelmonitor.controller.records import run_order
from tests.controller.conftest import GROUP, VERSION, get_monitor, list_runs, monitor_document
from tests.controller.test_operator import create, recorded
from tests.helpers import eventually

ROOT = Path(__file__).resolve().parents[2]
SLOW_RUNNER = f'sh -c \'sleep 8; exec "$0" -m modelmonitor "$@"\' {sys.executable}'


# --- pure: what the drills below rely on ------------------------------------------------


def test_a_request_to_a_silent_api_server_times_out_instead_of_hanging() -> None:
    """The kubernetes client waits forever by default; a stalled connection must not hang a handler."""
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel's backlog) and never answers
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{silent.getsockname()[1]}"
    api = with_request_timeout(client.ApiClient(configuration), (1.0, 1.0))
    api.configuration.retries = 0
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.CoreV1Api(api).list_namespace()
        except BaseException as error:  # whatever it is, the assertion below shows it
            outcome.append(error)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    caller.join(30)
    silent.close()
    assert not caller.is_alive(), "the request hung"
    assert outcome and "timed out" in str(outcome[0]).lower(), outcome


def test_transient_failures_are_tried_again_and_refusals_are_not() -> None:
    slept: list[float] = []
    answers: list[Exception | str] = [ApiException(status=503), ConnectionRefusedError(), "done"]

    def flaky() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert with_retries(flaky, sleep=slept.append) == "done" and slept == [1.0, 2.0]

    def forbidden() -> str:
        raise ApiException(status=403)

    with pytest.raises(ApiException):
        with_retries(forbidden, sleep=slept.append)
    assert slept == [1.0, 2.0]  # no wait for a refusal

    slept.clear()

    def down() -> str:
        raise ApiException(status=503)

    with pytest.raises(ApiException):
        with_retries(down, give_up_after=20, sleep=slept.append)
    assert slept == [1.0, 2.0, 4.0, 8.0]  # 15 s waited; 16 more would pass the 20


# --- drills on the dev cluster ---------------------------------------------------------


def _jobs(custom: client.CustomObjectsApi, namespace: str) -> list[str]:
    return [job.metadata.name for job in client.BatchV1Api(custom.api_client).list_namespaced_job(namespace).items]


def _run_names(custom: client.CustomObjectsApi, namespace: str) -> list[str]:
    return sorted(run["metadata"]["name"] for run in list_runs(custom, namespace))


def _phase(custom: client.CustomObjectsApi, namespace: str, run: str) -> str | None:
    try:
        found = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "monitorruns", run)
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    return (found.get("status") or {}).get("phase")


def _run_now(custom: client.CustomObjectsApi, namespace: str, name: str, request: str) -> None:
    annotations = {"metadata": {"annotations": {"modelmonitor.io/run-now": request}}}
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", name, annotations)


def _counted(operator, namespace: str, monitor: str, result: str = "healthy") -> float:
    labels = (f'monitor="{monitor}"', f'namespace="{namespace}"', f'result="{result}"')
    for line in operator.metrics().splitlines():
        if line.startswith("modelmonitor_runs_total{") and all(label in line for label in labels):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.cluster
@pytest.mark.parametrize("component", ["kube-apiserver", "etcd"])
def test_the_control_plane_restarted_mid_run_loses_and_repeats_nothing(
    component, start_operator, control_plane, custom, namespace, samples
) -> None:
    operator = start_operator("--runner-command", SLOW_RUNNER)
    create(custom, namespace, monitor_document(samples, "steady", runner="job"))
    eventually(lambda: _phase(custom, namespace, "steady-g1") == "Running", what="the run's Job under way")
    control_plane.restart(component, down=3)  # the runner writes its results while it is down or just back
    monitor = eventually(lambda: recorded(custom, namespace, "steady", "steady-g1"), timeout=150)
    assert monitor["status"]["lastRun"]["phase"] == "Succeeded", monitor["status"]["lastRun"]
    assert _run_names(custom, namespace) == ["steady-g1"] and _jobs(custom, namespace) == ["steady-g1"]
    eventually(lambda: _counted(operator, namespace, "steady") == 1.0, what="the run counted once")
    # the watches came back: a change made after the restart is acted on
    _run_now(custom, namespace, "steady", "after-restart")
    eventually(
        lambda: (
            len(_run_names(custom, namespace)) == 2
            and get_monitor(custom, namespace, "steady")["status"]["lastRun"]["name"] != "steady-g1"
        ),
        timeout=120,
        what="a run asked for after the restart, recorded",
    )
    assert operator.process.poll() is None


@pytest.mark.cluster
def test_a_stalled_watch_is_given_up_and_made_again(start_operator, control_plane, custom, namespace, samples) -> None:
    """A connection that goes silent without closing (a dropped NAT entry): kopf's watch inactivity timeout."""
    from tests.stallproxy import StallProxy

    config = yaml.safe_load(Path(control_plane.kubeconfig).read_text())
    api_port = int(control_plane.server.rsplit(":", 1)[1])
    proxy = StallProxy(api_port)
    try:
        config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
        proxied = Path(control_plane.workdir) / f"kubeconfig-proxied-{namespace}"
        proxied.write_text(yaml.safe_dump(config))
        start_operator(env={"KUBECONFIG": str(proxied)})
        create(custom, namespace, monitor_document(samples, "before"))
        eventually(lambda: recorded(custom, namespace, "before", "before-g1"), timeout=60)
        silenced = proxy.stall()
        assert silenced >= 3  # the watches, at least, and the client's pooled connections
        create(custom, namespace, monitor_document(samples, "during"))
        # within the 70 s of inactivity kopf allows a watch, plus a request's 30 s read timeout
        monitor = eventually(lambda: recorded(custom, namespace, "during", "during-g1"), timeout=150)
        assert monitor["status"]["lastRun"]["phase"] == "Succeeded"
        assert _run_names(custom, namespace) == ["before-g1", "during-g1"]
    finally:
        proxy.close()


@pytest.mark.cluster
def test_a_data_source_away_then_back_errors_then_recovers_and_keeps_the_last_results(
    start_operator, custom, namespace, samples, api_client
) -> None:
    """The moto S3 server stopped, then started again with the data: Error runs in between, no series dropped."""
    import boto3

    from modelmonitor_tools.devcluster.processes import free_port
    from tests.servers import local_server

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "{port}"]
    keys = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}

    def upload() -> None:
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket="logs")
        for name in ("drifted.parquet", "reference.parquet"):
            s3.upload_file(str(samples / name), "logs", name)

    secret = client.V1Secret(
        metadata=client.V1ObjectMeta(name="s3"), string_data={**keys, "AWS_ENDPOINT_URL_S3": endpoint}
    )
    client.CoreV1Api(api_client).create_namespaced_secret(namespace, secret)
    document = monitor_document(samples, "remote", "drifted", credentials={"secretRef": {"name": "s3"}})
    document["spec"]["data"]["current"]["uri"] = "s3://logs/drifted.parquet"
    document["spec"]["data"]["reference"]["uri"] = "s3://logs/reference.parquet"
    operator = start_operator()
    with local_server(moto, port=port):
        upload()
        create(custom, namespace, document)
        first = eventually(lambda: recorded(custom, namespace, "remote", "remote-g1"), timeout=90)
        assert first["status"]["lastRun"]["phase"] == "Succeeded"
        before = _series(operator.metrics(), namespace)
        assert any(
            line.startswith('modelmonitor_dataset_drift{model="credit-risk",monitor="remote"') for line in before
        )
    _run_now(custom, namespace, "remote", "source-away")
    away = eventually(lambda: _latest_other_than(custom, namespace, "remote", {"remote-g1"}), timeout=90)
    last = away["status"]["lastRun"]
    assert last["phase"] == "Error" and "s3://logs/" in last.get("message", ""), last
    during = _series(operator.metrics(), namespace)
    # an Error run has no results: the last results stay exported, so their alerts neither resolve nor re-fire
    assert {line for line in before if "drift" in line or "metric_value" in line} <= during
    assert f'modelmonitor_last_run_errored{{monitor="remote",namespace="{namespace}"}} 1.0' in during
    with local_server(moto, port=port):
        upload()
        _run_now(custom, namespace, "remote", "source-back")
        back = eventually(
            lambda: _latest_other_than(custom, namespace, "remote", {"remote-g1", last["name"]}), timeout=90
        )
    assert back["status"]["lastRun"]["phase"] == "Succeeded"
    after = _series(operator.metrics(), namespace)
    assert f'modelmonitor_last_run_errored{{monitor="remote",namespace="{namespace}"}} 0.0' in after
    assert len(_run_names(custom, namespace)) == 3


def _series(text: str, namespace: str) -> set[str]:
    return {line for line in text.splitlines() if f'namespace="{namespace}"' in line and not line.startswith("#")}


def _latest_other_than(custom, namespace: str, name: str, seen: set[str]) -> dict | None:
    monitor = get_monitor(custom, namespace, name)
    last = (monitor.get("status") or {}).get("lastRun") or {}
    return monitor if last.get("name") and last["name"] not in seen else None


@pytest.mark.cluster
def test_a_run_pod_deleted_by_hand_is_replaced_and_the_run_succeeds_once(
    start_operator, custom, namespace, samples, api_client
) -> None:
    operator = start_operator("--runner-command", SLOW_RUNNER)
    create(custom, namespace, monitor_document(samples, "podless", runner="job"))
    core = client.CoreV1Api(api_client)
    pods = eventually(lambda: core.list_namespaced_pod(namespace).items, what="the run's Pod")
    core.delete_namespaced_pod(pods[0].metadata.name, namespace, grace_period_seconds=0)
    monitor = eventually(lambda: recorded(custom, namespace, "podless", "podless-g1"), timeout=150)
    assert monitor["status"]["lastRun"]["phase"] == "Succeeded", monitor["status"]["lastRun"]
    assert _run_names(custom, namespace) == ["podless-g1"] and _jobs(custom, namespace) == ["podless-g1"]
    assert len(core.list_namespaced_pod(namespace).items) == 1  # the replacement; the deleted one is gone
    eventually(lambda: _counted(operator, namespace, "podless") == 1.0, what="the run counted once")


def _all_finished(custom, namespace: str, expected: int):
    def check() -> list[dict] | None:
        runs = list_runs(custom, namespace)
        assert len(runs) <= expected, [run["metadata"]["name"] for run in runs]  # never a duplicate
        finished = [run for run in runs if (run.get("status") or {}).get("phase") in ("Succeeded", "Error")]
        return runs if len(finished) == expected else None

    return check


def _token_kubeconfig(control_plane, api_client, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig that authenticates as a ServiceAccount (a bound token), as the operator's Pod does."""
    core = client.CoreV1Api(api_client)
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=account))
    )
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600))
    token = core.create_namespaced_service_account_token(account, namespace, request).status.token
    config = yaml.safe_load(Path(control_plane.kubeconfig).read_text())
    config["users"] = [{"name": account, "user": {"token": token}}]
    config["contexts"][0]["context"]["user"] = account
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.cluster
def test_a_permission_taken_from_the_operator_ends_runs_with_a_clear_error_and_no_crash(
    start_operator, control_plane, custom, namespace, samples, api_client, tmp_path
) -> None:
    rbac = client.RbacAuthorizationV1Api(api_client)
    manifests = list(yaml.safe_load_all((ROOT / "manifests" / "rbac.yaml").read_text()))
    rules = next(doc for doc in manifests if doc and doc["kind"] == "ClusterRole")["rules"]
    role = f"drill-{namespace}"
    rbac.create_cluster_role({"metadata": {"name": role}, "rules": rules})
    binding = {
        "metadata": {"name": role},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": "operator", "namespace": namespace}],
    }
    rbac.create_cluster_role_binding(binding)
    try:
        kubeconfig = _token_kubeconfig(
            control_plane, api_client, namespace, "operator", tmp_path / "operator.kubeconfig"
        )
        operator = start_operator(env={"KUBECONFIG": str(kubeconfig)})
        create(custom, namespace, monitor_document(samples, "allowed", runner="job"))
        eventually(lambda: recorded(custom, namespace, "allowed", "allowed-g1"), timeout=90)

        without_jobs = [
            dict(rule, verbs=[v for v in rule["verbs"] if v != "create"]) if "jobs" in rule["resources"] else rule
            for rule in rules
        ]
        rbac.patch_cluster_role(role, {"rules": without_jobs})
        _run_now(custom, namespace, "allowed", "forbidden")
        refused = eventually(lambda: _latest_other_than(custom, namespace, "allowed", {"allowed-g1"}), timeout=90)
        last = refused["status"]["lastRun"]
        assert last["phase"] == "Error" and last["reason"] == "Forbidden", last
        assert 'cannot create resource "jobs"' in last["message"], last
        # kopf posts Events from a queue of its own, after the status is written
        eventually(
            lambda: any(
                event.reason == "RunError" and "Forbidden" in event.message
                for event in client.CoreV1Api(api_client).list_namespaced_event(namespace).items
            ),
            what="the RunError Event naming Forbidden",
        )
        assert operator.process.poll() is None and "Traceback" not in operator.log.read_text()

        rbac.patch_cluster_role(role, {"rules": rules})
        _run_now(custom, namespace, "allowed", "allowed-again")
        back = eventually(
            lambda: _latest_other_than(custom, namespace, "allowed", {"allowed-g1", last["name"]}), timeout=90
        )
        assert back["status"]["lastRun"]["phase"] == "Succeeded"
        assert len(_run_names(custom, namespace)) == 3
    finally:
        rbac.delete_cluster_role_binding(role)
        rbac.delete_cluster_role(role)


@pytest.mark.cluster
def test_a_late_clear_of_a_handled_run_now_leaves_a_newer_request_in_place(
    installed_crds, api_client, custom, namespace, samples
) -> None:
    """The flake this fixes: operator B cleared "one" (which A had handled) after the user wrote "two".

    A merge patch removed "two" with it, so neither operator ever ran it.
    """
    kube, key = Kube(api_client), "modelmonitor.io/run-now"
    create(custom, namespace, monitor_document(samples, "late-clear", suspend=True))
    _run_now(custom, namespace, "late-clear", "two")
    assert not kube.clear_monitor_annotation(namespace, "late-clear", key, "one")
    assert get_monitor(custom, namespace, "late-clear")["metadata"]["annotations"][key] == "two"
    assert kube.clear_monitor_annotation(namespace, "late-clear", key, "two")
    assert key not in (get_monitor(custom, namespace, "late-clear")["metadata"].get("annotations") or {})
    assert not kube.clear_monitor_annotation(namespace, "late-clear", key, "two")
    assert not kube.clear_monitor_annotation(namespace, "gone", key, "two")


@pytest.mark.cluster
def test_two_operators_writing_the_same_monitors_lose_and_duplicate_nothing(
    start_operator, custom, namespace, samples
) -> None:
    """Two active writers (two replicas started standalone by mistake): creates conflict (409), names decide."""
    first, second = start_operator(), start_operator()
    names = [f"shared-{index}" for index in range(4)]
    for name in names:
        create(custom, namespace, monitor_document(samples, name))
    for name in names:
        eventually(lambda name=name: recorded(custom, namespace, name, f"{name}-g1"), timeout=90)
    for round_, request in enumerate(("one", "two"), start=2):
        for name in names:
            _run_now(custom, namespace, name, request)
        eventually(lambda round_=round_: len(_run_names(custom, namespace)) >= 4 * round_, timeout=90)
    runs = eventually(_all_finished(custom, namespace, 12), timeout=120, what="12 runs finished")
    for name in names:
        latest = max((run for run in runs if run["spec"]["monitor"] == name), key=run_order)
        assert latest["status"]["phase"] == "Succeeded", latest["status"]
        eventually(
            lambda name=name, latest=latest: (
                get_monitor(custom, namespace, name)["status"]["lastRun"]["name"] == latest["metadata"]["name"]
            ),
            what=f"{name}'s latest run recorded",
        )
    assert len(_run_names(custom, namespace)) == 12
    for operator in (first, second):
        assert operator.process.poll() is None and "Traceback" not in operator.log.read_text()


@pytest.mark.cluster
def test_an_operator_killed_while_recording_records_each_run_once_after_a_restart(
    start_operator, custom, namespace, samples
) -> None:
    """SIGKILL (what the OOM killer sends) the moment a run is seen finished: between its status and its record.

    The kill lands before the record or after it as timing has it; either way the next
    operator must record the run, once, and the monitor must name the latest run.
    """
    operator = start_operator()
    create(custom, namespace, monitor_document(samples, "record"))
    eventually(lambda: recorded(custom, namespace, "record", "record-g1"), timeout=90)
    landed_before_the_record = 0
    for attempt in range(4):
        before = set(_run_names(custom, namespace))
        _run_now(custom, namespace, "record", f"kill-{attempt}")
        run = eventually(
            lambda before=before: next(
                (
                    r
                    for r in list_runs(custom, namespace)
                    if r["metadata"]["name"] not in before
                    and (r.get("status") or {}).get("phase") in ("Succeeded", "Error")
                ),
                None,
            ),
            interval=0.02,
            what="the new run finished",
        )
        operator.kill()
        name = run["metadata"]["name"]
        landed_before_the_record += get_monitor(custom, namespace, "record")["status"]["lastRun"]["name"] != name
        operator = start_operator()
        monitor = eventually(lambda name=name: recorded(custom, namespace, "record", name), timeout=90)
        assert monitor["status"]["lastRun"]["phase"] == "Succeeded"
        assert len(_run_names(custom, namespace)) == attempt + 2  # none lost, none made twice
    print(f"{landed_before_the_record} of 4 kills landed between a run's end and its record")
