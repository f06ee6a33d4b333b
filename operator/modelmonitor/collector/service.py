"""The collector's state, apart from HTTP: events into the log and the pairing, rows out to the sink.

The order of things is the log's: an event gets its number as it is appended, is paired at
once, and its rows carry the number that completed them. A flush writes the rows completed
up to the last durable number. Starting again replays the log into a fresh pairing, so the
rows, their numbers and the flushes' names come out as they did before the stop.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from modelmonitor.api import payload_log
from modelmonitor.collector import feedback, payloads
from modelmonitor.collector.events import Event, Kind
from modelmonitor.collector.metrics import CollectorMetrics
from modelmonitor.collector.pairing import Half, Pairing
from modelmonitor.collector.sink import COMPLETED, FEEDBACK, Checkpoint, Sink
from modelmonitor.collector.wal import Record, WriteAheadLog

EXPIRE = "expire"  # a log record: this event's other half did not come in time


@dataclass(frozen=True)
class Settings:
    wal: Path
    sink: str
    flush_rows: int = 50_000
    flush_seconds: float = 10.0
    pair_timeout: float = 60.0  # seconds an event waits for its other half
    dedupe_window: float = 120.0  # seconds a retried event is known for, and the log is kept at least
    request_id_header: str | None = "x-request-id"
    version_header: str | None = None
    feedback_sink: str | None = None  # default: the folder feedback beside the sink

    @property
    def labels_sink(self) -> str:
        return self.feedback_sink or payload_log.feedback_sink(self.sink)


@dataclass(frozen=True)
class Flush:
    first: int
    last: int
    rows: list[dict[str, Any]]


def _label_key(row: dict[str, Any]) -> tuple[str, ...]:
    value = json.dumps(row[payload_log.LABEL])
    return ("label", row[payload_log.NAMESPACE], row[payload_log.INFERENCE_SERVICE], row[payload_log.REQUEST_ID], value)


def decoded(seq: int, event: Event, arrived: datetime) -> Half:
    """The event's payload decoded: MalformedEvent if it cannot be, before anything is logged."""
    if event.kind is Kind.REQUEST:
        return Half(seq, event, arrived, instances=payloads.instances(event.data))
    return Half(seq, event, arrived, response=payloads.response(event.data))


