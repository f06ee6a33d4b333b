"""What every spec model shares: the base model, and the value types used throughout (names, durations)."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from modelmonitor.api.cel import CelRule, RulesInSchema, ValueRule
from modelmonitor.durations import DURATION_PATTERN, LONGEST_TEXT, parse_duration


class SpecModel(RulesInSchema):
    """The base of every spec model: camelCase names, unknown fields refused, values frozen, CEL rules declared."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


def _bounded_duration(text: str) -> str:
    parse_duration(text)  # at most ten years
    return text


Duration = Annotated[
    str,
    Field(pattern=DURATION_PATTERN, max_length=64, examples=["1h", "30m", "168h"]),
    ValueRule(
        _bounded_duration,
        (CelRule(f"duration(self) <= duration('{LONGEST_TEXT}')", f"must be a duration of at most {LONGEST_TEXT}"),),
    ),
]
Name = Annotated[str, Field(min_length=1, max_length=253)]


class LocalObjectReference(SpecModel):
    name: Name


def each_once(values: list[str] | None) -> list[str] | None:
    """A list the CRD holds as a set (``x-kubernetes-list-type: set``): the model refuses a repeat as it does."""
    if values is not None and len(set(values)) != len(values):
        raise ValueError("each value may appear once")
    return values
