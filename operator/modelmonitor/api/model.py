"""The model a monitor watches: its name, version, task, and where a registry keeps it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from modelmonitor.api.base import Name, SpecModel
from modelmonitor.api.cel import CelRule, cel
from modelmonitor.api.registry import MlflowModel


class Task(StrEnum):
    BINARY = "binaryClassification"
    MULTICLASS = "multiclassClassification"
    REGRESSION = "regression"


class ModelRef(SpecModel):
    """The model being monitored."""

    name: Name
    version: str | None = Field(None, max_length=128)
    task: Task
    positive_label: str | None = Field(
        None,
        max_length=253,
        description="Binary tasks: the positive class, compared as text; default 1 (or true) "
        "when present, else the greater of the two classes.",
    )

    mlflow: MlflowModel | None = Field(
        None,
        description="The model's versions in an MLflow registry: the version (by alias) is resolved at each run and "
        "recorded, and each run is logged to MLflow.",
    )

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.positiveLabel) || self.task == 'binaryClassification'",
            "positiveLabel is for binaryClassification",
            ".positiveLabel",
        )
    )
    def _positive_for_binary(self) -> ModelRef:
        if self.positive_label is not None and self.task is not Task.BINARY:
            raise ValueError(f"positiveLabel is for binaryClassification: a {self.task} task has no positive class")
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.mlflow) || !has(self.version) || "
            "(has(self.mlflow.version) && self.mlflow.version == self.version)",
            "with mlflow, the registry gives the version: remove version (or name the same one in mlflow.version)",
            ".version",
        )
    )
    def _version_from_the_registry(self) -> ModelRef:
        if self.mlflow is not None and self.version is not None and self.mlflow.version != self.version:
            raise ValueError(
                "with mlflow, the registry gives the version: remove version (or name the same one in mlflow.version)"
            )
        return self

    def pinned(self, version: str) -> ModelRef:
        """The model at the registry's version resolved for one run."""
        assert self.mlflow is not None
        return self.model_copy(update={"version": version, "mlflow": self.mlflow.pinned(version)})
