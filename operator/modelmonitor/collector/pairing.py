"""Requests and responses paired by event id into rows, in the order the write-ahead log holds them.

KServe's agent sends the two events of one inference from a pool of workers, so a response
may come before its request: whichever comes first waits for the other. A row is complete
when both have come, or when the log says the wait is over (an ``expire`` record), so the
same log replayed gives the same rows, each marked with the log position that completed it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from modelmonitor.api import payload_log
from modelmonitor.collector.events import Event, Kind
from modelmonitor.collector.payloads import Outcome, Response, Value

_FRACTION = re.compile(r"(\.\d{6})\d+")  # Go writes nanoseconds; Python reads microseconds
_RESERVED = {
    payload_log.REQUEST_ID,
    payload_log.TIME,
    payload_log.PREDICTION,
    payload_log.SCORE,
    payload_log.MODEL_VERSION,
    *payload_log.BOOKKEEPING,
}


def event_time(event: Event, arrived: datetime) -> datetime:
    """When the inference happened: the event's time attribute, else when it arrived."""
    text = event.time
    if text:
        try:
            moment = datetime.fromisoformat(_FRACTION.sub(r"\1", text))
        except ValueError:
            return arrived
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return arrived


@dataclass(frozen=True)
class Half:
    """One event of a pair, decoded: a request's instances or a response's outcomes."""

    seq: int
    event: Event
    arrived: datetime
    instances: list[dict[str, Value]] | None = None
    response: Response | None = None


@dataclass
class Pairing:
    """The events waiting for their other half; rows come out as pairs complete or expire."""

    request_id_header: str | None = "x-request-id"
    version_header: str | None = None
    waiting: dict[str, Half] = field(default_factory=dict)
    paired: int = 0
    unpaired_requests: int = 0
    unpaired_responses: int = 0
    mismatched: int = 0  # pairs whose instance and outcome counts differ

    def add(self, half: Half) -> list[dict[str, Any]]:
        """The rows this event completes (none while it waits for its other half)."""
        other = self.waiting.pop(half.event.id, None)
        if other is None or other.event.kind == half.event.kind:
            self.waiting[half.event.id] = half  # a second request of one id replaces the first
            return []
        request, response = (half, other) if half.event.kind is Kind.REQUEST else (other, half)
        self.paired += 1
        return self._rows(request, response, completed=max(half.seq, other.seq))

    def expire(self, event_id: str, seq: int) -> list[dict[str, Any]]:
        """The rows of an event whose other half did not come in time: kept, with what there is."""
        half = self.waiting.pop(event_id, None)
        if half is None:
            return []
        if half.event.kind is Kind.REQUEST:
            self.unpaired_requests += 1
            return self._rows(half, None, completed=seq)
        self.unpaired_responses += 1
        return self._rows(None, half, completed=seq)

    def older_than(self, moment: datetime) -> Iterable[str]:
        return [event_id for event_id, half in self.waiting.items() if half.arrived < moment]

    def oldest_seq(self) -> int | None:
        return min((half.seq for half in self.waiting.values()), default=None)

    def _rows(self, request: Half | None, response: Half | None, completed: int) -> list[dict[str, Any]]:
        first = request or response
        assert first is not None
        instances = request.instances if request and request.instances is not None else []
        outcomes: list[Outcome] = response.response.outcomes if response and response.response else []
        count = max(len(instances), len(outcomes))
        if request and response and len(instances) != len(outcomes):
            self.mismatched += 1
        request_id = self._request_id(first.event)
        common = {
            payload_log.TIME: event_time(first.event, first.arrived),
            payload_log.MODEL_VERSION: self._version(first.event, response.response if response else None),
            payload_log.INFERENCE_SERVICE: first.event.inference_service,
            payload_log.NAMESPACE: first.event.namespace,
            payload_log.COMPONENT: first.event.component,
        }
        rows = []
        for index in range(count):
            row: dict[str, Any] = {payload_log.REQUEST_ID: request_id if count == 1 else f"{request_id}-{index}"}
            if index < len(instances):
                row.update({_feature(name): value for name, value in instances[index].items()})
            outcome = outcomes[index] if index < len(outcomes) else Outcome(None)
            row[payload_log.PREDICTION] = outcome.prediction
            row[payload_log.SCORE] = outcome.score
            row.update(common)
            row["_completed"] = completed
            rows.append(row)
        return rows

    def _request_id(self, event: Event) -> str:
        if self.request_id_header:
            values = event.metadata.get(self.request_id_header.lower())
            if values:
                return values[0]
        return event.id

    def _version(self, event: Event, response: Response | None) -> str | None:
        if self.version_header:
            values = event.metadata.get(self.version_header.lower())
            if values:
                return values[0]
        if response is not None and response.model_version:
            return response.model_version
        return event.endpoint or event.component or None


def _feature(name: str) -> str:
    """A feature keeps its name, unless it is one of the row's own columns: then it is feature_NAME."""
    return f"feature_{name}" if name in _RESERVED else name
