"""Data-quality rules (``spec.dataQuality``): what the current window's data must be, apart from drift.

Drift says the data changed; a rule says it is broken: a column gone or added, nulls where there
were none, ages of 300, a category no one has heard of, an id served twice, or logs that stopped
arriving. Each rule sets exactly one kind, the field of :class:`DataQualityRule` it is named by;
each kind is measured by the module of ``modelmonitor.checks.quality_rules`` named alike.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from modelmonitor.api.base import Duration, Name, SpecModel
from modelmonitor.api.cel import CelRule, cel
from modelmonitor.api.vocabulary import listed
from modelmonitor.durations import parse_duration

# the kinds, as the spec names them: DataQualityRule's fields, in order (a test holds the two equal)
KINDS = ("schema", "missing", "range", "allowedValues", "unique", "freshness")
_ONE_KIND = "[" + ", ".join(f"has(self.{kind})" for kind in KINDS) + "].filter(x, x).size() == 1"


class ColumnType(StrEnum):
    """A column's type as a rule names it; each stands for the Arrow types listed in ``checks.quality_rules.schema``."""

    NUMBER = "number"  # any integer or floating-point type
    INTEGER = "integer"
    STRING = "string"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"  # a timestamp or a date


class ExpectedColumn(SpecModel):
    name: Name
    type: ColumnType | None = Field(None, description="Omitted: any type.")


class SchemaRule(SpecModel):
    """The window's columns: those listed (with their types, where given), or else the reference's columns."""

    columns: list[ExpectedColumn] | None = Field(
        None,
        min_length=1,
        max_length=10000,
        description="Omitted: the reference's columns, each with the reference's type.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    allow_extra: bool = Field(False, description="Whether a column beyond these is allowed.")

    @field_validator("columns")
    @classmethod
    def _named_once(cls, columns: list[ExpectedColumn] | None) -> list[ExpectedColumn] | None:
        names = [column.name for column in columns or []]
        if repeated := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"columns named more than once: {', '.join(repeated)}")  # the CRD: the list's map key
        return columns


class MissingRule(SpecModel):
    column: Name
    max: float = Field(ge=0, le=1, description="The largest share of the window's rows with no value (null or NaN).")


class RangeRule(SpecModel):
    """Numbers that must lie in [min, max] (nulls are for the missing rule)."""

    column: Name
    min: float | None = None
    max: float | None = None
    max_share: float = Field(0.0, ge=0, le=1, description="The share of the values allowed outside [min, max].")

    @model_validator(mode="after")
    @cel(CelRule("has(self.min) || has(self.max)", "a range needs min, max or both"))
    def _bounded(self) -> RangeRule:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min, max or both")
        return self

    @model_validator(mode="after")
    @cel(CelRule("!has(self.min) || !has(self.max) || self.min <= self.max", "min is above max: no value fits"))
    def _ordered(self) -> RangeRule:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is above max: no value fits")
        return self


class AllowedValuesRule(SpecModel):
    """Values from a known set: those listed, or else those the reference has (unseen categories)."""

    column: Name
    values: list[str] | None = Field(
        None,
        min_length=1,
        max_length=10000,
        description="The values allowed, compared as text; omitted: the values the reference has.",
    )
    max_share: float = Field(0.0, ge=0, le=1, description="The share of the values allowed outside the set.")


class UniqueRule(SpecModel):
    """An id column: no value twice in the window (nulls are for the missing rule)."""

    column: Name


class FreshnessRule(SpecModel):
    """The newest row is at most ``maxAge`` old, and none is more than ``futureTolerance`` ahead of the run."""

    max_age: Duration = Field(description="How old the newest row may be when the run looks.")
    column: Name | None = Field(None, description="The time column (default: data.columns.timestamp).")
    future_tolerance: Duration = Field(
        "5m", description="How far ahead of the run's time a row may be (clock skew) before it counts as future."
    )

    @field_validator("max_age")
    @classmethod
    @cel(CelRule("duration(self) > duration('0s')", "maxAge must be a positive duration"))
    def _positive(cls, max_age: str) -> str:
        if parse_duration(max_age) <= timedelta(0):
            raise ValueError("maxAge must be a positive duration")
        return max_age


class DataQualityRule(SpecModel):
    """One rule: exactly one of its kinds."""

    table_schema: SchemaRule | None = Field(None, alias="schema")  # "schema" is a method of pydantic's models
    missing: MissingRule | None = None
    range: RangeRule | None = None
    allowed_values: AllowedValuesRule | None = None
    unique: UniqueRule | None = None
    freshness: FreshnessRule | None = None

    @property
    def kind(self) -> str:
        """The spec's name of the kind this rule sets."""
        return next(alias for alias, rule in self._set() if rule is not None)

    @property
    def rule(self) -> SchemaRule | MissingRule | RangeRule | AllowedValuesRule | UniqueRule | FreshnessRule:
        return next(rule for _, rule in self._set() if rule is not None)

    @property
    def column(self) -> str:
        """The column the rule is about ("" for a schema)."""
        return getattr(self.rule, "column", None) or ""

    def _set(self) -> list[tuple[str, SpecModel | None]]:
        return [(field.alias or name, getattr(self, name)) for name, field in type(self).model_fields.items()]

    @model_validator(mode="after")
    @cel(CelRule(_ONE_KIND, f"set exactly one of {listed(list(KINDS))}"))
    def _one_kind(self) -> DataQualityRule:
        if sum(rule is not None for _, rule in self._set()) != 1:
            raise ValueError(f"set exactly one of {listed(list(KINDS))}")
        return self
