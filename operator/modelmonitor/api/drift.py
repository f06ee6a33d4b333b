"""A monitor's data-drift checks: the methods, their thresholds, and the correction across features."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator

from modelmonitor.api.base import Name, SpecModel
from modelmonitor.api.documents import camel
from modelmonitor.api.vocabulary import module_names, vocabulary

# One member per module of engine/drift_methods, named by it: adding a method there adds it here and to the CRD
DriftMethod = vocabulary(
    "DriftMethod",
    sorted(module_names("modelmonitor.engine.drift_methods"), key=lambda name: (name != "auto", name)),
    module=__name__,
)


# One member per module of engine/multivariate_methods, named as the spec names it (pca_reconstruction.py)
MultivariateMethod = vocabulary(
    "MultivariateMethod",
    sorted(camel(name) for name in module_names("modelmonitor.engine.multivariate_methods")),
    module=__name__,
)


class MultivariateDriftSpec(SpecModel):
    """Drift in how the features relate to each other (docs/checks.md), judged on a row sample of each side."""

    methods: list[MultivariateMethod] = Field(
        min_length=1,
        max_length=len(MultivariateMethod),
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    alpha: float = Field(0.05, gt=0, lt=1, description="The level of each method's test.")
    variance_explained: float = Field(
        0.65, gt=0, lt=1, description="pcaReconstruction: the share of the reference's variance the components keep."
    )
    sample_rows: int = Field(
        50_000,
        ge=1000,
        le=1_000_000,
        description="Rows drawn at random from each side for the methods: their time and memory are bounded by it.",
    )

    @field_validator("methods")
    @classmethod
    def _each_once(cls, methods: list[MultivariateMethod]) -> list[MultivariateMethod]:
        if len(set(methods)) != len(methods):
            raise ValueError("each method once")  # the CRD: a set
        return methods


class Correction(StrEnum):
    NONE = "none"
    BONFERRONI = "bonferroni"
    FDR = "fdr"


class FeatureDrift(SpecModel):
    name: Name
    method: DriftMethod = DriftMethod.AUTO
    threshold: float | None = Field(None, gt=0)


class DriftSpec(SpecModel):
    """Data-drift checks: a default method for all features, with per-feature overrides."""

    method: DriftMethod = DriftMethod.AUTO
    threshold: float | None = Field(
        None, gt=0, description="A p-value or a distance, by method; omitted: the method's default."
    )
    dataset_drift_share: float = Field(0.5, gt=0, le=1)
    correction: Correction = Field(
        Correction.FDR, description="Multiple-testing correction across the features' p-values."
    )
    features: list[FeatureDrift] = Field(
        default_factory=list,
        max_length=10000,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    multivariate: MultivariateDriftSpec | None = None
    exact_max_rows: int = Field(
        20_000_000,
        ge=1000,
        description="Numerical columns with more rows than this (in either data set) are streamed into "
        "10,000 quantile bins instead of sorted in memory; results say approximate, and how close.",
    )

    @field_validator("features")
    @classmethod
    def _unique_features(cls, features: list[FeatureDrift]) -> list[FeatureDrift]:
        # the CRD: the list's map key
        names = [feature.name for feature in features]
        if duplicated := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"features named more than once: {', '.join(duplicated)}")
        return features
