"""Labels sent to the collector after the fact: ``POST /v1/feedback``, or a CloudEvent ``io.modelmonitor.feedback``.

The body is one label or a JSON array of them::

    {"id": "loan-77", "label": 1, "inferenceService": "credit-risk", "namespace": "ml", "time": "..."}

``id`` is the request id the prediction's row has (``request_id``); ``label`` the outcome, a
number, text or a boolean. ``inferenceService`` and ``namespace`` may instead come once for the
whole body: as the query parameters of the same names, or as the CloudEvent's
``inferenceservicename`` and ``namespace``. ``time`` (RFC 3339) is when the outcome was known;
without it, when it arrived.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from modelmonitor.api import payload_log
from modelmonitor.collector.events import MalformedEvent

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # a DNS label: an InferenceService's, a namespace's
_MOST = 100_000  # labels in one body


def _moment(text: Any, arrived: datetime) -> datetime:
    if text is None:
        return arrived
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        raise MalformedEvent(f"time {text!r} is not an RFC 3339 time") from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def labels(body: bytes, defaults: Mapping[str, str], arrived: datetime) -> list[dict[str, Any]]:
    """The label rows of a feedback body; MalformedEvent, naming the item, for anything wrong in it."""
    try:
        document = json.loads(body)
    except ValueError:
        raise MalformedEvent("the feedback is not JSON") from None
    items = document if isinstance(document, list) else [document]
    if not items or len(items) > _MOST:
        raise MalformedEvent(f"the feedback holds {len(items)} labels: send 1 to {_MOST:,} at a time")
    rows = []
    for index, item in enumerate(items):
        where = f"label {index}" if isinstance(document, list) else "the label"
        if not isinstance(item, dict):
            raise MalformedEvent(f"{where} is not a JSON object")
        if not isinstance(item.get("id"), str | int) or isinstance(item.get("id"), bool) or item["id"] == "":
            raise MalformedEvent(f"{where} needs an id, the request id of its prediction")
        if "label" not in item or not isinstance(item["label"], str | int | float | bool | None):
            raise MalformedEvent(f"{where} needs a label: a number, text or a boolean")
        named = {key: item.get(key) or defaults.get(key) for key in ("inferenceService", "namespace")}
        for key, value in named.items():
            if not isinstance(value, str) or not _NAME.match(value):
                raise MalformedEvent(f"{where} needs {key} (in it, or as a query parameter), a DNS label")
        rows.append(
            {
                payload_log.REQUEST_ID: str(item["id"]),
                payload_log.LABEL: item["label"],
                payload_log.TIME: _moment(item.get("time"), arrived),
                payload_log.INFERENCE_SERVICE: named["inferenceService"],
                payload_log.NAMESPACE: named["namespace"],
            }
        )
    return rows
