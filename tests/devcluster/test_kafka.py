"""The dev cluster's Apache Kafka broker (KRaft, jars from Maven Central): it serves what a Kafka client expects.

What the Seldon Core v2 source will rely on: topics made on demand, messages kept with their
key and timestamp, and an offset found for a time (``offsets_for_times``) rather than by scanning.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from modelmonitor_tools.devcluster import kafka
from modelmonitor_tools.devcluster.kafka import KafkaBroker
from modelmonitor_tools.devcluster.processes import is_alive

TOPIC = "seldon.ml.model.credit-risk.inputs"  # the name Seldon Core v2 gives a model's requests
BASE_MS = 1_796_000_000_000


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    running = KafkaBroker(tmp_path_factory.mktemp("kafka")).start()
    try:
        yield running
    finally:
        running.stop()


def test_messages_come_back_with_their_keys_and_times_and_a_time_finds_its_offset(broker: KafkaBroker) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=1)]).values():
        future.result(timeout=30)
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for number in range(10):
        producer.produce(TOPIC, key=f"request-{number}", value=f"{number}".encode(), timestamp=BASE_MS + number * 1000)
    assert producer.flush(30) == 0

    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "test", "enable.auto.commit": False})
    try:
        [found] = consumer.offsets_for_times([TopicPartition(TOPIC, 0, BASE_MS + 6500)], timeout=30)
        assert found.offset == 7  # the first message at or after that time
        consumer.assign([found])
        read = []
        while len(read) < 3:
            message = consumer.poll(10)
            assert message is not None and message.error() is None, message and message.error()
            read.append((message.key().decode(), message.value().decode(), message.timestamp()[1]))
    finally:
        consumer.close()
    assert read == [(f"request-{n}", str(n), BASE_MS + n * 1000) for n in (7, 8, 9)]


def test_the_broker_logs_through_its_slf4j_binding_and_stops_by_its_pid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One random cluster id in 64 begins with a dash; CI once failed on one (argparse took it for an option).
    monkeypatch.setattr(kafka, "_cluster_id", lambda: "-Ab3xYz0QmWc1rT5uVn8Kg")
    broker = KafkaBroker(tmp_path).start()
    pid = broker.pid
    assert pid is not None and is_alive(pid)
    broker.stop()
    assert not is_alive(pid)
    log = (tmp_path / "kafka.log").read_text()
    assert "Kafka Server started" in log and "SLF4J: Failed to load class" not in log


def test_the_sasl_listener_takes_its_user_and_refuses_a_wrong_password(broker: KafkaBroker) -> None:
    errors: list[KafkaError] = []
    plain = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.username": broker.sasl_user}
    admin = AdminClient({"bootstrap.servers": broker.sasl_bootstrap, **plain, "sasl.password": broker.sasl_password})
    assert admin.list_topics(timeout=15).brokers
    refused = AdminClient(
        {"bootstrap.servers": broker.sasl_bootstrap, **plain, "sasl.password": "wrong", "error_cb": errors.append}
    )
    with pytest.raises(KafkaException):
        refused.list_topics(timeout=3)
    refused.poll(1)  # serves the error callback
    assert any(error.code() == KafkaError._AUTHENTICATION for error in errors), errors
