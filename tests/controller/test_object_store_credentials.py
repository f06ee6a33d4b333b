"""s3:// read with the monitor's credentials.secretRef, inline, in a Job and on Dask workers, against SeaweedFS.

The operator, the pod runner and the Dask workers run without any AWS variable: the keys reach the
checks only through the Secret. A Secret with a wrong key is refused, and the message
shows no key.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.fs as pafs
import pytest
from kubernetes import client

from modelmonitor_tools.devcluster.object_store import ObjectStore
from tests.controller.conftest import GROUP, VERSION, get_monitor, kubectl, monitor_document
from tests.controller.test_operator import finished_runs, recorded
from tests.distributed.conftest import DaskCluster, dask_cluster  # noqa: F401 - the fixture
from tests.helpers import eventually

pytestmark = pytest.mark.cluster

BUCKET = "model-logs"
SECRET = "s3-creds"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    running = ObjectStore(tmp_path_factory.mktemp("seaweedfs")).start()
    try:
        running.create_bucket(BUCKET)
        yield running
    finally:
        running.stop()


@pytest.fixture
def uploaded(store: ObjectStore, samples: Path) -> dict[str, str]:
    """The samples' data in the bucket: each file's s3:// URI by its name."""
    uris = {}
    for name in ("healthy", "drifted", "reference"):
        store.put(f"{BUCKET}/credit-risk/{name}.parquet", (samples / f"{name}.parquet").read_bytes())
        uris[name] = f"s3://{BUCKET}/credit-risk/{name}.parquet"
    return uris


def _on_s3(samples: Path, uris: dict[str, str], name: str, which: str, **spec: object) -> dict:
    document = monitor_document(samples, name, which, **spec)
    data = document["spec"]["data"]
    data["current"]["uri"], data["reference"]["uri"] = uris[which], uris["reference"]
    return document


def test_no_aws_variable_reaches_the_test_processes() -> None:
    """What the other tests rely on: the keys can come from nowhere but the Secret."""
    keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_PROFILE")
    assert not [variable for variable in keys if variable in os.environ]


def test_each_runner_reads_the_bucket_with_the_secrets_keys(
    start_operator,
    custom,
    api_client,
    namespace,
    samples,
    store: ObjectStore,
    uploaded: dict[str, str],
    dask_cluster: DaskCluster,  # noqa: F811
) -> None:
    core = client.CoreV1Api(api_client)
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": SECRET}, "stringData": {**store.environment(), "AWS_REGION": "us-east-1"}}
    )
    credentials = {"secretRef": {"name": SECRET}}
    monitors = {
        "inline": _on_s3(samples, uploaded, "on-s3-inline", "drifted", credentials=credentials),
        "job": _on_s3(samples, uploaded, "on-s3-job", "drifted", runner="job", credentials=credentials),
        "dask": _on_s3(
            samples,
            uploaded,
            "on-s3-dask",
            "drifted",
            runner="dask",
            dask={"address": dask_cluster.address},
            credentials=credentials,
        ),
    }
    start_operator()
    for document in monitors.values():
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)

    def all_finished() -> list[dict] | None:
        runs = finished_runs(custom, namespace)
        return runs if len(runs) == len(monitors) else None

    runs = eventually(
        all_finished,
        timeout=240,
        what="a finished run of each monitor",
    )
    by_runner = {run["spec"]["runner"]: run for run in runs}
    assert set(by_runner) == set(monitors)
    for runner, run in by_runner.items():
        assert run["status"]["phase"] == "Succeeded", (runner, run["status"])
        results = run["status"]["results"]
        assert results["verdict"] == "Failed", runner  # the drifted sample drifts, read from the bucket
        assert results["window"]["rows"] == by_runner["inline"]["status"]["results"]["window"]["rows"] > 0
    assert by_runner["dask"]["status"]["results"]["ranOn"]["engine"] == "dask"


