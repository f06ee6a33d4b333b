"""The MLflow registry and run log against a real ``mlflow server`` (SQLite, proxied artifacts) on loopback.

The training side is MLflow's own client (``tools/modelmonitor_tools/mlflow_training.py``, run
with MLflow's virtualenv): what it registers, the operator's REST client must read alike.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from modelmonitor.api.parsing import parse_spec
from modelmonitor.checks import run_checks
from modelmonitor.checks.model_registry import CACHE
from modelmonitor.errors import RegistryError
from modelmonitor.exports.mlflow_runs import experiment_name, log_results
from modelmonitor.exports.scalars import scalars
from modelmonitor.tracking import registry
from modelmonitor.tracking.client import Mlflow
from modelmonitor_tools.devcluster.mlflow_server import TRAINING, MlflowServer
from modelmonitor_tools.devcluster.processes import free_port
from tests.checks.conftest import NOW, logged, spec_for

REFERENCE = "data/reference.parquet"  # where mlflow_training.py logs each version's reference


@pytest.fixture(scope="module")
def trained(mlflow_server: MlflowServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Two versions of credit-risk, each with its own reference: v1 champion, v2 (another population) challenger."""
    folder = tmp_path_factory.mktemp("training")
    pq.write_table(logged(4000, seed=1), folder / "reference-v1.parquet")
    pq.write_table(logged(4000, seed=3, shift=0.6), folder / "reference-v2.parquet")
    pq.write_table(logged(3000, seed=2, shift=0.6, accuracy=0.84), folder / "current.parquet")
    return {
        "v1": mlflow_server.register_version("credit-risk", folder / "reference-v1.parquet", 0.91, "champion"),
        "v2": mlflow_server.register_version("credit-risk", folder / "reference-v2.parquet", 0.90, "challenger"),
        "folder": {"path": str(folder)},
    }


def _monitor(folder: Path, tracking: str, **mlflow: object) -> dict:
    spec = spec_for(folder / "current.parquet", folder / "unused.parquet")
    del spec["data"]["reference"]
    spec["model"]["mlflow"] = {"trackingUri": tracking, "name": "credit-risk", **mlflow}
    return spec


def _without_spec(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "spec"}


def test_an_alias_resolves_to_the_version_mlflows_own_client_registered(
    mlflow_server: MlflowServer, trained: dict
) -> None:
    server = Mlflow.at(mlflow_server.uri, {})
    champion = registry.version_by_alias(server, "credit-risk", "champion")
    assert (champion.version, champion.run_id) == (trained["v1"]["version"], trained["v1"]["run_id"])
    assert champion.aliases == ("champion",)
    assert registry.get_version(server, "credit-risk", trained["v2"]["version"]).aliases == ("challenger",)
    uri = registry.artifact_of(server, champion, "data/reference.parquet")
    assert uri == f"{trained['v1']['artifacts']}/data/reference.parquet" and uri.startswith("mlflow-artifacts:")


def test_the_registry_says_what_is_missing_and_where(mlflow_server: MlflowServer, trained: dict) -> None:
    server = Mlflow.at(mlflow_server.uri, {})
    with pytest.raises(RegistryError, match=r"aliased 'nobody': Registered model alias nobody not found") as missing:
        registry.version_by_alias(server, "credit-risk", "nobody")
    assert missing.value.code and str(missing.value).startswith(f"MLflow at {mlflow_server.uri}: ")
    away = Mlflow.at(f"http://127.0.0.1:{free_port()}", {})
    with pytest.raises(RegistryError, match=r"cannot be reached"):
        registry.version_by_alias(away, "credit-risk", "champion")


def test_a_run_reads_the_version_the_alias_names_and_that_versions_reference(
    mlflow_server: MlflowServer, trained: dict
) -> None:
    folder = Path(trained["folder"]["path"])
    spec = _monitor(folder, mlflow_server.uri, alias="champion", referenceArtifact=REFERENCE)
    by_alias = run_checks(parse_spec(spec), now=NOW, name="credit-risk", env={})
    plain = spec_for(folder / "current.parquet", folder / "reference-v1.parquet")
    plain["model"]["version"] = trained["v1"]["version"]
    expected = run_checks(parse_spec(plain), now=NOW, name="credit-risk")
    assert by_alias.model_version == trained["v1"]["version"]
    # the same checks on the same bytes; only the spec each was run with differs
    assert _without_spec(by_alias.to_document()) == _without_spec(expected.to_document())

    server = Mlflow.at(mlflow_server.uri, {})
    registry.set_alias(server, "credit-risk", "champion", trained["v2"]["version"])  # a promotion
    try:
        moved = run_checks(parse_spec(spec), now=NOW, name="credit-risk", env={})
    finally:
        registry.set_alias(server, "credit-risk", "champion", trained["v1"]["version"])
    assert moved.model_version == trained["v2"]["version"]
    # v2's reference is the shifted population the current window also comes from: its drift is gone
    assert by_alias.drift.drifted_share > 0.5 and moved.drift.drifted_share < by_alias.drift.drifted_share


