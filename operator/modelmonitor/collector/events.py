"""CloudEvents as KServe's payload logger sends them, read from an HTTP request in either encoding.

KServe's agent (``pkg/logger``) POSTs one event per request and one per response, in binary
mode: the attributes as ``Ce-*`` headers, the payload as the body. Both events carry the same
``id`` (the request's ``Ce-Id`` header, or a UUID the agent makes), the types
``org.kubeflow.serving.inference.request`` and ``...response``, and the extension attributes
``inferenceservicename``, ``namespace``, ``component``, ``endpoint`` and ``metadata`` (the
logged ``metadataHeaders``, as JSON of header name to values). Structured mode
(``Content-Type: application/cloudevents+json``) carries the same in one JSON document, the
payload in ``data`` or ``data_base64``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"
FEEDBACK_TYPE = "io.modelmonitor.feedback"  # labels, as collector.feedback reads them

STRUCTURED = "application/cloudevents+json"
_REQUIRED = ("id", "source", "type", "specversion")


class Kind(StrEnum):
    REQUEST = "request"
    RESPONSE = "response"
    FEEDBACK = "feedback"


_KINDS = {REQUEST_TYPE: Kind.REQUEST, RESPONSE_TYPE: Kind.RESPONSE, FEEDBACK_TYPE: Kind.FEEDBACK}


class MalformedEvent(ValueError):
    """An event the collector refuses (HTTP 400): the reason says what is wrong with it."""


@dataclass(frozen=True)
class Event:
    """One CloudEvent: its attributes, and its payload as the bytes sent."""

    id: str
    kind: Kind
    attributes: Mapping[str, str] = field(default_factory=dict)  # every other attribute, by lowercase name
    data: bytes = b""

    @property
    def inference_service(self) -> str:
        return self.attributes.get("inferenceservicename", "")

    @property
    def namespace(self) -> str:
        return self.attributes.get("namespace", "")

    @property
    def component(self) -> str:
        return self.attributes.get("component", "")

    @property
    def endpoint(self) -> str:
        return self.attributes.get("endpoint", "")

    @property
    def time(self) -> str | None:
        return self.attributes.get("time")

    @cached_property  # read for the request id and for the version: decoded once
    def metadata(self) -> dict[str, list[str]]:
        """The logged request headers, by lowercase name (KServe sends Go's canonical names)."""
        text = self.attributes.get("metadata")
        if not text:
            return {}
        decoded = json_object(text, f"event {self.id}'s metadata attribute")
        return {
            str(name).lower(): [str(v) for v in values] for name, values in decoded.items() if isinstance(values, list)
        }


def from_http(headers: Mapping[str, str], body: bytes) -> Event:
    """The event an HTTP request carries, binary or structured; MalformedEvent says why not."""
    lowered = {name.lower(): value for name, value in headers.items()}  # HTTP header names have no case
    content_type = lowered.get("content-type", "").split(";")[0].strip().lower()
    if content_type == STRUCTURED:
        return _structured(body)
    attributes = {name[3:]: value for name, value in lowered.items() if name.startswith("ce-")}
    if not attributes:
        raise MalformedEvent("not a CloudEvent: no ce-* headers, and the content type is not " + STRUCTURED)
    if content_type:
        attributes.setdefault("datacontenttype", content_type)
    return _event(attributes, body)


def json_object(text: bytes | str, what: str) -> dict[str, Any]:
    """A JSON object, or MalformedEvent saying that ``what`` is not one."""
    try:
        document = json.loads(text)
    except ValueError:
        raise MalformedEvent(f"{what} is not JSON") from None
    if not isinstance(document, dict):
        raise MalformedEvent(f"{what} must be a JSON object")
    return document


def _structured(body: bytes) -> Event:
    document = json_object(body, "a structured CloudEvent")
    if "data_base64" in document:
        try:
            data = base64.b64decode(str(document.pop("data_base64")), validate=True)
        except (binascii.Error, ValueError):
            raise MalformedEvent("data_base64 is not base64") from None
    elif "data" in document:
        payload = document.pop("data")
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
    else:
        data = b""
    attributes = {
        str(name).lower(): value if isinstance(value, str) else json.dumps(value) for name, value in document.items()
    }
    return _event(attributes, data)


def _event(attributes: dict[str, str], data: bytes) -> Event:
    missing = [name for name in _REQUIRED if not attributes.get(name)]
    if missing:
        raise MalformedEvent(f"a CloudEvent needs {', '.join(missing)}")
    if attributes["specversion"] != "1.0":
        raise MalformedEvent(f"CloudEvents specversion {attributes['specversion']!r} is not 1.0")
    kind = _KINDS.get(attributes["type"])
    if kind is None:
        raise MalformedEvent(f"event type {attributes['type']!r} is not one of {', '.join(_KINDS)}")
    event_id = attributes.pop("id")
    attributes.pop("type")
    return Event(event_id, kind, attributes, data)
