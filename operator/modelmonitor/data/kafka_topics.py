"""A span of time read from Kafka topics, with the monitor's credentials: what a stream source reads.

Each partition is entered at the offset Kafka finds for the span's start (``offsets_for_times``)
and read until a message is past its end, or to the partition's end as it was when the read
began: a run reads the span it judges and no more. No consumer group offsets are committed.

The brokers' refusals come through librdkafka's error callback, not as exceptions: a wrong
password otherwise reads as "Broker transport failure" after the whole timeout. They are
gathered, and a refusal of the credentials ends the read at once with the brokers' words.
librdkafka's log lines go to this module's logger rather than the process's stderr.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelmonitor.data.source_definition import Credentials
from modelmonitor.errors import NoData, SourceError

TIMEOUT = 30.0  # seconds for one answer of a broker
METADATA_LOOK = 1.0  # seconds: how often a metadata request checks for a refusal while it waits
LOGGER = logging.getLogger(__name__)
EXTRA = "reading Kafka needs the extra: pip install 'modelmonitor[kafka]'"


@dataclass(frozen=True)
class Message:
    key: str
    timestamp_ms: int
    value: bytes


SECURITY_KEYS = ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_", "KAFKA_SSL_")


def security(credentials: Credentials) -> dict[str, str]:
    """SASL or TLS settings from the monitor's Secret, or without one from the process environment (a run Job
    gets the Secret's keys as its environment): librdkafka's names in upper case with ``_`` for ``.``, under
    ``KAFKA_`` (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD,
    KAFKA_SSL_CA_PEM, ...). Those alone: other KAFKA_* variables are common in a shell or an image (KAFKA_HOME,
    KAFKA_HEAP_OPTS) and are not the client's, and the brokers are the spec's to name."""
    found: Mapping[str, str] = os.environ if credentials is None else credentials
    return {key[6:].lower().replace("_", "."): value for key, value in found.items() if key.startswith(SECURITY_KEYS)}


def _milliseconds(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class TopicReader:
    """A consumer on ``bootstrap`` that reads spans of topics; ``where`` names the source in errors."""

    bootstrap: str
    where: str
    credentials: Credentials = field(default=None, repr=False)
    _consumer: Any = field(default=None, repr=False)
    _errors: list[Any] = field(default_factory=list, repr=False)

    def __enter__(self) -> TopicReader:
        try:
            from confluent_kafka import Consumer
        except ImportError:
            raise SourceError(self.where, EXTRA) from None
        settings = {
            "bootstrap.servers": self.bootstrap,
            "group.id": "modelmonitor-reader",  # never joined: partitions are assigned, offsets sought by time
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "error_cb": self._errors.append,
            "logger": LOGGER,
        }
        try:
            self._consumer = Consumer({**settings, **security(self.credentials)})
        except Exception as error:  # KafkaException for a setting librdkafka does not know or accept
            raise SourceError(self.where, f"the Kafka settings from the Secret: {_words(error)}") from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._consumer.close()

    def _refused(self, doing: str) -> SourceError | None:
        from confluent_kafka import KafkaError

        refusals = (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED, KafkaError._SSL)
        for error in self._errors:
            if error.code() in refusals:
                return SourceError(self.where, f"{doing}: the brokers refused the connection: {error.str()}")
        return None

    def _partitions(self, topic: str) -> list[int]:
        from confluent_kafka import KafkaException

        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                metadata = self._consumer.list_topics(topic, timeout=METADATA_LOOK).topics.get(topic)
                break
            except KafkaException as error:
                self._consumer.poll(0)  # serves the error callback, which hears the brokers' refusals
                if (refused := self._refused(topic)) is not None:
                    raise refused from None
                if time.monotonic() > deadline:
                    heard = "; ".join(dict.fromkeys(e.str() for e in self._errors)) or _words(error)
                    raise SourceError(self.where, f"{topic}: no answer from {self.bootstrap}: {heard}") from None
        if metadata is None or metadata.error is not None:
            raise NoData(self.where, f"no topic {topic} yet")
        return sorted(metadata.partitions)

    def read(self, topic: str, start: datetime | None, end: datetime) -> list[Message]:
        """The messages of ``topic`` with ``start < time <= end`` (no start: from the first kept)."""
        from confluent_kafka import KafkaError, KafkaException, TopicPartition

        partitions = self._partitions(topic)
        consumer = self._consumer
        try:
            begin = _milliseconds(start) + 1 if start is not None else 0
            sought = consumer.offsets_for_times([TopicPartition(topic, p, begin) for p in partitions], timeout=TIMEOUT)
            entered = [position for position in sought if position.offset >= 0]  # -1: nothing at or after it
            ends = {p.partition: consumer.get_watermark_offsets(p, timeout=TIMEOUT)[1] for p in entered}
            entered = [p for p in entered if p.offset < ends[p.partition]]
            if not entered:
                return []
            consumer.assign(entered)
            limit, found, open_partitions = _milliseconds(end), [], {p.partition for p in entered}
            while open_partitions:
                message = consumer.poll(TIMEOUT)
                if message is None:
                    raise SourceError(self.where, f"{topic}: no message within {TIMEOUT:.0f} s while reading")
                if message.error() is not None:
                    if message.error().code() != KafkaError._PARTITION_EOF:
                        raise SourceError(self.where, f"{topic}: {message.error().str()}")
                    open_partitions.discard(message.partition())
                    continue
                if message.partition() not in open_partitions:
                    continue  # read to its end already: what came after the read began is not this span's
                moment = message.timestamp()[1]
                if begin <= moment <= limit:
                    found.append(Message((message.key() or b"").decode("utf-8", "replace"), moment, message.value()))
                if moment > limit or message.offset() >= ends[message.partition()] - 1:
                    open_partitions.discard(message.partition())
            consumer.unassign()
            return found
        except KafkaException as error:
            raise SourceError(self.where, f"{topic}: {_words(error)}") from None


def _words(error: BaseException) -> str:
    """What a KafkaException says (its KafkaError's text), or the exception's own words."""
    first = error.args[0] if error.args else None
    return first.str() if hasattr(first, "str") else str(error)