def test_a_secret_with_a_wrong_key_is_refused_and_no_key_is_shown(
    start_operator, custom, api_client, namespace, samples, store: ObjectStore, uploaded: dict[str, str]
) -> None:
    wrong = {**store.environment(), "AWS_SECRET_ACCESS_KEY": "wrong-secret-value"}
    client.CoreV1Api(api_client).create_namespaced_secret(
        namespace, {"metadata": {"name": "wrong-keys"}, "stringData": wrong}
    )
    start_operator()
    document = _on_s3(
        samples, uploaded, "wrong-keys", "healthy", runner="job", credentials={"secretRef": {"name": "wrong-keys"}}
    )
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)
    [run] = eventually(lambda: finished_runs(custom, namespace), timeout=120, what="a finished run")
    status = run["status"]
    assert status["phase"] == "Error" and "access denied" in status["message"], status
    assert uploaded["healthy"] in status["message"] or uploaded["reference"] in status["message"]
    assert "wrong-secret-value" not in str(run) and store.secret_key not in str(run)


def test_a_kserve_monitor_on_what_the_collector_wrote_judges_as_the_file_monitor_on_the_same_rows(
    start_operator,
    custom,
    api_client,
    namespace,
    samples,
    control_plane,
    kubeconfig,
    store: ObjectStore,
    uploaded: dict[str, str],
    tmp_path: Path,
) -> None:
    """KServe-shaped CloudEvents of the drifted sample's rows go to the collector, which writes them to the bucket;
    their labels are POSTed later to its feedback endpoint (those the sample has: the newest rows have none yet),
    with labels of ids never logged. A monitor on kserve: {inferenceService} with the collector's labels and one on
    the sample's file, both with the Secret's keys, give the same metrics, concept drift and drift, and show the
    same verdicts in kubectl get mm."""
    import pyarrow.parquet as pq

    from modelmonitor_tools.kserve_traffic import CollectorProcess, replay, send_labels

    env = {**os.environ, **store.environment()}
    collector = CollectorProcess(
        "s3://model-logs/kserve", tmp_path / "wal", tmp_path / "collector.log", env=env, flush_seconds=60.0
    )
    collector.extra = ("--version-header", "x-model-version")
    collector.start()
    logged = pq.read_table(samples / "drifted.parquet").to_pylist()
    features = ["age", "income", "amount", "region"]
    try:
        assert replay(collector.port, logged, features, namespace=namespace) == len(logged)
        outcomes = [(f"d{n}", row["label"]) for n, row in enumerate(logged) if row["label"] is not None]
        outcomes += [(f"never-logged-{n}", 1) for n in range(25)]
        send_labels(collector.port, outcomes, namespace=namespace)
    finally:
        assert collector.stop() == 0

    client.CoreV1Api(api_client).create_namespaced_secret(
        namespace, {"metadata": {"name": SECRET}, "stringData": store.environment()}
    )
    columns = {"prediction": "prediction", "score": "score", "categorical": ["region"], "features": features}
    feedback = {"kserve": {"inferenceService": "credit-risk", "logs": "s3://model-logs/feedback"}}
    monitors = {}
    for name, current in (
        ("from-files", {"uri": uploaded["drifted"], "window": "24h"}),
        (
            "from-kserve",
            {"kserve": {"inferenceService": "credit-risk", "logs": "s3://model-logs/kserve"}, "window": "24h"},
        ),
    ):
        document = monitor_document(samples, name, "drifted", credentials={"secretRef": {"name": SECRET}})
        spec = document["spec"]
        spec["data"]["current"], spec["data"]["reference"]["uri"] = current, uploaded["reference"]
        if name == "from-files":
            spec["data"]["columns"] = {**columns, "timestamp": "ts", "modelVersion": "model_version", "label": "label"}
        else:
            spec["data"]["columns"], spec["data"]["labels"] = columns, feedback  # label: the labels' own
        monitors[name] = document
    start_operator()
    for document in monitors.values():
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)

    def both_finished() -> list[dict] | None:
        runs = finished_runs(custom, namespace)
        return runs if len(runs) == 2 else None

    runs = {run["spec"]["monitor"]: run for run in eventually(both_finished, timeout=180, what="both runs")}
    results = {name: run["status"]["results"] for name, run in runs.items()}
    for run in runs.values():
        assert run["status"]["phase"] == "Succeeded", run["status"]
    files, logs = results["from-files"], results["from-kserve"]
    assert logs["window"]["rows"] == files["window"]["rows"] > 1000
    assert logs["verdict"] == files["verdict"] == "Failed"
    assert logs["drift"]["driftedShare"] == files["drift"]["driftedShare"]
    statistics = {name: {f["feature"]: f["statistic"] for f in r["drift"]["features"]} for name, r in results.items()}
    assert statistics["from-kserve"] == statistics["from-files"]
    assert logs["window"]["labeledRows"] == files["window"]["labeledRows"] > 1000
    assert logs["metrics"] == files["metrics"] and logs["metrics"]
    assert logs["conceptDrift"] == files["conceptDrift"]
    [unmatched] = [f for f in logs["dataQuality"] if f["kind"] == "unmatchedLabels"]
    # the labels of ids never logged, and of the sample's oldest rows if the window has left them behind (the
    # sample was written when the session began)
    assert unmatched["details"]["labels"] == len(outcomes)
    assert unmatched["details"]["unmatched"] == len(outcomes) - logs["window"]["labeledRows"] >= 25

    def printed() -> dict[str, list[str]] | None:
        table = kubectl(control_plane, kubeconfig, "get", "mm", "-n", namespace, "--no-headers").stdout
        seen = {line.split()[0]: line.split()[1:4] for line in table.splitlines()}  # model, healthy, drift
        return seen if len(seen) == 2 and all(seen.values()) else None

    shown = eventually(printed, timeout=30, what="both monitors in kubectl get mm")
    assert shown["from-kserve"] == shown["from-files"], shown


