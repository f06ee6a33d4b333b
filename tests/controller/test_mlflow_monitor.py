"""A monitor on a model registered in MLflow, run by the operator against a real ``mlflow server`` on loopback.

The version comes from the alias at each run and is recorded in status; the reference is that
version's artifact; each run is logged once to the monitor's experiment. A registry that cannot
be reached fails the run with a message naming it, and an unreachable run log loses no record.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from modelmonitor.exports.mlflow_runs import experiment_name
from modelmonitor.tracking import registry
from modelmonitor.tracking.client import Mlflow
from modelmonitor.tracking.runs import experiment_id, find_run
from modelmonitor_tools.devcluster.mlflow_server import TRAINING, MlflowServer
from modelmonitor_tools.devcluster.processes import free_port
from tests.controller.conftest import GROUP, VERSION, get_monitor, monitor_document
from tests.controller.test_operator import finished_runs, recorded
from tests.helpers import eventually
from tests.tracking.conftest import mlflow_server  # noqa: F401 - the fixture

pytestmark = pytest.mark.cluster

REFERENCE = "data/reference.parquet"  # where mlflow_training.py logs each version's reference


def _registered(samples: Path, name: str, tracking: str, **spec: object) -> dict:
    document = monitor_document(samples, name, "drifted", **spec)
    del document["spec"]["data"]["reference"]
    document["spec"]["model"].pop("version", None)  # the registry gives it
    # the samples log version 7 in model_version, MLflow numbers its versions from 1: all rows are read
    del document["spec"]["data"]["columns"]["modelVersion"]
    mlflow = {"trackingUri": tracking, "name": "credit-risk", "alias": "champion", "referenceArtifact": REFERENCE}
    document["spec"]["model"]["mlflow"] = mlflow
    return document


def _runs_of(custom: client.CustomObjectsApi, namespace: str, monitor: str) -> list[dict]:
    return [run for run in finished_runs(custom, namespace) if run["spec"]["monitor"] == monitor]


def test_the_alias_version_is_recorded_its_reference_read_and_each_run_logged_once(
    start_operator,
    custom,
    namespace,
    samples,
    mlflow_server: MlflowServer,  # noqa: F811
) -> None:
    champion = mlflow_server.register_version("credit-risk", samples / "reference.parquet", 0.91, "champion")
    start_operator()
    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "modelmonitors", _registered(samples, "registered", mlflow_server.uri)
    )
    monitor = eventually(lambda: recorded(custom, namespace, "registered"), timeout=120, what="the first run")
    assert monitor["status"]["lastRun"]["modelVersion"] == champion["version"]
    [run] = _runs_of(custom, namespace, "registered")
    assert run["status"]["phase"] == "Succeeded", run["status"]
    assert run["status"]["results"]["modelVersion"] == champion["version"]
    assert run["status"]["results"]["drift"]["driftedShare"] > 0  # the drifted window against v1's reference

    server = Mlflow.at(mlflow_server.uri, {})
    experiment = experiment_id(server, experiment_name(namespace, "registered"))

    def logged() -> dict | None:
        return find_run(server, experiment, run["metadata"]["name"])

    info = eventually(logged, what="the run logged to MLflow")
    assert info["status"] == "FINISHED"
    logged_run = server.call("GET", "runs/get", query={"run_id": info["run_id"]}, doing="the logged run")["run"]
    tags = {tag["key"]: tag["value"] for tag in logged_run["data"]["tags"]}
    assert tags["modelmonitor.model.version"] == champion["version"]

    challenger = mlflow_server.register_version("credit-risk", samples / "reference.parquet", 0.93)
    registry.set_alias(server, "credit-risk", "champion", challenger["version"])  # a promotion
    annotation = {"metadata": {"annotations": {"modelmonitor.io/run-now": "after-promotion"}}}
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", "registered", annotation)
    eventually(lambda: len(_runs_of(custom, namespace, "registered")) == 2, timeout=120, what="the second run")
    eventually(
        lambda: (
            get_monitor(custom, namespace, "registered")["status"]["lastRun"].get("modelVersion")
            == challenger["version"]
        ),
        what="the promoted version recorded",
    )


def test_an_unreachable_registry_fails_the_run_by_name_and_an_unreachable_run_log_keeps_the_record(
    start_operator, custom, api_client, namespace, samples
) -> None:
    away = f"http://127.0.0.1:{free_port()}"
    start_operator()
    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "modelmonitors", _registered(samples, "away", away)
    )
    logging_only = monitor_document(samples, "log-away", "healthy")
    logging_only["spec"]["model"].pop("version", None)
    logging_only["spec"]["model"]["mlflow"] = {"trackingUri": away, "name": "credit-risk", "version": "1"}
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", logging_only)

    monitor = eventually(lambda: recorded(custom, namespace, "away"), timeout=120, what="the failed run")
    [run] = _runs_of(custom, namespace, "away")
    assert run["status"]["phase"] == "Error"
    assert f"MLflow at {away}" in run["status"]["message"] and "cannot be reached" in run["status"]["message"]
    assert monitor["status"]["lastRun"]["phase"] == "Error"

    kept = eventually(lambda: recorded(custom, namespace, "log-away"), timeout=120, what="the run recorded")
    assert kept["status"]["lastRun"]["phase"] == "Succeeded"

    def told() -> list[str]:
        events = client.CoreV1Api(api_client).list_namespaced_event(namespace).items
        return [e.message for e in events if e.involved_object.name == "log-away" and e.reason == "ExportFailed"]

    [message] = eventually(told, what="the ExportFailed Event")
    assert message.startswith(f"model.mlflow: MLflow at {away}")


def test_a_retraining_is_told_the_registry_and_the_version_it_registers_is_recorded(
    start_operator,
    custom,
    namespace,
    samples,
    mlflow_server: MlflowServer,  # noqa: F811
) -> None:
    """The Job is MLflow's own client given only what the operator sets: MLFLOW_TRACKING_URI, the model, its name."""
    model = "credit-risk-retrained"
    champion = mlflow_server.register_version(model, samples / "reference.parquet", 0.91, "champion")
    training = [str(mlflow_server.python), str(TRAINING), "--reference", str(samples / "reference.parquet")]
    container = {"name": "train", "image": "trainer:1", "command": [*training, "--accuracy", "0.88"]}
    job = {"spec": {"backoffLimit": 0, "template": {"spec": {"containers": [container]}}}}
    document = _registered(samples, "retrained", mlflow_server.uri)
    document["spec"]["model"]["mlflow"]["name"] = model
    document["spec"]["actions"] = {"retrain": {"on": ["PerformanceDegraded"], "jobTemplate": job}}
    start_operator()
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)

    def succeeded() -> dict | None:
        last = ((get_monitor(custom, namespace, "retrained").get("status") or {}).get("retraining") or {}).get("last")
        return last if last and last["outcome"] != "Running" else None

    last = eventually(succeeded, timeout=180, what="the retraining's outcome")
    assert last["outcome"] == "Succeeded", last
    server = Mlflow.at(mlflow_server.uri, {})
    [registered] = registry.versions_tagged(server, model, "modelmonitor.retraining", last["name"])
    assert last["registeredVersion"] == registered.version != champion["version"]
    assert "registryMessage" not in last
    training_run = server.call("GET", "runs/get", query={"run_id": registered.run_id}, doing="the training run")
    tags = {tag["key"]: tag["value"] for tag in training_run["run"]["data"]["tags"]}
    # the version the degraded run judged, as the alias named it, reached the training
    assert tags["modelmonitor.model_version"] == champion["version"] and tags["modelmonitor.monitor"] == "retrained"
