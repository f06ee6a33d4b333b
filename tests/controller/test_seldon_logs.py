"""The operator on a Seldon Core v2 Model's Kafka logs, against the dev cluster's real Kafka broker.

The drifted sample's rows are served as Seldon Core v2 logs them (``tests.data.open_inference_messages``),
to a broker that asks for a password; the labels that have come in are in a file, by request id. A monitor
on ``data.current.seldon`` with the Secret's ``KAFKA_*`` settings must judge exactly as one on the sample's
file, and a monitor on a model never served must say where it looked, in its run's status.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from kubernetes import client

from modelmonitor_tools.devcluster.kafka import KafkaBroker
from tests.controller.conftest import GROUP, VERSION, monitor_document
from tests.controller.test_operator import finished_runs
from tests.data.open_inference_messages import compiled, produce_served
from tests.devcluster.test_kafka import broker  # noqa: F401 - the fixture
from tests.helpers import eventually, rounded_alike

pytestmark = pytest.mark.cluster

FEATURES = ["age", "income", "amount", "region"]
SECRET = "kafka-reader"


def test_a_monitor_on_seldons_kafka_logs_judges_as_one_on_the_same_rows_in_a_file(
    start_operator,
    custom,
    api_client,
    namespace,
    samples: Path,
    broker: KafkaBroker,  # noqa: F811
    tmp_path: Path,
) -> None:
    served = pq.read_table(samples / "drifted.parquet")
    # Kafka keeps a message's time in whole milliseconds: the file monitor reads the times as Seldon's logs hold them
    served = served.set_column(
        served.schema.get_field_index("ts"), "ts", pa.compute.floor_temporal(served["ts"], unit="millisecond")
    )
    pq.write_table(served, tmp_path / "served.parquet")
    topics = f"seldon.{namespace}.model.credit-risk"
    ids = produce_served(compiled(tmp_path / "v2"), broker.bootstrap, served.to_pylist(), FEATURES, topics)
    labelled = pa.table({"request_id": ids, "label": served["label"]}).filter(pa.compute.is_valid(served["label"]))
    pq.write_table(labelled, tmp_path / "labels.parquet")
    client.CoreV1Api(api_client).create_namespaced_secret(
        namespace,
        {
            "metadata": {"name": SECRET},
            "stringData": {
                "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "KAFKA_SASL_MECHANISM": "PLAIN",
                "KAFKA_SASL_USERNAME": broker.sasl_user,
                "KAFKA_SASL_PASSWORD": broker.sasl_password,
            },
        },
    )
    from_files = monitor_document(samples, "from-files", "drifted")
    from_files["spec"]["data"]["current"]["uri"] = str(tmp_path / "served.parquet")
    documents = [from_files]
    for name, model in (("from-seldon", "credit-risk"), ("never-served", "fraud")):
        document = monitor_document(samples, name, "drifted", credentials={"secretRef": {"name": SECRET}})
        data = document["spec"]["data"]
        data["current"] = {"seldon": {"model": model, "bootstrapServers": broker.sasl_bootstrap}, "window": "24h"}
        data["labels"] = {"uri": str(tmp_path / "labels.parquet"), "idColumn": "request_id"}
        data["columns"] = {"prediction": "prediction", "score": "score", "label": "label", "categorical": ["region"]}
        documents.append(document)
    start_operator()
    for document in documents:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)

    def all_finished() -> list[dict] | None:
        runs = finished_runs(custom, namespace)
        return runs if len(runs) == len(documents) else None

    runs = {run["spec"]["monitor"]: run["status"] for run in eventually(all_finished, timeout=180, what="the runs")}
    assert runs["from-files"]["phase"] == runs["from-seldon"]["phase"] == "Succeeded", runs
    files, logs = runs["from-files"]["results"], runs["from-seldon"]["results"]
    assert logs["window"]["rows"] == files["window"]["rows"] > 1000
    assert logs["window"]["labeledRows"] == files["window"]["labeledRows"] > 1000
    assert logs["verdict"] == files["verdict"] == "Failed"
    # the same rows, read from Kafka's partitions in another order: sums may differ in their last bits
    assert rounded_alike(logs["metrics"], files["metrics"]) and logs["metrics"]
    assert rounded_alike(logs["drift"], files["drift"]) and logs["drift"]["driftedShare"] > 0
    assert rounded_alike(logs["conceptDrift"], files["conceptDrift"])

    missing = runs["never-served"]
    assert missing["phase"] == "Error", missing
    assert f"no topic seldon.{namespace}.model.fraud.inputs yet" in missing["message"], missing
    assert broker.sasl_password not in str(missing)
