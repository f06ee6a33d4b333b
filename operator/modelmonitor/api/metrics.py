"""The performance metrics: what each one needs, where its values lie, and which way is better.

One table, ``METRICS``: the spec's ``MetricName`` (and so the CRD's enum), the spec's checks
of a metric against the task and columns, the CRD's CEL rules, the direction of every
comparison and interval, and the metrics performance estimation covers are all read from it.
Declared once, as scikit-learn's ``make_scorer(..., greater_is_better=False,
response_method="predict_proba")`` declares a scorer's direction and needs.  The formulas
are one module per metric of ``modelmonitor.engine.metric_formulas`` (pure numpy, which this
package may not import); a test holds the modules and this table equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from modelmonitor.api.base import SpecModel
from modelmonitor.api.cel import CelRule, cel
from modelmonitor.api.vocabulary import quoted, vocabulary


@dataclass(frozen=True)
class MetricDefinition:
    """One metric's facts.

    ``needs_scores``: computed from a positive-class score per row (a binary task's
    ``data.columns.score``), not from predicted labels.  ``averaged``: a per-class metric
    that takes ``average`` (binary, macro or weighted).  ``low`` and ``high``: where its
    values lie (None: unbounded), so a threshold outside can never be met, or never broken.
    """

    regression: bool
    higher_is_better: bool
    low: float | None
    high: float | None
    needs_scores: bool = False
    averaged: bool = False


METRICS_BY_NAME: dict[str, MetricDefinition] = {
    # name: regression, higher is better, low, high
    "accuracy": MetricDefinition(False, True, 0.0, 1.0),
    "precision": MetricDefinition(False, True, 0.0, 1.0, averaged=True),
    "recall": MetricDefinition(False, True, 0.0, 1.0, averaged=True),
    "f1": MetricDefinition(False, True, 0.0, 1.0, averaged=True),
    "rocAuc": MetricDefinition(False, True, 0.0, 1.0, needs_scores=True),
    "logLoss": MetricDefinition(False, False, 0.0, None, needs_scores=True),
    "balancedAccuracy": MetricDefinition(False, True, 0.0, 1.0),
    "mae": MetricDefinition(True, False, 0.0, None),
    "rmse": MetricDefinition(True, False, 0.0, None),
    "mape": MetricDefinition(True, False, 0.0, None),  # a fraction, as scikit-learn's
    "r2": MetricDefinition(True, True, None, 1.0),
}


MetricName = vocabulary("MetricName", METRICS_BY_NAME, module=__name__)
METRICS: dict[MetricName, MetricDefinition] = {MetricName(name): facts for name, facts in METRICS_BY_NAME.items()}

# Views of the table, for the places that test membership (the spec's checks, the CRD's rules)
CLASSIFICATION_METRICS = frozenset(name for name, facts in METRICS.items() if not facts.regression)
REGRESSION_METRICS = frozenset(name for name, facts in METRICS.items() if facts.regression)
SCORE_METRICS = frozenset(name for name, facts in METRICS.items() if facts.needs_scores)
AVERAGED_METRICS = frozenset(name for name, facts in METRICS.items() if facts.averaged)
METRIC_RANGES = {name: (facts.low, facts.high) for name, facts in METRICS.items()}


def describe_range(low: float | None, high: float | None) -> str:
    return f"[{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]"


def _within(bound: str, low: float | None, high: float | None) -> str:
    """CEL: the threshold ``bound`` is unset or inside [low, high]."""
    limits = [
        f"self.{bound} >= {low!r}" if low is not None else "",
        f"self.{bound} <= {high!r}" if high is not None else "",
    ]
    return f"(!has(self.{bound}) || ({' && '.join(limit for limit in limits if limit)}))"


def _range_rules() -> list[CelRule]:
    """One rule per range: the metrics that lie in it take thresholds inside it only."""
    by_range: dict[tuple[float | None, float | None], list[str]] = {}
    for name, bounds in METRIC_RANGES.items():
        by_range.setdefault(bounds, []).append(str(name))
    return [
        CelRule(
            f"!(self.name in {quoted(names)}) || ({_within('min', low, high)} && {_within('max', low, high)})",
            f"{', '.join(names)} {'lies' if len(names) == 1 else 'lie'} in {describe_range(low, high)}: "
            "min and max must too",
        )
        for (low, high), names in by_range.items()
    ]


class MetricSpec(SpecModel):
    """A performance metric and its thresholds (min and/or max)."""

    name: MetricName
    min: float | None = None
    max: float | None = None
    average: Literal["binary", "macro", "weighted"] | None = Field(
        None, description="For precision, recall and f1: default binary for binary tasks, else macro."
    )

    @model_validator(mode="after")
    @cel(CelRule("!has(self.min) || !has(self.max) || self.min <= self.max", "min must not exceed max"))
    def _ordered(self) -> MetricSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            f"!has(self.average) || self.name in {quoted(AVERAGED_METRICS)}",
            "average is for precision, recall and f1",
            ".average",
        )
    )
    def _averaged(self) -> MetricSpec:
        if self.average is not None and self.name not in AVERAGED_METRICS:
            # said rather than ignored: a user who wrote it expects it to change the figure
            raise ValueError(f"average is for precision, recall and f1: {self.name} takes none")
        return self

    @model_validator(mode="after")
    @cel(*_range_rules())
    def _in_range(self) -> MetricSpec:
        low, high = METRIC_RANGES[self.name]
        for bound, value in (("min", self.min), ("max", self.max)):
            if value is not None and ((low is not None and value < low) or (high is not None and value > high)):
                raise ValueError(f"{self.name} lies in {describe_range(low, high)}: {bound} {value:g} is outside it")
        return self
