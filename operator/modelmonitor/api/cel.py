"""CEL rules, declared beside the pydantic validators that refuse the same thing.

The spec is checked twice: by the models here (``modelmonitor validate``, the operator) and
by the API server, whose CRD schema is generated from them (``modelmonitor.crd``). What a
schema cannot say, the API server checks with CEL rules (``x-kubernetes-validations``). A
validator that needs one says so where it is written::

    @model_validator(mode="after")
    @cel(CelRule("has(self.interval) != has(self.cron)", "set exactly one of interval or cron"))
    def _exactly_one(self) -> Schedule: ...

The models' JSON schema carries the rules (``SpecModel``), so the generator only converts
it, and ``tests/controller/test_generated_specs.py`` holds every rule against its twin: a
refusal by the validator must be a refusal by its rules on the API server.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema

VALIDATIONS = "x-kubernetes-validations"
Validator = TypeVar("Validator", bound=Callable[..., Any])


@dataclass(frozen=True)
class CelRule:
    """One CEL rule; ``self`` is the object of the model (or the value of the field) it is declared on."""

    rule: str
    message: str
    # where the API server reports it, relative to self. A field validator's rule with a field path is
    # written on the object (self is the model, as everywhere in Kubernetes a rule with a fieldPath is)
    field_path: str | None = None

    def as_schema(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.message} | (
            {"fieldPath": self.field_path} if self.field_path else {}
        )


class RuleBroken(ValueError):
    """A validator's refusal, carrying the CEL rules that refuse the same thing on the API server.

    pydantic keeps the exception in the error's context, so a test can ask which rules should
    have refused a spec; the message is the validator's own.
    """

    def __init__(self, message: str, rules: tuple[CelRule, ...]) -> None:
        super().__init__(message)
        self.rules = rules


def cel(*rules: CelRule) -> Callable[[Validator], Validator]:
    """Declare the CEL twins of a validator (put it under pydantic's decorator, over the function)."""

    def declare(validator: Validator) -> Validator:
        @functools.wraps(validator)
        def twin(*args: Any, **kwargs: Any) -> Any:
            try:
                return validator(*args, **kwargs)
            except RuleBroken:
                raise
            except ValueError as error:
                raise RuleBroken(str(error), rules) from None

        twin.cel_rules = rules  # type: ignore[attr-defined]
        return twin  # type: ignore[return-value]

    return declare


def rules_of(validator: Any) -> tuple[CelRule, ...]:
    """The rules ``@cel`` declared on a validator (through pydantic's classmethod wrapping), or none."""
    function = getattr(validator, "__func__", validator)
    return tuple(getattr(function, "cel_rules", ()))


def declared_rules(model: type[BaseModel]) -> tuple[list[CelRule], dict[str, list[CelRule]]]:
    """A model's rules on its object, and on its fields (by alias), in the order its validators are written.

    A field validator's rule goes on the field's value, or on the object when it has a field path.
    """
    decorators = model.__pydantic_decorators__
    on_model = [rule for found in decorators.model_validators.values() for rule in rules_of(found.func)]
    on_fields: dict[str, list[CelRule]] = {}
    for found in decorators.field_validators.values():
        rules = rules_of(found.func)
        on_model.extend(rule for rule in rules if rule.field_path)
        for field in found.info.fields:
            alias = model.model_fields[field].alias or field
            on_fields.setdefault(alias, []).extend(rule for rule in rules if not rule.field_path)
    return on_model, {alias: rules for alias, rules in on_fields.items() if rules}


def add_rules(schema: dict[str, Any], rules: list[CelRule] | tuple[CelRule, ...]) -> None:
    if rules:
        schema.setdefault(VALIDATIONS, []).extend(rule.as_schema() for rule in rules)


class RulesInSchema(BaseModel):
    """A model whose JSON schema carries the CEL rules of its validators (the base of every spec model)."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        json_schema = handler.resolve_ref_schema(handler(schema))
        on_model, on_fields = declared_rules(cls)
        add_rules(json_schema, on_model)
        for alias, rules in on_fields.items():
            add_rules(json_schema["properties"][alias], rules)
        return json_schema


@dataclass(frozen=True)
class ValueRule:
    """``Annotated[str, ValueRule(check, rule)]``: a check of a value, and its CEL twin on the value's schema.

    For a value type used in many places (a duration): each place gets both, wherever it is.
    """

    check: Callable[[Any], Any]
    rules: tuple[CelRule, ...]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(cel(*self.rules)(self.check), handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        json_schema = handler(schema)
        add_rules(json_schema, self.rules)
        return json_schema
