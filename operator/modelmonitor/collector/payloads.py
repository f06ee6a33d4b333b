"""Inference payloads decoded into one row per instance: the V1 protocol and the V2 Open Inference Protocol.

Requests:

- V1 ``{"instances": [...]}`` (or ``"inputs"`` as a list of instances): a list instance gives
  the columns ``f0``, ``f1``...; a dict instance its keys; a scalar ``f0``.
- V2 ``{"inputs": [{"name", "shape", "datatype", "data"}]}``: as ``api.inference_rows`` makes
  rows of tensors (shared with the Seldon source, which reads them as protobuf).

Responses:

- V1 ``{"predictions": [...]}``: a scalar is the prediction; a list of numbers is the class
  probabilities (the prediction is the likeliest class's index, and with two classes the
  ``score`` is the second's); a dict gives ``prediction`` (or ``label``, ``class``) and
  ``score`` (or ``probability``).
- V2 ``{"outputs": [...], "model_version"}``: as ``api.inference_rows`` reads output tensors.

A value that is itself a list or an object is kept as its JSON text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelmonitor.api.inference_rows import (
    Outcome,
    PayloadError,
    Tensor,
    Value,
    probabilities,
    request_rows,
    response_outcomes,
    scalar,
)
from modelmonitor.collector.events import MalformedEvent, json_object

__all__ = ["Outcome", "Response", "Value", "instances", "response"]


@dataclass(frozen=True)
class Response:
    outcomes: list[Outcome]
    model_version: str | None = None  # a V2 response names it


def _is_v2(tensors: Any) -> bool:
    return isinstance(tensors, list) and bool(tensors) and all(isinstance(t, dict) and "data" in t for t in tensors)


def _flat(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    return [value for item in data for value in _flat(item)]


def _tensors(documents: list[dict[str, Any]], what: str) -> list[Tensor]:
    tensors = []
    for document in documents:
        name, shape = document.get("name"), document.get("shape")
        if not isinstance(name, str) or not name:
            raise MalformedEvent(f"a {what} tensor without a name")
        if not (isinstance(shape, list) and shape and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise MalformedEvent(f"{what} tensor {name!r}: shape must be a list of sizes")
        try:
            tensors.append(Tensor(name, tuple(shape), _flat(document["data"])))
        except PayloadError as error:
            raise MalformedEvent(f"{what} {error}") from None
    return tensors


def instances(data: bytes) -> list[dict[str, Value]]:
    """The features of each instance in a request payload."""
    document = json_object(data, "the request")
    if _is_v2(document.get("inputs")):
        try:
            return request_rows(_tensors(document["inputs"], "input"))
        except PayloadError as error:
            raise MalformedEvent(str(error)) from None
    found = document.get("instances", document.get("inputs"))
    if not isinstance(found, list):
        raise MalformedEvent('the request has no "instances" list, nor V2 "inputs" tensors')
    return [_v1_instance(instance) for instance in found]


def _v1_instance(instance: Any) -> dict[str, Value]:
    if isinstance(instance, dict):
        return {str(key): scalar(value) for key, value in instance.items()}
    if isinstance(instance, list):
        return {f"f{index}": scalar(value) for index, value in enumerate(instance)}
    return {"f0": scalar(instance)}


def response(data: bytes) -> Response:
    """What the model said of each instance, and the model version where the response names it."""
    document = json_object(data, "the response")
    if _is_v2(document.get("outputs")):
        version = document.get("model_version")
        try:
            outcomes = response_outcomes(_tensors(document["outputs"], "output"))
        except PayloadError as error:
            raise MalformedEvent(str(error)) from None
        return Response(outcomes, None if version in (None, "") else str(version))
    predictions = document.get("predictions")
    if not isinstance(predictions, list):
        raise MalformedEvent('the response has no "predictions" list, nor V2 "outputs" tensors')
    return Response([_v1_outcome(prediction) for prediction in predictions])


def _v1_outcome(prediction: Any) -> Outcome:
    if isinstance(prediction, list) and (outcome := probabilities(prediction)) is not None:
        return outcome
    if isinstance(prediction, dict):
        said = next((prediction[key] for key in ("prediction", "label", "class") if key in prediction), None)
        score = next((prediction[key] for key in ("score", "probability") if key in prediction), None)
        return Outcome(scalar(said), float(score) if isinstance(score, int | float) else None)
    return Outcome(scalar(prediction))
