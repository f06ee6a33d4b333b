"""A model's versions in a registry (MLflow): which version is monitored, and where its reference data is."""

from __future__ import annotations

from pydantic import Field, model_validator

from modelmonitor.api.base import Name, SpecModel
from modelmonitor.api.cel import CelRule, cel
from modelmonitor.api.data import DataFormat


class MlflowModel(SpecModel):
    """A registered model in MLflow: the version an alias names is resolved at each run and recorded."""

    tracking_uri: str = Field(
        pattern=r"^https?://\S+$",
        max_length=1024,
        description="The MLflow server (its REST API), e.g. http://mlflow.mlflow:5000. Credentials, if it needs "
        "any, come from spec.credentials: MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and "
        "MLFLOW_TRACKING_PASSWORD.",
    )
    name: Name = Field(description="The registered model's name.")
    alias: str | None = Field(
        None,
        min_length=1,
        max_length=255,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The alias whose version is monitored (e.g. champion), resolved at each run.",
    )
    version: str | None = Field(None, pattern=r"^[0-9]{1,18}$", description="A fixed version instead of an alias.")
    reference_artifact: str | None = Field(
        None,
        min_length=1,
        max_length=1024,
        pattern=r"^[^/\s][^\s]*$",
        description="A path among the artifacts of the run that made the version (e.g. data/validation.parquet): "
        "the reference data, instead of data.reference, so a new version brings its own reference.",
    )
    reference_format: DataFormat = Field(DataFormat.PARQUET, description="The reference artifact's format.")
    log_runs: bool = Field(
        True,
        description="Log each run's metrics, drift and concept-drift statistics as an MLflow run of the experiment "
        "modelmonitor/NAMESPACE/MONITOR, tagged with the version and the verdict.",
    )

    @model_validator(mode="after")
    @cel(CelRule("has(self.alias) != has(self.version)", "name an alias or a version: one of them"))
    def _alias_or_version(self) -> MlflowModel:
        if (self.alias is None) == (self.version is None):
            raise ValueError("name an alias or a version: one of them")
        return self

    def pinned(self, version: str) -> MlflowModel:
        """The same model at a version resolved now: what a run's processes all read, even if the alias moves."""
        return self.model_copy(update={"alias": None, "version": version})
