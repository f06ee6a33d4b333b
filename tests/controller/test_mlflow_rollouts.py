"""ModelRollout by MLflow alias against a real ``mlflow server``: the aliases name the arms when it starts, and
the decision is written back (the champion alias moved, both versions tagged)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from modelmonitor.tracking import registry
from modelmonitor.tracking.client import Mlflow
from modelmonitor_tools.devcluster.mlflow_server import MlflowServer
from tests.controller.conftest import GROUP, VERSION
from tests.controller.test_rollouts import events, rollout, route, status, traffic  # noqa: F401 - fixtures
from tests.helpers import eventually
from tests.tracking.conftest import mlflow_server  # noqa: F401 - the fixture

pytestmark = pytest.mark.cluster
MODEL = "credit-risk-ab"


@pytest.fixture(scope="module")
def versions(mlflow_server: MlflowServer) -> Mlflow:  # noqa: F811
    """Versions 1 to 8 of MODEL (the traffic logs 7 and 8): champion names 7, challenger 8."""
    server = Mlflow.at(mlflow_server.uri, {})
    server.call("POST", "registered-models/create", body={"name": MODEL}, doing="creating the model")
    for number in range(1, 9):
        body = {"name": MODEL, "source": f"s3://models/{MODEL}/{number}"}
        server.call("POST", "model-versions/create", body=body, doing=f"version {number}")
    registry.set_alias(server, MODEL, "champion", "7")
    registry.set_alias(server, MODEL, "challenger", "8")
    return server


def _monitor(custom, namespace: str, logs: Path, samples: Path, tracking: str | None) -> None:
    model: dict[str, Any] = {"name": "credit-risk", "task": "binaryClassification"}
    if tracking is None:
        model["version"] = "7"
    else:
        model["mlflow"] = {"trackingUri": tracking, "name": MODEL, "alias": "champion", "logRuns": False}
    document = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelMonitor",
        "metadata": {"name": "credit-risk"},
        "spec": {
            "model": model,
            "schedule": {"interval": "8760h"},
            "suspend": True,
            "data": {
                "current": {"uri": str(logs), "format": "parquet"},
                "reference": {"uri": str(samples / "reference.parquet")},
                "columns": {"timestamp": "ts", "label": "label", "score": "score", "modelVersion": "model_version"},
            },
        },
    }
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)


BY_ALIAS = {
    "baseline": {"mlflow": {"alias": "champion"}, "backend": "credit-risk-v7"},
    "candidate": {"mlflow": {"alias": "challenger"}, "backend": "credit-risk-v8"},
}


def test_a_promotion_moves_the_champion_alias_and_tags_both_versions(
    start_operator,
    custom,
    namespace,
    samples,
    tmp_path,
    traffic,  # noqa: F811
    versions: Mlflow,
    mlflow_server: MlflowServer,  # noqa: F811
) -> None:
    start_operator()
    _monitor(custom, namespace, tmp_path / "logs", samples, mlflow_server.uri)
    rollout(custom, namespace, spec=BY_ALIAS)
    final = eventually(
        lambda: (found := status(custom, namespace, "credit-risk-v8")).get("registryRecordedAt") and found,
        timeout=180,
        what="the decision written to the registry",
    )
    assert final["phase"] == "Promoted" and final["versions"] == {"baseline": "7", "candidate": "8"}
    assert traffic.weights() == {"7": 0, "8": 100}
    assert registry.version_by_alias(versions, MODEL, "champion").version == "8"
    assert registry.version_by_alias(versions, MODEL, "challenger").version == "8"  # only the followed alias moves
    baseline, candidate = (registry.get_version(versions, MODEL, number).tags for number in ("7", "8"))
    assert candidate["modelmonitor.rollout"] == baseline["modelmonitor.rollout"] == "credit-risk-v8"
    assert candidate["modelmonitor.rollout.decision"] == baseline["modelmonitor.rollout.decision"] == "Promoted"
    assert (candidate["modelmonitor.rollout.role"], baseline["modelmonitor.rollout.role"]) == ("candidate", "baseline")
    assert candidate["modelmonitor.rollout.interval"] == final["difference"]
    eventually(lambda: "RegistryUpdated" in events(custom, namespace, "credit-risk-v8"), what="RegistryUpdated posted")
    watched = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", "credit-risk")
    assert "version" not in watched["spec"]["model"]  # the alias it follows moved: its spec is left alone


def test_an_alias_without_a_registry_holds_the_rollout_and_says_why(
    start_operator,
    custom,
    api_client,
    namespace,
    samples,
    tmp_path,
    route,  # noqa: F811
) -> None:
    start_operator()
    _monitor(custom, namespace, tmp_path / "logs", samples, None)
    rollout(custom, namespace, spec=BY_ALIAS)
    held = eventually(
        lambda: (found := status(custom, namespace, "credit-risk-v8")).get("pausedFor") and found,
        what="the rollout held",
    )
    assert held["phase"] == "Paused" and held["pausedFor"] == "RegistryUnavailable"
    assert "ModelMonitor credit-risk has no model.mlflow" in held["message"]
    listed = client.CoreV1Api(api_client).list_namespaced_event(namespace).items
    assert any(event.reason == "Paused" and "RegistryUnavailable" in event.message for event in listed)
