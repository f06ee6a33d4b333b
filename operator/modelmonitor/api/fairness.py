"""Fairness (``spec.fairness``): whether a model treats a protected group as it treats the privileged one.

The rows are split by ``protectedAttribute`` into the privileged group (its values listed in
``privileged``) and the unprivileged group (``unprivileged``, or every other value), and each
metric compares one rate between the two, as AIF360 defines them: a difference is the
unprivileged group's rate minus the privileged group's (0 is parity; below 0 the unprivileged
group fares worse), a ratio is the one divided by the other (1 is parity).

One table, ``FAIRNESS_METRICS``: the spec's ``FairnessMetricName`` (and so the CRD's enum),
which metrics need labels, and which are ratios. The formulas are one module per metric of
``modelmonitor.engine.fairness_formulas`` (numpy, which this package may not import); a test
holds the modules and this table equal.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, field_validator, model_validator

from modelmonitor.api.base import Name, SpecModel, each_once
from modelmonitor.api.cel import CelRule, cel
from modelmonitor.api.vocabulary import listed, quoted, vocabulary


@dataclass(frozen=True)
class FairnessMetricDefinition:
    """One metric's facts: the rate it compares, whether that needs labels, and whether it is a ratio."""

    rate: str  # what is compared between the groups, in words
    needs_labels: bool
    ratio: bool = False  # a ratio (parity 1), else a difference (parity 0)


FAIRNESS_METRICS_BY_NAME: dict[str, FairnessMetricDefinition] = {
    "statisticalParityDifference": FairnessMetricDefinition("favorable-outcome rate", needs_labels=False),
    "disparateImpactRatio": FairnessMetricDefinition("favorable-outcome rate", needs_labels=False, ratio=True),
    "equalOpportunityDifference": FairnessMetricDefinition("true-positive rate", needs_labels=True),
    "averageOddsDifference": FairnessMetricDefinition("mean of true- and false-positive rates", needs_labels=True),
    "predictiveParityDifference": FairnessMetricDefinition("precision", needs_labels=True),
}

FairnessMetricName = vocabulary("FairnessMetricName", FAIRNESS_METRICS_BY_NAME, module=__name__)
FAIRNESS_METRICS: dict[FairnessMetricName, FairnessMetricDefinition] = {
    FairnessMetricName(name): facts for name, facts in FAIRNESS_METRICS_BY_NAME.items()
}
LABELED_FAIRNESS_METRICS = frozenset(name for name, facts in FAIRNESS_METRICS.items() if facts.needs_labels)
RATIO_METRICS = frozenset(name for name, facts in FAIRNESS_METRICS.items() if facts.ratio)
_RATIOS = quoted(RATIO_METRICS)
_DIFFERENCE_BOUND = "a difference takes max alone: the largest gap allowed either way, in [0, 1]"


class FairnessMetricSpec(SpecModel):
    """One fairness metric and its bounds.

    A difference takes ``max``, the largest gap allowed in either direction (|value| ≤ max);
    a ratio takes ``min`` and/or ``max`` (the four-fifths rule: ``min: 0.8``).
    """

    name: FairnessMetricName
    min: float | None = Field(None, ge=0, description="Ratios only: the smallest ratio allowed.")
    max: float | None = Field(None, ge=0, description="A difference's largest gap either way; a ratio's largest value.")

    @model_validator(mode="after")
    @cel(
        CelRule("has(self.min) || has(self.max)", "a fairness metric needs a bound: max, or for a ratio min or max"),
        CelRule(
            f"self.name in {_RATIOS} || (!has(self.min) && (!has(self.max) || self.max <= 1.0))",
            _DIFFERENCE_BOUND,
        ),
        CelRule("!has(self.min) || !has(self.max) || self.min <= self.max", "min must not exceed max"),
    )
    def _bounded(self) -> FairnessMetricSpec:
        if self.min is None and self.max is None:
            raise ValueError("a fairness metric needs a bound: max, or for a ratio min or max")
        if self.name not in RATIO_METRICS and (self.min is not None or (self.max is not None and self.max > 1)):
            raise ValueError(f"{self.name}: {_DIFFERENCE_BOUND}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        return self


class FairnessSpec(SpecModel):
    """Fairness over the current window, between a privileged group and the rest (or a listed unprivileged group)."""

    protected_attribute: Name = Field(description="The column that holds the protected attribute, such as gender.")
    privileged: list[str] = Field(
        min_length=1,
        max_length=100,
        description="The privileged group's values of the protected attribute, compared as text.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    unprivileged: list[str] | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="The unprivileged group's values; omitted: every value not privileged. Rows in neither "
        "group, and rows without the attribute, are counted apart and left out.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    favorable_outcome: str | None = Field(
        None,
        max_length=253,
        description="The prediction (and label) that benefits the person, compared as text, such as an approved "
        "loan. Default: a binary model's positive class (model.positiveLabel, else 1 or true); a multiclass "
        "model must name it.",
    )
    metrics: list[FairnessMetricSpec] = Field(
        min_length=1,
        max_length=len(FAIRNESS_METRICS),
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    min_rows_per_group: int = Field(
        50,
        ge=1,
        le=100_000_000,
        description="The fewest rows each group needs in a metric's denominator (its rows, its positives, ...) "
        "before the metric is judged; fewer: Inconclusive.",
    )
    confidence: float = Field(0.95, gt=0.5, lt=1, description="The bootstrap interval's confidence.")

    @field_validator("privileged", "unprivileged")
    @classmethod
    def _distinct(cls, values: list[str] | None) -> list[str] | None:
        return each_once(values)

    @field_validator("metrics")
    @classmethod
    def _each_once(cls, metrics: list[FairnessMetricSpec]) -> list[FairnessMetricSpec]:
        names = [metric.name for metric in metrics]
        if len(set(names)) != len(names):
            raise ValueError("each fairness metric may appear once")  # the CRD: the list's map key
        return metrics

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.unprivileged) || !self.unprivileged.exists(v, v in self.privileged)",
            "a value cannot be both privileged and unprivileged",
            ".unprivileged",
        )
    )
    def _groups_apart(self) -> FairnessSpec:
        if both := sorted(set(self.privileged) & set(self.unprivileged or ())):
            raise ValueError(f"a value cannot be both privileged and unprivileged: {listed(both)}")
        return self

    @property
    def needs_labels(self) -> bool:
        return any(metric.name in LABELED_FAIRNESS_METRICS for metric in self.metrics)