def _event_messages(api_client, namespace: str, name: str, reason: str) -> list[str]:
    listed = client.CoreV1Api(api_client).list_namespaced_event(namespace).items
    return [event.message for event in listed if event.involved_object.name == name and event.reason == reason]


def test_each_recorded_run_is_exported_to_tensorboard_and_a_failed_export_loses_no_record(
    start_operator,
    custom,
    api_client,
    namespace,
    samples,
    store: ObjectStore,
    uploaded: dict[str, str],
    tmp_path: Path,
) -> None:
    """spec.export.tensorboard: into the bucket with the Secret's keys, into a folder, and somewhere unwritable."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    client.CoreV1Api(api_client).create_namespaced_secret(
        namespace, {"metadata": {"name": SECRET}, "stringData": store.environment()}
    )
    credentials = {"secretRef": {"name": SECRET}}
    log_dirs = {
        "tb-bucket": f"s3://{BUCKET}/tensorboard/{namespace}/tb-bucket",
        "tb-folder": str(tmp_path / "tb-folder"),
        "tb-unwritable": "https://example.invalid/tensorboard",
    }
    start_operator()
    for name, log_dir in log_dirs.items():
        export = {"tensorboard": {"logDir": log_dir}}
        document = _on_s3(samples, uploaded, name, "drifted", credentials=credentials, export=export)
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)
    for name in log_dirs:
        eventually(lambda name=name: recorded(custom, namespace, name), timeout=120, what=f"{name}'s run recorded")
    annotation = {"metadata": {"annotations": {"modelmonitor.io/run-now": "again"}}}
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", "tb-bucket", annotation)
    eventually(
        lambda: len([run for run in finished_runs(custom, namespace) if run["spec"]["monitor"] == "tb-bucket"]) == 2,
        timeout=120,
        what="tb-bucket's second run",
    )
    runs = sorted(
        (run for run in finished_runs(custom, namespace) if run["spec"]["monitor"] == "tb-bucket"),
        key=lambda run: run["status"]["results"]["window"]["end"],
    )
    eventually(lambda: recorded(custom, namespace, "tb-bucket", runs[-1]["metadata"]["name"]), what="recorded")

    downloaded = tmp_path / "downloaded"
    downloaded.mkdir()
    prefix = log_dirs["tb-bucket"].removeprefix("s3://")
    for info in store.filesystem().get_file_info(pafs.FileSelector(prefix)):
        with store.filesystem().open_input_stream(info.path) as stream:
            (downloaded / info.base_name).write_bytes(stream.read())
    assert sorted(path.name.rsplit(".", 1)[1] for path in downloaded.iterdir()) == sorted(
        run["metadata"]["name"] for run in runs
    )

    def accuracy(folder: Path) -> list[float]:
        loaded = EventAccumulator(str(folder), size_guidance={"scalars": 0})
        loaded.Reload()
        return [event.value for event in loaded.Scalars("metrics/accuracy")]

    # each run's own figure, one step each, in the order of their windows
    figures = [next(m["value"] for m in run["status"]["results"]["metrics"] if m["name"] == "accuracy") for run in runs]
    assert accuracy(downloaded) == pytest.approx(figures, rel=1e-6)
    assert len(accuracy(tmp_path / "tb-folder")) == 1
    unwritable = get_monitor(custom, namespace, "tb-unwritable")
    assert unwritable["status"]["lastRun"]["phase"] == "Succeeded"  # recorded all the same
    [told] = eventually(lambda: _event_messages(api_client, namespace, "tb-unwritable", "ExportFailed"), timeout=30)
    assert told.startswith("spec.export.tensorboard: https://example.invalid/tensorboard: cannot be written to"), told
    assert not _event_messages(api_client, namespace, "tb-bucket", "ExportFailed")


def test_rollouts_and_the_compare_endpoint_read_the_bucket_with_the_monitors_secret(
    start_operator, custom, api_client, namespace, samples, store: ObjectStore, tmp_path, gateway_api_crds
) -> None:
    """A rollout's comparison, and the endpoint's, read the monitor's s3:// logs and the versions' validation data
    with its Secret's keys (they read with none before: the bucket refused them)."""
    from modelmonitor_tools.samples import write_traffic, write_validation
    from tests.controller.test_compare_endpoint import get
    from tests.controller.test_rollouts import GATEWAY, monitor, rollout, status, with_candidate
    from tests.controller.test_routers import http_route

    client.CoreV1Api(api_client).create_namespaced_secret(
        namespace, {"metadata": {"name": SECRET}, "stringData": {**store.environment(), "AWS_REGION": "us-east-1"}}
    )
    prefix = f"{BUCKET}/{namespace}"

    def upload(path: Path, key: str) -> str:
        store.put(f"{prefix}/{key}", path.read_bytes())
        return f"s3://{prefix}/{key}"

    def serve(shares: dict[str, int], rows: int, seed: int) -> None:
        written = write_traffic(
            tmp_path / "local", shares, rows, end=datetime.now(UTC), span=timedelta(seconds=1), seed=seed
        )
        upload(written, f"logs/{written.name}")

    reference = upload(samples / "reference.parquet", "reference.parquet")
    validation = {v: upload(write_validation(tmp_path / f"v{v}.parquet", v), f"validation-v{v}.parquet") for v in "78"}
    serve({"7": 50, "8": 50}, 3000, seed=1)
    credentials = {"secretRef": {"name": SECRET}}
    monitor(custom, namespace, f"s3://{prefix}/logs/", samples, reference=reference, credentials=credentials)
    operator = start_operator()
    asked = f"baseline=7&candidate=8&minSamples=300&estimated=true&baselineReference={validation['7']}"
    asked += f"&candidateReference={validation['8']}"
    code, answer = get(operator, f"/api/v1/compare/{namespace}/credit-risk?{asked}")
    assert code == 200 and answer["verdict"] == "Pass", answer
    assert answer["comparison"]["estimated"]["calibrationRows"] == {"baseline": 10_000, "candidate": 10_000}

    custom.create_namespaced_custom_object(*GATEWAY, namespace, "httproutes", http_route())
    with_candidate(custom, namespace, "9")
    rollout(custom, namespace, candidate="9")
    eventually(lambda: status(custom, namespace, "credit-risk-v9").get("startedAt"), what="the rollout started")
    time.sleep(1)  # rows logged after it began
    serve({"7": 90, "9": 10}, 4000, seed=2)
    final = eventually(
        lambda: (found := status(custom, namespace, "credit-risk-v9")).get("phase") == "RolledBack" and found,
        timeout=90,
        what="rolled back on the bucket's rows",
    )
    assert final["reason"] == "CandidateWorse" and final["analysis"]["labeledRows"]["candidate"] >= 200