def test_with_credentials_a_proxied_reference_is_downloaded_once(
    mlflow_server: MlflowServer, trained: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR read again
    folder = Path(trained["folder"]["path"])
    spec = _monitor(folder, mlflow_server.uri, version=trained["v1"]["version"], referenceArtifact=REFERENCE)
    env = {"MLFLOW_TRACKING_USERNAME": "someone", "MLFLOW_TRACKING_PASSWORD": "secret"}  # the server takes any
    first = run_checks(parse_spec(spec), now=NOW, name="credit-risk", env=env)
    [copy] = (tmp_path / CACHE).rglob("reference.parquet")
    assert pq.read_table(copy).equals(pq.read_table(folder / "reference-v1.parquet"))
    stamp = copy.stat().st_mtime_ns
    again = run_checks(parse_spec(spec), now=NOW, name="credit-risk", env=env)
    assert copy.stat().st_mtime_ns == stamp and again.to_document() == first.to_document()


def test_each_monitor_run_is_logged_once_and_mlflow_reads_it_back(mlflow_server: MlflowServer, trained: dict) -> None:
    folder = Path(trained["folder"]["path"])
    spec = parse_spec(_monitor(folder, mlflow_server.uri, alias="champion", referenceArtifact=REFERENCE))
    runs = {
        f"credit-risk-{hours}": run_checks(spec, now=NOW - timedelta(hours=hours), name="credit-risk", env={})
        for hours in (6, 0)
    }
    server = Mlflow.at(mlflow_server.uri, {})
    ids = {}
    for name, results in runs.items():
        ids[name], logged_now = log_results(server, "ml", "credit-risk", name, results)
        assert logged_now
        assert log_results(server, "ml", "credit-risk", name, results) == (ids[name], False)  # a retried record
    reader = str(Path(__file__).with_name("mlflow_read_runs.py"))
    read = json.loads(mlflow_server.run_python(reader, experiment_name("ml", "credit-risk")))
    assert sorted(read) == sorted(ids.values())
    for name, results in runs.items():
        found = read[ids[name]]
        assert found["tags"]["modelmonitor.run"] == name and found["run_name"] == name
        assert found["tags"]["modelmonitor.model.version"] == trained["v1"]["version"]
        assert found["tags"]["modelmonitor.verdict"] == results.verdict.value
        assert found["status"] == "FINISHED"
        expected = scalars(results)
        assert found["metrics"] == pytest.approx(expected)
        [point] = found["history"]["metrics/accuracy"]  # logged once, for all the retries
        assert point["timestamp"] == int(datetime.fromisoformat(results.window.end).timestamp() * 1000)


def test_the_version_a_retraining_registered_is_found_by_its_tag(
    mlflow_server: MlflowServer, trained: dict, tmp_path: Path
) -> None:
    folder = Path(trained["folder"]["path"])
    reference = str(folder / "reference-v1.parquet")
    retraining = {"MODELMONITOR_RETRAINING": "credit-risk-rt-0a1b2c3d4e", "MODELMONITOR_MLFLOW_MODEL": "credit-risk"}
    printed = mlflow_server.run_python(str(TRAINING), "--reference", reference, "--accuracy", "0.9", env=retraining)
    made = json.loads(printed.splitlines()[-1])
    server = Mlflow.at(mlflow_server.uri, {})
    [found] = registry.versions_tagged(server, "credit-risk", "modelmonitor.retraining", "credit-risk-rt-0a1b2c3d4e")
    assert found.version == made["version"] and found.run_id == made["run_id"]
    assert registry.versions_tagged(server, "credit-risk", "modelmonitor.retraining", "credit-risk-rt-other") == []
    assert registry.versions_tagged(server, "credit-risk", "modelmonitor.retraining", "it's") == []  # a quote is safe


def test_an_inline_run_asks_the_registry_for_the_alias_once(
    mlflow_server: MlflowServer, trained: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The size check before an inline run and the run itself judge one version, found by one call."""
    from modelmonitor.controller.runners.work import evaluate_run

    asked = []
    by_alias = registry.version_by_alias
    monkeypatch.setattr(registry, "version_by_alias", lambda *args: asked.append(args[1:]) or by_alias(*args))
    folder = Path(trained["folder"]["path"])
    spec = parse_spec(_monitor(folder, mlflow_server.uri, alias="champion", referenceArtifact=REFERENCE))
    run_spec = {"monitor": "m", "trigger": "schedule", "evaluateAt": NOW.isoformat(), "runner": "inline"}
    status = evaluate_run("credit-risk", spec, run_spec, {}, None, 2**30)
    assert status["phase"] == "Succeeded", status.get("message")
    assert status["results"]["modelVersion"] == trained["v1"]["version"]
    assert asked == [("credit-risk", "champion")]
