"""KServe-shaped CloudEvents, as its agent sends them (pkg/logger: binary mode, one per request and response)."""

from __future__ import annotations

import json
from typing import Any

REQUEST = "org.kubeflow.serving.inference.request"
RESPONSE = "org.kubeflow.serving.inference.response"


def headers(
    event_id: str,
    kind: str,
    *,
    service: str = "credit-risk",
    namespace: str = "ml",
    component: str = "predictor",
    time: str | None = "2026-12-07T10:15:30.123456789Z",
    metadata: dict[str, list[str]] | None = None,
) -> dict[str, str]:
    found = {
        "Ce-Specversion": "1.0",
        "Ce-Id": event_id,
        "Ce-Type": REQUEST if kind == "request" else RESPONSE,
        "Ce-Source": "http://localhost:9081/",
        "Ce-Inferenceservicename": service,
        "Ce-Namespace": namespace,
        "Ce-Component": component,
        "Ce-Endpoint": "",
        "Ce-Metadata": json.dumps(metadata or {}),
        "Content-Type": "application/json",
    }
    if time is not None:
        found["Ce-Time"] = time
    return found


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
