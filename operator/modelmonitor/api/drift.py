"""A monitor's data-drift checks: the methods, their thresholds, and the correction across features."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator

from modelmonitor.api.base import Name, SpecModel
from modelmonitor.api.vocabulary import module_names, vocabulary

# One member per module of engine/drift_methods, named by it: adding a method there adds it here and to the CRD
DriftMethod = vocabulary(
    "DriftMethod",
    sorted(module_names("modelmonitor.engine.drift_methods"), key=lambda name: (name != "auto", name)),
    module=__name__,
)


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
