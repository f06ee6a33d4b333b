"""The concept-drift methods: what each one reads, and what it needs of the task.

One table, ``CONCEPT_DRIFT_METHODS``: the spec's ``ConceptDriftMethod`` (and so the CRD's
enum), the spec's checks against the task, the CRD's rules, and which rows the checks gather
are read from it.  The detectors themselves live in ``modelmonitor.engine.concept``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from modelmonitor.api.base import SpecModel
from modelmonitor.api.cel import CelRule, cel
from modelmonitor.api.metrics import MetricName
from modelmonitor.api.vocabulary import listed, vocabulary


@dataclass(frozen=True)
class ConceptDriftDefinition:
    """One method's facts.

    ``windowed``: it compares a metric over the window with a baseline (and takes ``metric``,
    ``alpha`` and ``baseline``); otherwise it is a sequential detector that reads each labelled
    row's error in time order, and takes no settings.  ``classification_only``: its errors
    must be 0 or 1 (a prediction right or wrong).
    """

    windowed: bool = False
    classification_only: bool = False


CONCEPT_DRIFT_METHODS_BY_NAME: dict[str, ConceptDriftDefinition] = {
    "performanceWindow": ConceptDriftDefinition(windowed=True),
    "ddm": ConceptDriftDefinition(classification_only=True),  # Gama et al. (2004): a Bernoulli error rate
    "pageHinkley": ConceptDriftDefinition(),
    "adwin": ConceptDriftDefinition(),
}

ConceptDriftMethod = vocabulary("ConceptDriftMethod", CONCEPT_DRIFT_METHODS_BY_NAME, module=__name__)
CONCEPT_DRIFT_METHODS: dict[ConceptDriftMethod, ConceptDriftDefinition] = {
    ConceptDriftMethod(name): facts for name, facts in CONCEPT_DRIFT_METHODS_BY_NAME.items()
}

WINDOWED_METHODS = [str(name) for name, facts in CONCEPT_DRIFT_METHODS.items() if facts.windowed]
CLASSIFICATION_ONLY_METHODS = [str(name) for name, facts in CONCEPT_DRIFT_METHODS.items() if facts.classification_only]


class Baseline(StrEnum):
    REFERENCE = "reference"
    PREVIOUS_WINDOW = "previousWindow"


# The settings only the windowed methods read, and their defaults: a sequential detector takes them at these
WINDOW_SETTINGS: dict[str, Any] = {"metric": None, "alpha": 0.05, "baseline": Baseline.REFERENCE}


def _window_settings_rule() -> CelRule:
    """CEL: a windowed method, or each window setting absent or at its default (the model judges by value)."""
    unchanged = [
        f"!has(self.{name})" if default is None else f"(!has(self.{name}) || self.{name} == {_cel_value(default)})"
        for name, default in WINDOW_SETTINGS.items()
    ]
    return CelRule(
        " || ".join([*(f"self.method == '{name}'" for name in WINDOWED_METHODS), f"({' && '.join(unchanged)})"]),
        f"{listed(list(WINDOW_SETTINGS))} are for {listed(WINDOWED_METHODS)} only",
    )


def _cel_value(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


class ConceptDriftSpec(SpecModel):
    method: ConceptDriftMethod
    metric: MetricName | None = Field(
        WINDOW_SETTINGS["metric"], description="performanceWindow: the metric compared (default accuracy or mae)."
    )
    alpha: float = Field(
        WINDOW_SETTINGS["alpha"], gt=0, lt=1, description="performanceWindow: the test's significance level."
    )
    baseline: Baseline = Field(
        WINDOW_SETTINGS["baseline"], description="performanceWindow: what the window is compared with."
    )

    @model_validator(mode="after")
    @cel(_window_settings_rule())
    def _fits_method(self) -> ConceptDriftSpec:
        # the sequential detectors have settings of their own: another value here would be silently ignored.
        # Judged by value, not by presence: a spec dumped whole and parsed again (as Dask workers do) has them all
        given = [name for name, default in WINDOW_SETTINGS.items() if getattr(self, name) != default]
        if given and not CONCEPT_DRIFT_METHODS[self.method].windowed:
            raise ValueError(
                f"{listed(given)} {'is' if len(given) == 1 else 'are'} for {listed(WINDOWED_METHODS)} only: "
                f"{self.method} takes none"
            )
        return self
