"""Open Inference Protocol (V2) tensors as rows: one home for the collector (JSON payloads) and the Seldon source
(protobuf messages from Kafka).

Requests: a tensor of shape ``[N]`` or ``[N, 1]`` is the column of its name; ``[N, k]`` the
columns ``NAME_0`` ... ``NAME_{k-1}``. Responses: the first tensor of shape ``[N]`` or
``[N, 1]`` is the prediction; the first of shape ``[N, C]`` (C at least 2) the class
probabilities (the prediction is the likeliest class's index where no tensor says it, and with
two classes the ``score`` is the second's). A value that is itself a list or an object is kept
as its JSON text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from math import prod
from typing import Any

Value = str | int | float | bool | None


class PayloadError(ValueError):
    """Tensors that make no rows; the reason says what is wrong with them."""


@dataclass(frozen=True)
class Tensor:
    """One tensor: its name, its shape, and its values flattened in row-major order."""

    name: str
    shape: tuple[int, ...]
    values: list[Any]

    def __post_init__(self) -> None:
        if len(self.values) != prod(self.shape):
            raise PayloadError(f"tensor {self.name!r}: {len(self.values)} values for shape {list(self.shape)}")

    @property
    def instances(self) -> int:
        return self.shape[0] if self.shape else 1

    @property
    def width(self) -> int:
        """Values per instance."""
        return prod(self.shape[1:]) if len(self.shape) > 1 else 1


@dataclass(frozen=True)
class Outcome:
    """What the model said of one instance."""

    prediction: Value
    score: float | None = None


def scalar(value: Any) -> Value:
    """A value as a row holds it: a scalar as it is, anything else as its JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, sort_keys=True)


def probabilities(values: list[Any]) -> Outcome | None:
    """The outcome class probabilities say, if these values are some (two or more numbers)."""
    if len(values) < 2 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return None
    likeliest = max(range(len(values)), key=values.__getitem__)
    return Outcome(likeliest, float(values[1]) if len(values) == 2 else None)


def request_rows(tensors: list[Tensor]) -> list[dict[str, Value]]:
    """The features of each instance in a request's input tensors."""
    rows: list[dict[str, Value]] | None = None
    for tensor in tensors:
        if rows is None:
            rows = [{} for _ in range(tensor.instances)]
        elif len(rows) != tensor.instances:
            raise PayloadError(f"input tensor {tensor.name!r} has {tensor.instances} instances, another {len(rows)}")
        width = tensor.width
        for index, row in enumerate(rows):
            part = tensor.values[index * width : (index + 1) * width]
            if width == 1:
                row[tensor.name] = scalar(part[0])
            else:
                row.update({f"{tensor.name}_{k}": scalar(value) for k, value in enumerate(part)})
    return rows or []


def response_outcomes(tensors: list[Tensor]) -> list[Outcome]:
    """What a response's output tensors say of each instance."""
    said: list[Any] | None = None
    scores: list[list[Any]] | None = None
    count = None
    for tensor in tensors:
        if count is not None and tensor.instances != count:
            raise PayloadError(f"output tensor {tensor.name!r} has {tensor.instances} instances, another {count}")
        count, width = tensor.instances, tensor.width
        if width == 1 and said is None:
            said = tensor.values
        elif width >= 2 and scores is None:
            scores = [tensor.values[i * width : (i + 1) * width] for i in range(count)]
    if said is None and scores is None:
        raise PayloadError("the response's output tensors hold no prediction")
    outcomes = []
    for index in range(count or 0):
        from_scores = probabilities(scores[index]) if scores is not None else None
        prediction = scalar(said[index]) if said is not None else (from_scores.prediction if from_scores else None)
        outcomes.append(Outcome(prediction, from_scores.score if from_scores else None))
    return outcomes
