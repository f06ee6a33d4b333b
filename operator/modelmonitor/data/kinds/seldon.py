"""A Seldon Core v2 Model's inference logs, read from the Kafka topics Seldon writes them to.

Seldon publishes each request to ``PREFIX.NAMESPACE.model.MODEL.inputs`` and its response to
``.outputs``, as Open Inference Protocol protobuf messages (``data.open_inference``) under the
same message key. A run reads the span it judges and no more (``data.kafka_topics``), with the
Secret's ``KAFKA_SASL_*`` and ``KAFKA_SSL_*`` settings. Responses are read a little past the
span (``RESPONSE_SLACK``), so a request near its end still finds its answer.
Each request instance paired with its response becomes a row (``api.inference_rows``): the
request's features, ``prediction``, ``score``, ``model_version``, ``request_id`` and ``ts``
(the request's time), the same columns the collector writes for KServe. The rows are then
read as an in-memory table: a run holds its window's rows in memory, and each Dask worker that
reads the source reads the span itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from modelmonitor.api import payload_log
from modelmonitor.api.data import DataSource, SeldonLogs
from modelmonitor.api.inference_rows import PayloadError, request_rows, response_outcomes
from modelmonitor.data.kafka_topics import EXTRA, Message, TopicReader
from modelmonitor.data.open_inference import Inference, decode_request, decode_response
from modelmonitor.data.source_definition import Credentials, ReadSpan, RowFilter, Source, SourceKindDefinition
from modelmonitor.data.table import TableSource
from modelmonitor.errors import NoData, SourceError

RESPONSE_SLACK = timedelta(minutes=5)
MODEL = "model"  # the Seldon Model, in each row
BOOKKEEPING = (payload_log.REQUEST_ID, MODEL, payload_log.NAMESPACE)


def _uri(logs: SeldonLogs) -> str:
    return f"kafka://{logs.bootstrap_servers}"  # the topic each error is about, the error names


def _decoded(messages: list[Message], decode: Any, where: str) -> dict[str, tuple[Message, Inference]]:
    """Each message by its key (the V2 id when it has none); a key seen twice keeps its first message."""
    found: dict[str, tuple[Message, Inference]] = {}
    for message in messages:
        inference = decode(message.value, where)
        found.setdefault(message.key or inference.id, (message, inference))
    return found


def rows_of(logs: SeldonLogs, requests: list[Message], responses: list[Message], where: str) -> list[dict[str, Any]]:
    """Each request instance with its response's outcome; a request without a response yet has no row."""
    answered = _decoded(responses, decode_response, where)
    rows = []
    for key, (message, request) in _decoded(requests, decode_request, where).items():
        if key not in answered:
            continue
        response = answered[key][1]
        try:
            features, outcomes = request_rows(request.tensors), response_outcomes(response.tensors)
        except PayloadError as error:
            raise SourceError(where, f"request {key}: {error}") from None
        if len(features) != len(outcomes):
            raise SourceError(where, f"request {key}: {len(features)} instances, {len(outcomes)} outcomes")
        moment = datetime.fromtimestamp(message.timestamp_ms / 1000, UTC)
        for index, (row, outcome) in enumerate(zip(features, outcomes, strict=True)):
            rows.append(
                {
                    **row,
                    payload_log.PREDICTION: outcome.prediction,
                    payload_log.SCORE: outcome.score,
                    payload_log.MODEL_VERSION: response.model_version or request.model_version or None,
                    payload_log.REQUEST_ID: key if len(features) == 1 else f"{key}/{index}",
                    payload_log.TIME: moment,
                    MODEL: logs.model,
                    payload_log.NAMESPACE: logs.namespace,
                }
            )
    return rows


@dataclass
class SeldonSource(TableSource):
    """The span's paired messages as a table, fetched from Kafka at the first read."""

    logs: SeldonLogs | None = None
    span: ReadSpan | None = None

    def _discover(self) -> ds.Dataset:
        assert self.logs is not None
        if self.span is None:
            raise SourceError(self.uri, "a Kafka source is read over a span of time: the caller named none")
        try:
            import google.protobuf  # noqa: F401 - the messages' decoder, from the same extra as the client
        except ImportError:
            raise SourceError(self.uri, EXTRA) from None
        span, inputs = self.span, self.logs.topic("inputs")
        with TopicReader(self.logs.bootstrap_servers, self.uri, self.env) as reader:
            try:
                requests = reader.read(inputs, span.start, span.end)
            except NoData:
                hint = "has Seldon loaded the model, and logged a request?"
                raise NoData(self.uri, f"no topic {inputs} yet: {hint}") from None
            responses = reader.read(self.logs.topic("outputs"), span.start, span.end + RESPONSE_SLACK)
        rows = rows_of(self.logs, requests, responses, f"{self.uri}/{inputs}")
        if not rows:
            raise NoData(self.uri, f"no answered requests in {self.logs.topic('inputs')} over the window")
        return ds.dataset(pa.Table.from_pylist(rows))

    def total_bytes(self, rows: RowFilter | None = None) -> int | None:
        return None  # messages, not files: their size is known only by reading them, which is the run's work


def open_logs(source: DataSource, credentials: Credentials, span: ReadSpan | None = None) -> Source:
    logs = source.seldon
    if logs is None:
        raise ValueError("a seldon source without seldon")  # DataSource's validation makes this unreachable
    if logs.namespace is None:
        raise SourceError(_uri(logs), f"seldon {logs.model}: no namespace (set seldon.namespace)")
    return SeldonSource(_uri(logs), "parquet", credentials, bookkeeping=BOOKKEEPING, logs=logs, span=span)


KIND = SourceKindDefinition(open=open_logs)
