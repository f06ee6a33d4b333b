"""CEL rules declared beside their validators: carried by the models' schema, and so by the CRDs."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import ValidationError, field_validator, model_validator

from modelmonitor.api.base import SpecModel
from modelmonitor.api.cel import VALIDATIONS, CelRule, RuleBroken, ValueRule, cel
from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.api.rollout import ModelRolloutSpec
from modelmonitor.crd import model_schema
from tests.controller.both_gates import rules_in

BOTH = CelRule("has(self.low) == has(self.high)", "set both or neither", ".low")
POSITIVE = CelRule("self > 0", "must be positive")
ORDERED = CelRule("self.low <= self.high", "low must not exceed high")
SMALL_LOW = CelRule("!has(self.low) || self.low < 100", "low must be under 100", ".low")


def _positive(value: int) -> int:
    if value <= 0:
        raise ValueError(f"{value} is not positive")
    return value


class Band(SpecModel):
    low: int | None = None
    high: Annotated[int, ValueRule(_positive, (POSITIVE,))] | None = None
    step: int = 1

    @model_validator(mode="after")
    @cel(BOTH)
    def _both(self) -> Band:
        if (self.low is None) != (self.high is None):
            raise ValueError("set both low and high, or neither")
        return self

    @field_validator("step")
    @classmethod
    @cel(POSITIVE)
    def _positive_step(cls, step: int) -> int:
        return _positive(step)

    @field_validator("low")
    @classmethod
    @cel(SMALL_LOW)  # a field path: written on the object, reported at the field
    def _small_low(cls, low: int | None) -> int | None:
        if low is not None and low >= 100:
            raise ValueError("low must be under 100")
        return low

    @model_validator(mode="after")
    @cel(ORDERED)
    def _ordered(self) -> Band:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


def _refusal(document: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as refused:
        Band.model_validate(document)
    [problem] = refused.value.errors()
    return problem


def test_a_refusal_carries_its_twin_rules_and_keeps_its_message() -> None:
    problem = _refusal({"low": 1})
    assert problem["msg"] == "Value error, set both low and high, or neither"
    assert isinstance(problem["ctx"]["error"], RuleBroken) and problem["ctx"]["error"].rules == (BOTH,)
    assert _refusal({"step": 0})["ctx"]["error"].rules == (POSITIVE,)
    assert _refusal({"low": 0, "high": -1})["ctx"]["error"].rules == (POSITIVE,)  # the value's own check first
    assert _refusal({"low": 3, "high": 2})["ctx"]["error"].rules == (ORDERED,)
    assert _refusal({"low": 100, "high": 200})["ctx"]["error"].rules == (SMALL_LOW,)
    assert Band.model_validate({"low": 1, "high": 2}).high == 2


def test_the_schema_carries_each_rule_where_its_validator_is() -> None:
    schema = model_schema(Band)
    # the model's validators in the order they are written, then field validators' rules with a field path
    assert schema[VALIDATIONS] == [BOTH.as_schema(), ORDERED.as_schema(), SMALL_LOW.as_schema()]
    assert schema["properties"]["step"][VALIDATIONS] == [POSITIVE.as_schema()]
    assert schema["properties"]["high"][VALIDATIONS] == [POSITIVE.as_schema()]  # through the optional
    assert VALIDATIONS not in schema["properties"]["low"]


@pytest.mark.parametrize("model", [ModelMonitorSpec, ModelRolloutSpec])
def test_the_crd_holds_the_declared_rules_and_only_those_it_derives_from_bounds(model: type[SpecModel]) -> None:
    found: list[dict[str, str]] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            found.extend(node.get(VALIDATIONS, []))
            for child in node.values():
                collect(child)
        elif isinstance(node, list):
            for child in node:
                collect(child)

    collect(model_schema(model))
    in_crd = {(rule["rule"], rule["message"]) for rule in found}
    declared = {(rule.rule, rule.message) for rule in rules_in(model)}
    assert declared <= in_crd
    derived = in_crd - declared
    assert all(rule.startswith("self ") and message.startswith("must be ") for rule, message in derived), derived
