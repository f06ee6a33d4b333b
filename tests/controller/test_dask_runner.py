"""runner: dask on the real control plane: the operator sends a monitor's drift work to a real Dask cluster."""

from __future__ import annotations

import pytest
import yaml
from kubernetes import client

from modelmonitor_tools.devcluster.processes import free_port
from tests.controller.conftest import GROUP, ROOT, VERSION, kubectl, list_runs, monitor_document
from tests.controller.test_operator import finished_runs
from tests.distributed.conftest import DaskCluster, dask_cluster  # noqa: F401 - the fixture
from tests.helpers import eventually

pytestmark = pytest.mark.cluster


def test_a_dask_monitor_runs_its_drift_on_the_workers(
    start_operator,
    custom,
    namespace,
    samples,
    dask_cluster: DaskCluster,  # noqa: F811
) -> None:
    """The address comes from spec.dask here; the results say which workers ran the tasks."""
    start_operator()
    document = monitor_document(samples, "on-dask", "drifted", runner="dask", dask={"address": dask_cluster.address})
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)
    [run] = eventually(lambda: finished_runs(custom, namespace), timeout=120, what="a finished run")
    assert run["spec"]["runner"] == "dask" and run["status"]["phase"] == "Succeeded", run["status"]
    ran_on = run["status"]["results"]["ranOn"]
    assert ran_on["engine"] == "dask" and ran_on["scheduler"] == dask_cluster.address
    # a task per feature, prediction and label; the labeled rows of the current window and the reference (the
    # performanceWindow baseline): a scan and a summary of each side's one partition, a merge each, a plan, a collection
    drift_tasks = len(run["status"]["results"]["drift"]["features"]) + 2
    assert sum(ran_on["tasksPerWorker"].values()) == drift_tasks + 2 * 3 + 2
    assert run["status"]["results"]["verdict"] == "Failed"  # the drifted sample drifts, on Dask as inline


def test_an_unreachable_scheduler_from_the_operators_flag_makes_the_run_an_error(
    start_operator, custom, namespace, samples
) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    start_operator("--dask-scheduler", address)
    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "modelmonitors", monitor_document(samples, "lost", runner="dask")
    )
    [run] = eventually(lambda: finished_runs(custom, namespace), timeout=120, what="a finished run")
    assert run["status"]["phase"] == "Error" and run["status"]["reason"] == "DaskUnavailable"
    assert run["status"]["message"].startswith(f"dask scheduler {address}: cannot connect within 10s")
    assert len(list_runs(custom, namespace)) == 1  # not retried in a loop


def test_a_dask_cluster_is_resolved_to_its_scheduler_service_at_each_run(
    start_operator, custom, api_client, namespace, samples, control_plane, kubeconfig, dask_crds
) -> None:
    """The sample DaskCluster on the real API server with the dask-kubernetes CRDs; the runs say what they found.

    No pod runs here, so the resolved scheduler cannot answer: the run's DaskUnavailable names the address
    the operator resolved from the Service, which is what this test checks.
    """
    sample = ROOT / "manifests" / "samples" / "dask-cluster.yaml"
    kubectl(control_plane, kubeconfig, "create", "namespace", "ml")
    dry_run = kubectl(control_plane, kubeconfig, "apply", "--dry-run=server", "-f", str(sample))
    assert dry_run.returncode == 0 and "daskcluster.kubernetes.dask.org/analytics created (server dry run)" in (
        dry_run.stdout
    ), dry_run.stderr
    cluster = yaml.safe_load(sample.read_text())
    cluster["metadata"]["namespace"] = namespace
    for name, phase in (("analytics", "Running"), ("starting", None)):
        cluster["metadata"]["name"] = name
        cluster["status"] = {"phase": phase} if phase else {}
        custom.create_namespaced_custom_object("kubernetes.dask.org", "v1", namespace, "daskclusters", cluster)
    service = {"metadata": {"name": "analytics-scheduler"}, "spec": cluster["spec"]["scheduler"]["service"]}
    client.CoreV1Api(api_client).create_namespaced_service(namespace, service)
    start_operator()
    monitors = {
        "resolved": {"cluster": "analytics"},
        "starting": {"cluster": "starting"},
        "missing": {"cluster": "nowhere"},
        "elsewhere": {"cluster": "analytics", "clusterNamespace": "ml"},
    }
    for name, dask in monitors.items():
        document = monitor_document(samples, name, runner="dask", dask=dask)
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)
    runs = eventually(
        lambda: (found := finished_runs(custom, namespace)) and len(found) == 4 and found,
        timeout=120,
        what="four finished runs",
    )
    status = {run["spec"]["monitor"]: run["status"] for run in runs}
    assert {name: (found["phase"], found["reason"]) for name, found in status.items()} == {
        "resolved": ("Error", "DaskUnavailable"),
        "starting": ("Error", "DaskClusterNotReady"),
        "missing": ("Error", "DaskClusterNotFound"),
        "elsewhere": ("Error", "DaskClusterNotFound"),
    }
    assert status["resolved"]["message"].startswith(f"dask scheduler tcp://analytics-scheduler.{namespace}.svc:8786: ")
    assert status["starting"]["message"] == f"DaskCluster {namespace}/starting is without a phase yet, not Running"
    assert status["missing"]["message"] == f"DaskCluster {namespace}/nowhere not found"
    assert status["elsewhere"]["message"] == "DaskCluster ml/analytics not found"
