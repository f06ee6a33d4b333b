"""KServe-shaped CloudEvents for the collector's tests: a V1 pair, and a structured-mode event."""

from __future__ import annotations

import json
from typing import Any

from modelmonitor_tools.kserve_traffic import REQUEST, RESPONSE, headers


def pair(
    event_id: str, features: dict[str, Any], probabilities: list[float], **options: Any
) -> list[tuple[dict, bytes]]:
    """The request and the response event of one V1 inference."""
    return [
        (headers(event_id, "request", **options), json.dumps({"instances": [features]}).encode()),
        (headers(event_id, "response", **options), json.dumps({"predictions": [probabilities]}).encode()),
    ]


def structured(event_id: str, kind: str, data: Any) -> tuple[dict[str, str], bytes]:
    document = {
        "specversion": "1.0",
        "id": event_id,
        "type": REQUEST if kind == "request" else RESPONSE,
        "source": "http://localhost:9081/",
        "inferenceservicename": "credit-risk",
        "namespace": "ml",
        "component": "predictor",
        "datacontenttype": "application/json",
        "data": data,
    }
    return {"Content-Type": "application/cloudevents+json"}, json.dumps(document).encode()
