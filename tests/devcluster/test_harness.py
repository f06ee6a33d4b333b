"""The dev cluster is a real Kubernetes control plane: schema, status, watch, RBAC, Jobs, GC."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Any

import pyarrow.fs as pafs
import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from modelmonitor_tools.devcluster.processes import is_alive
from tests.helpers import eventually

pytestmark = pytest.mark.cluster

GROUP = "harness.modelmonitor.io"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"widgets.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {"size": {"type": "integer", "minimum": 1, "maximum": 10}},
                            },
                            "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
                        },
                    }
                },
            }
        ],
    },
}


@pytest.fixture(scope="module")
def widgets(api_client) -> client.CustomObjectsApi:
    extensions = client.ApiextensionsV1Api(api_client)
    try:
        extensions.create_custom_resource_definition(CRD)
    except ApiException as error:
        if error.status != 409:
            raise

    def established() -> bool:
        crd = extensions.read_custom_resource_definition(CRD["metadata"]["name"])
        return any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or [])

    eventually(established)
    return client.CustomObjectsApi(api_client)


def widget(name: str, size: int) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": name}, "spec": {"size": size}}


def test_server_reports_its_real_version(api_client) -> None:
    version = client.VersionApi(api_client).get_code()
    assert version.git_version == "v1.36.3"
    assert (version.major, version.minor) == ("1", "36")


def test_crd_is_established_and_serves_objects(widgets, namespace) -> None:
    created = widgets.create_namespaced_custom_object(GROUP, "v1", namespace, "widgets", widget("a", 3))
    assert created["spec"]["size"] == 3


def test_structural_schema_rejects_a_bad_object(widgets, namespace) -> None:
    with pytest.raises(ApiException) as caught:
        widgets.create_namespaced_custom_object(GROUP, "v1", namespace, "widgets", widget("big", 11))
    assert caught.value.status == 422
    assert "spec.size" in caught.value.body and "should be less than or equal to 10" in caught.value.body


def test_status_subresource_is_separate_from_spec(widgets, namespace) -> None:
    widgets.create_namespaced_custom_object(GROUP, "v1", namespace, "widgets", widget("s", 2))
    widgets.patch_namespaced_custom_object_status(
        GROUP, "v1", namespace, "widgets", "s", {"status": {"phase": "Ready"}, "spec": {"size": 9}}
    )
    stored = widgets.get_namespaced_custom_object(GROUP, "v1", namespace, "widgets", "s")
    assert stored["status"] == {"phase": "Ready"}
    assert stored["spec"]["size"] == 2  # the status endpoint ignores spec changes
    widgets.patch_namespaced_custom_object(GROUP, "v1", namespace, "widgets", "s", {"status": {"phase": "Lost"}})
    assert widgets.get_namespaced_custom_object(GROUP, "v1", namespace, "widgets", "s")["status"] == {"phase": "Ready"}


def test_watch_receives_events(widgets, namespace) -> None:
    seen: list[tuple[str, str]] = []
    listening = threading.Event()

    def listen() -> None:
        stream = watch.Watch().stream(
            widgets.list_namespaced_custom_object, GROUP, "v1", namespace, "widgets", timeout_seconds=20
        )
        listening.set()
        for event in stream:
            seen.append((event["type"], event["object"]["metadata"]["name"]))
            if len(seen) == 3:
                return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    listening.wait(5)
    time.sleep(0.5)
    widgets.create_namespaced_custom_object(GROUP, "v1", namespace, "widgets", widget("w", 1))
    widgets.patch_namespaced_custom_object(GROUP, "v1", namespace, "widgets", "w", {"spec": {"size": 4}})
    widgets.delete_namespaced_custom_object(GROUP, "v1", namespace, "widgets", "w")
    thread.join(25)
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


def test_rbac_denies_an_impersonated_user(kubeconfig, namespace) -> None:
    from kubernetes import config

    impersonating = config.new_client_from_config(str(kubeconfig))
    impersonating.set_default_header("Impersonate-User", "mallory")
    with pytest.raises(ApiException) as caught:
        client.CoreV1Api(impersonating).list_namespaced_secret(namespace)
    assert caught.value.status == 403
    message = json.loads(caught.value.body)["message"]
    assert 'User "mallory" cannot list resource "secrets"' in message


def _python_job(name: str, code: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {"name": "main", "image": "python:3.11-slim", "command": [sys.executable, "-c", code]}
                    ],
                }
            },
        },
    }


def _finished(batch: client.BatchV1Api, namespace: str, name: str) -> str | None:
    job = batch.read_namespaced_job(name, namespace)
    return next(
        (c.type for c in job.status.conditions or [] if c.type in ("Complete", "Failed") and c.status == "True"), None
    )


@pytest.mark.parametrize(("exit_code", "outcome"), [(0, "Complete"), (1, "Failed")])
def test_job_runs_through_the_real_job_controller(api_client, namespace, exit_code, outcome) -> None:
    batch = client.BatchV1Api(api_client)
    code = f"import os, sys; print('pod', os.environ['POD_NAME']); sys.exit({exit_code})"
    batch.create_namespaced_job(namespace, _python_job("py", code))
    assert eventually(lambda: _finished(batch, namespace, "py")) == outcome
    pods = client.CoreV1Api(api_client).list_namespaced_pod(namespace, label_selector="job-name=py").items
    terminated = pods[0].status.container_statuses[0].state.terminated
    assert terminated.exit_code == exit_code
    assert terminated.reason == ("Completed" if exit_code == 0 else "Error")


def test_garbage_collector_removes_an_owned_job(api_client, namespace) -> None:
    core, batch = client.CoreV1Api(api_client), client.BatchV1Api(api_client)
    owner = core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner")))
    job = _python_job("owned", "pass")
    job["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    ]
    batch.create_namespaced_job(namespace, job)
    core.delete_namespaced_config_map("owner", namespace)

    def gone() -> bool:
        try:
            batch.read_namespaced_job("owned", namespace)
        except ApiException as error:
            return error.status == 404
        return False

    eventually(gone)


def test_pod_runner_refuses_another_api_server(control_plane, tmp_path) -> None:
    import yaml

    from modelmonitor_tools.devcluster.podrunner import RefusedCluster, verify_dev_cluster

    assert verify_dev_cluster(control_plane.kubeconfig, control_plane.ca.certificate) == control_plane.server
    config = yaml.safe_load(control_plane.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = "https://10.1.2.3:6443"
    remote = tmp_path / "remote"
    remote.write_text(yaml.safe_dump(config))
    with pytest.raises(RefusedCluster, match="only a dev cluster on loopback"):
        verify_dev_cluster(remote, control_plane.ca.certificate)
    other_ca = tmp_path / "other-ca.crt"
    other_ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot ours\n-----END CERTIFICATE-----\n")
    with pytest.raises(RefusedCluster, match="does not use the dev cluster's CA"):
        verify_dev_cluster(control_plane.kubeconfig, other_ca)


def test_dev_cluster_command_starts_and_stops_by_pid(control_plane, tmp_path) -> None:
    state_dir = tmp_path / "state"
    run = [sys.executable, "-m", "modelmonitor", "dev-cluster"]
    up = subprocess.run(
        [*run, "up", "--detach", "--state-dir", str(state_dir)], capture_output=True, text=True, timeout=300
    )
    assert up.returncode == 0, up.stderr
    env = subprocess.run([*run, "env", "--state-dir", str(state_dir)], capture_output=True, text=True, timeout=60)
    assert env.stdout.strip() == f"export KUBECONFIG={state_dir / 'kubeconfig'}"
    state = json.loads((state_dir / "state.json").read_text())
    pids = [state["supervisor"], *state["pids"].values()]
    down = subprocess.run([*run, "down", "--state-dir", str(state_dir)], capture_output=True, text=True, timeout=120)
    assert down.returncode == 0, down.stderr

    eventually(lambda: not any(is_alive(pid) for pid in pids), timeout=30)


def test_dev_cluster_command_runs_an_object_store_with_a_bucket_and_stops_it_by_pid(control_plane, tmp_path) -> None:
    state_dir = tmp_path / "state"
    run = [sys.executable, "-m", "modelmonitor", "dev-cluster"]
    up = subprocess.run(
        [*run, "up", "--detach", "--with-object-store", "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert up.returncode == 0, up.stderr
    state = json.loads((state_dir / "state.json").read_text())
    try:
        env = subprocess.run([*run, "env", "--state-dir", str(state_dir)], capture_output=True, text=True, timeout=60)
        exported = dict(line.removeprefix("export ").split("=", 1) for line in env.stdout.splitlines())
        assert exported["AWS_ENDPOINT_URL_S3"].startswith("http://127.0.0.1:") and "AWS_SECRET_ACCESS_KEY" in exported
        store = pafs.S3FileSystem(
            access_key=exported["AWS_ACCESS_KEY_ID"],
            secret_key=exported["AWS_SECRET_ACCESS_KEY"],
            endpoint_override=exported["AWS_ENDPOINT_URL_S3"].removeprefix("http://"),
            scheme="http",
            region=exported["AWS_REGION"],
        )
        with store.open_output_stream("modelmonitor/hello.txt") as stream:  # the bucket it made
            stream.write(b"hello")
        assert store.get_file_info("modelmonitor/hello.txt").size == 5
    finally:
        down = subprocess.run(
            [*run, "down", "--state-dir", str(state_dir)], capture_output=True, text=True, timeout=120
        )
    assert down.returncode == 0, down.stderr
    pids = [state["supervisor"], *state["pids"].values()]
    assert "seaweedfs" in state["pids"]
    eventually(lambda: not any(is_alive(pid) for pid in pids), timeout=60)
