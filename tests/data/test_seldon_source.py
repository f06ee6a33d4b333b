"""A monitor on a Seldon Core v2 Model's Kafka logs, against the dev cluster's real Kafka broker.

A test produces the model's traffic as Seldon does: each request and its response as Open
Inference Protocol protobuf messages (made by protoc's classes from the documented definition),
under the same key, on ``seldon.NAMESPACE.model.MODEL.inputs`` and ``.outputs``, timestamped when
served. The monitor reading them must judge exactly as one reading the same rows from a file.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.parsing import parse_spec
from modelmonitor.checks import run_checks
from modelmonitor.data import kafka_topics
from modelmonitor.errors import NoData, SourceError
from modelmonitor_tools.devcluster.kafka import KafkaBroker
from tests.checks.conftest import NOW, logged
from tests.data.open_inference_messages import compiled, produce_served
from tests.devcluster.test_kafka import broker  # noqa: F401 - the fixture

PREFIX, NAMESPACE, MODEL = "seldon", "ml", "credit-risk"


def _spec(current: dict[str, Any], reference: Path, labels: Path) -> dict[str, Any]:
    return {
        "model": {"name": MODEL, "task": "binaryClassification"},
        "schedule": {"interval": "1h"},
        "data": {
            "current": {**current, "window": "24h"},
            "reference": {"uri": str(reference)},
            "labels": {"uri": str(labels), "idColumn": "request_id", "labelColumn": "label"},
            "columns": {
                "timestamp": "ts",
                "prediction": "prediction",
                "score": "score",
                "requestId": "request_id",
                "features": ["x", "y", "colour"],
            },
            "minSamples": 50,
        },
        "metrics": [{"name": "accuracy", "min": 0.8}, {"name": "rocAuc", "min": 0.7}],
        "drift": {"method": "auto"},
    }


def _judged(document: dict[str, Any]) -> dict[str, Any]:
    return {key: document[key] for key in ("verdict", "metrics", "drift", "window")}


def test_a_monitor_on_seldons_kafka_logs_judges_as_one_on_the_same_rows_in_a_file(
    broker: KafkaBroker,  # noqa: F811
    tmp_path: Path,
) -> None:
    v2 = compiled(tmp_path / "v2")
    served = logged(1500, seed=4, shift=0.5, accuracy=0.85, hours=30)  # some rows before the 24-hour window
    topics = f"{PREFIX}.{NAMESPACE}.model.{MODEL}"
    ids = pa.array(produce_served(v2, broker.bootstrap, served.to_pylist(), ["x", "y", "colour"], topics))
    pq.write_table(served.drop(["label"]).append_column("request_id", ids), tmp_path / "served.parquet")
    pq.write_table(pa.table({"request_id": ids, "label": served["label"]}), tmp_path / "labels.parquet")
    pq.write_table(
        logged(3000, seed=1).drop(["label"]).append_column("request_id", pa.array([f"ref-{i}" for i in range(3000)])),
        tmp_path / "reference.parquet",
    )

    seldon = {"seldon": {"model": MODEL, "namespace": NAMESPACE, "bootstrapServers": broker.bootstrap}}
    from_kafka = run_checks(
        parse_spec(_spec(seldon, tmp_path / "reference.parquet", tmp_path / "labels.parquet")), now=NOW, name="k"
    )
    from_file = run_checks(
        parse_spec(
            _spec(
                {"uri": str(tmp_path / "served.parquet")}, tmp_path / "reference.parquet", tmp_path / "labels.parquet"
            )
        ),
        now=NOW,
        name="k",
    )
    assert _judged(from_kafka.to_document()) == _judged(from_file.to_document())
    assert from_kafka.window.rows < served.num_rows  # the window's rows alone, found by time
    assert from_kafka.drift.drifted_share > 0


def test_a_model_without_logs_yet_says_where_it_looked(broker: KafkaBroker, tmp_path: Path) -> None:  # noqa: F811
    from modelmonitor.data.source import open_source
    from modelmonitor.data.source_definition import ReadSpan

    spec = _spec(
        {"seldon": {"model": "never-served", "namespace": NAMESPACE, "bootstrapServers": broker.bootstrap}},
        tmp_path / "reference.parquet",
        tmp_path / "labels.parquet",
    )
    source = open_source(parse_spec(spec).data.current, None, ReadSpan(NOW))
    with pytest.raises(NoData, match=r"no topic seldon\.ml\.model\.never-served\.inputs yet"):
        source.schema  # noqa: B018


SASL_MODEL = "credit-risk-behind-sasl"  # its own topics: the other tests' messages are not its


def _opened(tmp_path: Path, bootstrap: str, env: dict[str, str] | None) -> Any:
    from modelmonitor.data.source import open_source
    from modelmonitor.data.source_definition import ReadSpan

    current = {"seldon": {"model": SASL_MODEL, "namespace": NAMESPACE, "bootstrapServers": bootstrap}}
    spec = parse_spec(_spec(current, tmp_path / "reference.parquet", tmp_path / "labels.parquet"))
    return open_source(spec.data.current, env, ReadSpan(NOW, NOW - timedelta(hours=24)))


def test_a_broker_that_asks_for_a_password_is_read_with_the_secrets_kafka_settings(
    broker: KafkaBroker,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v2 = compiled(tmp_path / "v2")
    served = logged(300, seed=2, hours=20).to_pylist()
    produce_served(v2, broker.bootstrap, served, ["x", "y", "colour"], f"{PREFIX}.{NAMESPACE}.model.{SASL_MODEL}")
    secret = {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "PLAIN",
        "KAFKA_SASL_USERNAME": broker.sasl_user,
        "KAFKA_SASL_PASSWORD": broker.sasl_password,
    }
    read = _opened(tmp_path, broker.sasl_bootstrap, secret).read(["request_id", "x"])
    assert sorted(read["request_id"].to_pylist()) == sorted(f"req-{index}" for index in range(300))
    with monkeypatch.context() as job:  # a run Job: the Secret's keys are its environment
        for key, value in secret.items():
            job.setenv(key, value)
        assert _opened(tmp_path, broker.sasl_bootstrap, None).count() == 300

    # the refusal, as the brokers word it, rather than a transport failure once the wait for metadata ends
    with pytest.raises(SourceError, match=r"the brokers refused the connection: .*Authentication failed") as refused:
        _opened(tmp_path, broker.sasl_bootstrap, {**secret, "KAFKA_SASL_PASSWORD": "not-it"}).schema  # noqa: B018
    assert "not-it" not in str(refused.value) and broker.sasl_password not in str(refused.value)
    monkeypatch.setattr(kafka_topics, "TIMEOUT", 3.0)
    with pytest.raises(SourceError, match="no answer from"):  # a client without SASL, on the SASL listener
        _opened(tmp_path, broker.sasl_bootstrap, None).schema  # noqa: B018
    with pytest.raises(SourceError, match=r"the Kafka settings from the Secret: .*No such configuration property"):
        _opened(tmp_path, broker.bootstrap, {"KAFKA_SASL_NO_SUCH_SETTING": "1"}).schema  # noqa: B018
    # a shell's or an image's own KAFKA_* variables are not the client's, nor may they move the brokers
    others = {"KAFKA_HOME": "/opt/kafka", "KAFKA_HEAP_OPTS": "-Xmx1g", "KAFKA_BOOTSTRAP_SERVERS": "elsewhere:1"}
    assert _opened(tmp_path, broker.sasl_bootstrap, {**secret, **others}).count() == 300


@pytest.mark.parametrize("missing", ["confluent_kafka", "google.protobuf"])
def test_without_the_kafka_extra_the_run_says_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # an import of it raises ImportError
    with pytest.raises(SourceError, match=r"reading Kafka needs the extra: pip install 'modelmonitor\[kafka\]'"):
        _opened(tmp_path, "127.0.0.1:9", None).schema  # noqa: B018