@dataclass
class Collector:
    settings: Settings
    metrics: CollectorMetrics = field(default_factory=CollectorMetrics)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    rows: list[dict[str, Any]] = field(default_factory=list)  # completed, not yet flushed, in log order
    _seen: OrderedDict[tuple[str, ...], tuple[int, float]] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        self.wal = WriteAheadLog(self.settings.wal)
        self.sink = Sink(self.settings.sink, self.settings.labels_sink)
        self.checkpoint = Checkpoint.load(self.settings.wal / "checkpoint.json")
        self.pairing = Pairing(self.settings.request_id_header, self.settings.version_header)
        self._received = {kind: self.metrics.received.labels(str(kind)) for kind in Kind}  # looked up once

    def recover(self) -> Flush | None:
        """Replay the log; the flush a stop cut short, to be done again before any other."""
        for record in self.wal.recover():
            self._replay(record)
        self.metrics.backlog_rows.set(len(self.rows))
        if self.checkpoint.flushing is None:
            return None
        first, last = self.checkpoint.flushing
        return self._take(first, last)

    def _replay(self, record: Record) -> None:
        header = record.header
        if header["kind"] == EXPIRE:
            self._keep(self.pairing.expire(header["id"], record.seq))
            return
        if header["kind"] == Kind.FEEDBACK:
            arrived = datetime.fromtimestamp(header["arrived"], UTC)
            self._keep_labels(feedback.labels(record.data, {}, arrived), record.seq)
            return
        event = Event(header["id"], Kind(header["kind"]), header["attributes"], record.data)
        self._seen[(event.id, event.kind)] = (record.seq, time.monotonic())
        arrived = datetime.fromtimestamp(header["arrived"], UTC)
        self._keep(self.pairing.add(decoded(record.seq, event, arrived)))

    def _keep(self, rows: list[dict[str, Any]]) -> None:
        self.rows.extend(row for row in rows if row[COMPLETED] > self.checkpoint.flushed)

    def accept(self, event: Event) -> int:
        """Log and pair an event; the log number to wait for before acknowledging it.

        A retry of an event already logged is not logged again: its sender waits for the first.
        MalformedEvent, before anything is logged, if its payload cannot be decoded.
        """
        if event.kind is Kind.FEEDBACK:
            named = {"inferenceService": event.inference_service, "namespace": event.namespace}
            return self.accept_feedback(event.data, {key: value for key, value in named.items() if value})
        known = self._seen.get((event.id, event.kind))
        if known is not None:
            self.metrics.duplicates.inc()
            return known[0]
        arrived = self.clock()
        half = decoded(0, event, arrived)  # before logging: a payload that cannot be read is refused unlogged
        header = {
            "kind": event.kind.value,
            "id": event.id,
            "attributes": event.attributes,
            "arrived": arrived.timestamp(),
        }
        seq = self.wal.append(header, event.data)
        self._seen[(event.id, event.kind)] = (seq, time.monotonic())
        self._received[event.kind].inc()
        rows = self.pairing.add(replace(half, seq=seq))
        if rows:
            self.metrics.paired.inc()
            self._keep(rows)
        return seq

    def accept_feedback(self, body: bytes, defaults: Mapping[str, str]) -> int:
        """Log the labels of a feedback body; the log number to wait for. A label sent again (the same id and
        value for the same InferenceService) is written once; a changed value is a new label.
        MalformedEvent, before anything is logged, for anything wrong in the body."""
        arrived = self.clock()
        found = feedback.labels(body, defaults, arrived)
        fresh, waits = [], 0
        for row in found:
            key = _label_key(row)
            known = self._seen.get(key)
            if known is not None:
                waits = max(waits, known[0])
                self.metrics.duplicates.inc()
            else:
                self._seen[key] = (0, time.monotonic())  # its number once logged, below
                fresh.append(row)
        self._received[Kind.FEEDBACK].inc()
        if not fresh:
            return waits
        logged = [
            {
                "id": row[payload_log.REQUEST_ID],
                "label": row[payload_log.LABEL],
                "time": row[payload_log.TIME].isoformat(),
                "inferenceService": row[payload_log.INFERENCE_SERVICE],
                "namespace": row[payload_log.NAMESPACE],
            }
            for row in fresh
        ]
        seq = self.wal.append(
            {"kind": Kind.FEEDBACK.value, "arrived": arrived.timestamp()}, json.dumps(logged).encode()
        )
        for row in fresh:
            self._seen[_label_key(row)] = (seq, time.monotonic())
        self._keep_labels(fresh, seq)
        self.metrics.labels.inc(len(fresh))
        return max(seq, waits)

    def _keep_labels(self, rows: list[dict[str, Any]], seq: int) -> None:
        for row in rows:
            row[COMPLETED], row[FEEDBACK] = seq, True
            self._seen.setdefault(_label_key(row), (seq, time.monotonic()))
        self._keep(rows)

    def expire_waiting(self) -> int:
        """Log the end of the wait of every event past the pairing timeout, and keep its rows; how many."""
        due = list(self.pairing.older_than(self.clock() - timedelta(seconds=self.settings.pair_timeout)))
        for event_id in due:
            kind = self.pairing.waiting[event_id].event.kind
            self._keep(self.pairing.expire(event_id, self.wal.append({"kind": EXPIRE, "id": event_id})))
            self.metrics.unpaired.labels(str(kind)).inc()
        self._forget_old()
        return len(due)

    def _forget_old(self) -> None:
        horizon = time.monotonic() - self.settings.dedupe_window
        while self._seen and next(iter(self._seen.values()))[1] < horizon:
            self._seen.popitem(last=False)

    def due(self) -> bool:
        return len(self.rows) >= self.settings.flush_rows

    def begin_flush(self) -> Flush | None:
        """The rows completed up to the last durable record, recorded as being flushed; None if there are none."""
        last = self.wal.durable_seq
        if last <= self.checkpoint.flushed or not self.rows:
            return None
        return self._take(self.checkpoint.flushed + 1, last)

    def _take(self, first: int, last: int) -> Flush:
        taken = [row for row in self.rows if row[COMPLETED] <= last]
        self.rows = self.rows[len(taken) :]  # rows are in log order: the taken ones lead
        self.checkpoint.flushing = (first, last)
        self.checkpoint.save()
        return Flush(first, last, taken)

    def write(self, flush: Flush) -> None:
        """Write a flush's rows to the sink and record it done (blocking: run it off the event loop)."""
        started = time.monotonic()
        if flush.rows:
            _, written = self.sink.write(flush.rows, flush.first, flush.last)
            self.metrics.rows.inc(len(flush.rows))
            self.metrics.bytes.inc(written)
        self.checkpoint.flushed, self.checkpoint.flushing = flush.last, None
        self.checkpoint.save()
        self.metrics.flush_seconds.observe(time.monotonic() - started)

    def tidy(self) -> None:
        """After a flush, on the event loop (it reads the pairing): drop the log no row or wait needs."""
        needed = min(self.checkpoint.flushed + 1, self.pairing.oldest_seq() or self.checkpoint.flushed + 1)
        self.wal.drop_before(needed, modified_before=time.time() - self.settings.dedupe_window)
        self.metrics.backlog_bytes.set(self.wal.backlog_bytes())
        self.metrics.backlog_rows.set(len(self.rows))
        self.metrics.waiting.set(len(self.pairing.waiting))
