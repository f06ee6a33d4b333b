"""Inference payloads decoded into one row per instance: the V1 protocol and the V2 Open Inference Protocol.

Requests:

- V1 ``{"instances": [...]}`` (or ``"inputs"`` as a list of instances): a list instance gives
  the columns ``f0``, ``f1``...; a dict instance its keys; a scalar ``f0``.
- V2 ``{"inputs": [{"name", "shape", "datatype", "data"}]}``: a tensor of shape ``[N]`` or
  ``[N, 1]`` is the column of its name; ``[N, k]`` the columns ``NAME_0`` ... ``NAME_{k-1}``.

Responses:

- V1 ``{"predictions": [...]}``: a scalar is the prediction; a list of numbers is the class
  probabilities (the prediction is the likeliest class's index, and with two classes the
  ``score`` is the second's); a dict gives ``prediction`` (or ``label``, ``class``) and
  ``score`` (or ``probability``).
- V2 ``{"outputs": [...], "model_version"}``: the first tensor of shape ``[N]`` or ``[N, 1]``
  is the prediction; the first of shape ``[N, C]`` (C at least 2) the class probabilities.

A value that is itself a list or an object is kept as its JSON text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from math import prod
from typing import Any

from modelmonitor.collector.events import MalformedEvent, json_object

Value = str | int | float | bool | None


@dataclass(frozen=True)
class Outcome:
    """What the model said of one instance."""

    prediction: Value
    score: float | None = None


@dataclass(frozen=True)
class Response:
    outcomes: list[Outcome]
    model_version: str | None = None  # a V2 response names it


def _scalar(value: Any) -> Value:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, sort_keys=True)


def _is_v2(tensors: Any) -> bool:
    return isinstance(tensors, list) and bool(tensors) and all(isinstance(t, dict) and "data" in t for t in tensors)


def _flat(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    return [value for item in data for value in _flat(item)]


def _tensor(tensor: dict[str, Any], what: str) -> tuple[str, list[int], list[Any]]:
    name, shape = tensor.get("name"), tensor.get("shape")
    if not isinstance(name, str) or not name:
        raise MalformedEvent(f"a {what} tensor without a name")
    if not (isinstance(shape, list) and shape and all(isinstance(d, int) and d >= 0 for d in shape)):
        raise MalformedEvent(f"{what} tensor {name!r}: shape must be a list of sizes")
    values = _flat(tensor["data"])
    if len(values) != prod(shape):
        raise MalformedEvent(f"{what} tensor {name!r}: {len(values)} values for shape {shape}")
    return name, shape, values


def _width(shape: list[int]) -> int:
    return prod(shape[1:]) if len(shape) > 1 else 1


def instances(data: bytes) -> list[dict[str, Value]]:
    """The features of each instance in a request payload."""
    document = json_object(data, "the request")
    if _is_v2(document.get("inputs")):
        return _v2_instances(document["inputs"])
    found = document.get("instances", document.get("inputs"))
    if not isinstance(found, list):
        raise MalformedEvent('the request has no "instances" list, nor V2 "inputs" tensors')
    return [_v1_instance(instance) for instance in found]


def _v1_instance(instance: Any) -> dict[str, Value]:
    if isinstance(instance, dict):
        return {str(key): _scalar(value) for key, value in instance.items()}
    if isinstance(instance, list):
        return {f"f{index}": _scalar(value) for index, value in enumerate(instance)}
    return {"f0": _scalar(instance)}


def _v2_instances(tensors: list[dict[str, Any]]) -> list[dict[str, Value]]:
    rows: list[dict[str, Value]] | None = None
    for tensor in tensors:
        name, shape, values = _tensor(tensor, "input")
        count, width = shape[0], _width(shape)
        if rows is None:
            rows = [{} for _ in range(count)]
        elif len(rows) != count:
            raise MalformedEvent(f"input tensor {name!r} has {count} instances, another {len(rows)}")
        for index, row in enumerate(rows):
            part = values[index * width : (index + 1) * width]
            if width == 1:
                row[name] = _scalar(part[0])
            else:
                row.update({f"{name}_{k}": _scalar(value) for k, value in enumerate(part)})
    return rows or []


def response(data: bytes) -> Response:
    """What the model said of each instance, and the model version where the response names it."""
    document = json_object(data, "the response")
    if _is_v2(document.get("outputs")):
        version = document.get("model_version")
        return Response(_v2_outcomes(document["outputs"]), None if version in (None, "") else str(version))
    predictions = document.get("predictions")
    if not isinstance(predictions, list):
        raise MalformedEvent('the response has no "predictions" list, nor V2 "outputs" tensors')
    return Response([_v1_outcome(prediction) for prediction in predictions])


def _probabilities(values: list[Any]) -> Outcome | None:
    if len(values) < 2 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return None
    likeliest = max(range(len(values)), key=values.__getitem__)
    return Outcome(likeliest, float(values[1]) if len(values) == 2 else None)


def _v1_outcome(prediction: Any) -> Outcome:
    if isinstance(prediction, list) and (outcome := _probabilities(prediction)) is not None:
        return outcome
    if isinstance(prediction, dict):
        said = next((prediction[key] for key in ("prediction", "label", "class") if key in prediction), None)
        score = next((prediction[key] for key in ("score", "probability") if key in prediction), None)
        return Outcome(_scalar(said), float(score) if isinstance(score, int | float) else None)
    return Outcome(_scalar(prediction))


def _v2_outcomes(tensors: list[dict[str, Any]]) -> list[Outcome]:
    said: list[Any] | None = None
    probabilities: list[list[Any]] | None = None
    count = None
    for tensor in tensors:
        name, shape, values = _tensor(tensor, "output")
        if count is not None and shape[0] != count:
            raise MalformedEvent(f"output tensor {name!r} has {shape[0]} instances, another {count}")
        count, width = shape[0], _width(shape)
        if width == 1 and said is None:
            said = values
        elif width >= 2 and probabilities is None:
            probabilities = [values[i * width : (i + 1) * width] for i in range(count)]
    if said is None and probabilities is None:
        raise MalformedEvent("the response's output tensors hold no prediction")
    outcomes = []
    for index in range(count or 0):
        from_scores = _probabilities(probabilities[index]) if probabilities is not None else None
        prediction = _scalar(said[index]) if said is not None else (from_scores.prediction if from_scores else None)
        outcomes.append(Outcome(prediction, from_scores.score if from_scores else None))
    return outcomes
