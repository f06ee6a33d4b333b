"""The ModelMonitor: the model, its schedule, its data, what to check, where, and what to do about it.

One pydantic model, the single source of truth: the CLI validates spec files with it, the
operator parses resources with it (``modelmonitor.api.parsing``), and ``modelmonitor.crd``
generates the CRD's schema, with the CEL rules each validator declares, from it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modelmonitor.api.base import Name, SpecModel
from modelmonitor.api.cel import CelRule, cel
from modelmonitor.api.concept_drift import (
    CLASSIFICATION_ONLY_METHODS,
    CONCEPT_DRIFT_METHODS,
    Baseline,
    ConceptDriftSpec,
)
from modelmonitor.api.data import LOG_KINDS, DataSpec, with_namespace
from modelmonitor.api.data_quality import DataQualityRule
from modelmonitor.api.drift import DriftSpec
from modelmonitor.api.estimation import PerformanceEstimationSpec
from modelmonitor.api.export import ExportSpec
from modelmonitor.api.fairness import LABELED_FAIRNESS_METRICS, FairnessSpec
from modelmonitor.api.metrics import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    SCORE_METRICS,
    MetricName,
    MetricSpec,
)
from modelmonitor.api.model import ModelRef, Task
from modelmonitor.api.retraining import Actions, RetrainSpec
from modelmonitor.api.runner import Credentials, DaskRef, JobTemplate, Runner
from modelmonitor.api.schedule import Schedule
from modelmonitor.api.segments import (
    MAX_SEGMENTS_FIELD,
    SEGMENT_ALPHA_FIELD,
    SEGMENTS_FIELD,
    SegmentSpec,
    named_once,
)
from modelmonitor.api.vocabulary import listed, quoted

API_GROUP = "modelmonitor.io"
API_VERSION = "v1alpha1"
KIND = "ModelMonitor"


_REGRESSION, _SCORED = quoted(REGRESSION_METRICS), quoted(SCORE_METRICS)
_NO_METRICS = "!has(self.metrics)"
_NO_CONCEPT_DRIFT = "(!has(self.conceptDrift) || size(self.conceptDrift) == 0)"


def _has_column(name: str) -> str:
    return f"has(self.data.columns) && has(self.data.columns.{name})"


_REFERENCE_ARTIFACT = "(has(self.model.mlflow) && has(self.model.mlflow.referenceArtifact))"
_ONE_REFERENCE = "name the reference data once: data.reference, or model.mlflow.referenceArtifact"

# data.columns.label is named, or data.labels names it (their labelColumn, or their kind's)
_LABEL_NAMED = f"({_has_column('label')} || has(self.data.labels))"
_FRESHNESS_COLUMN = "a freshness rule needs its column, or data.columns.timestamp"
_FAIR_TASK = "fairness needs a classification task"
_SEGMENT_METRICS = "segments judge the monitor's metrics in each segment: set metrics"
_FAIR_OUTCOME = "fairness on a multiclassClassification task needs fairness.favorableOutcome"
_FAIR_LABELS = f"fairness metrics {listed(sorted(LABELED_FAIRNESS_METRICS))} need data.columns.label"


class ModelMonitorSpec(SpecModel):
    model: ModelRef
    schedule: Schedule
    data: DataSpec
    metrics: list[MetricSpec] = Field(default_factory=list, max_length=100)
    drift: DriftSpec | None = None
    concept_drift: list[ConceptDriftSpec] = Field(default_factory=list, max_length=20)
    performance_estimation: PerformanceEstimationSpec | None = None
    data_quality: list[DataQualityRule] = Field(
        default_factory=list,
        max_length=100,
        description="Rules the current window's data must keep, apart from drift: schema, missing, range, "
        "allowedValues, unique, freshness (docs/checks.md).",
    )
    fairness: FairnessSpec | None = Field(
        None, description="Whether the model treats a protected group as the privileged one (docs/checks.md)."
    )
    segments: list[SegmentSpec] = SEGMENTS_FIELD
    max_segments: int = MAX_SEGMENTS_FIELD
    segment_alpha: float = SEGMENT_ALPHA_FIELD
    suspend: bool = Field(False, description="Stop new runs; a run under way finishes.")
    runner: Runner = Field(
        Runner.AUTO,
        description="inline: in the operator; job: a Kubernetes Job; auto: inline while the data is small; "
        "dask: the drift work on a Dask cluster's workers (spec.dask, or the operator's --dask-scheduler).",
    )
    dask: DaskRef | None = None
    job_template: JobTemplate | None = None
    credentials: Credentials | None = None
    actions: Actions | None = None
    export: ExportSpec | None = Field(None, description="Each run's results written in other tools' formats too.")
    successful_runs_history_limit: int = Field(10, ge=0, le=1000)
    failed_runs_history_limit: int = Field(5, ge=0, le=1000)

    @property
    def retrain(self) -> RetrainSpec | None:
        """spec.actions.retrain, when the monitor retrains at all."""
        return self.actions.retrain if self.actions is not None else None

    def metric_problem(self, metric: MetricName) -> str | None:
        """Why ``metric`` cannot be computed for this monitor's task and columns, or None when it can."""
        task = self.model.task
        if task is Task.REGRESSION and metric in CLASSIFICATION_METRICS:
            return "needs a classification task"
        if task is not Task.REGRESSION and metric in REGRESSION_METRICS:
            return "needs a regression task"
        if metric in SCORE_METRICS and not self.data.columns.score:
            return "needs data.columns.score"
        if metric in SCORE_METRICS and task is not Task.BINARY:
            return "needs a binaryClassification task (one positive-class score)"
        return None

    @model_validator(mode="after")
    @cel(
        CelRule(
            f"self.model.task == 'regression' || {_NO_METRICS} || self.metrics.all(m, !(m.name in {_REGRESSION}))",
            f"metrics {_REGRESSION} need task regression",
            ".metrics",
        ),
        CelRule(
            f"self.model.task != 'regression' || {_NO_METRICS} || self.metrics.all(m, m.name in {_REGRESSION})",
            f"a regression task takes only the metrics {listed(sorted(REGRESSION_METRICS))}",
            ".metrics",
        ),
        CelRule(
            f"{_NO_METRICS} || !self.metrics.exists(m, m.name in {_SCORED}) || ({_has_column('score')})",
            f"{listed(sorted(SCORE_METRICS, reverse=True))} need data.columns.score",
            ".metrics",
        ),
        CelRule(
            f"{_NO_METRICS} || !self.metrics.exists(m, m.name in {_SCORED}) || "
            "self.model.task == 'binaryClassification'",
            f"{listed(sorted(SCORE_METRICS, reverse=True))} need task binaryClassification",
            ".metrics",
        ),
        CelRule(
            f"{_NO_METRICS} || self.model.task != 'multiclassClassification' || "
            "self.metrics.all(m, !has(m.average) || m.average != 'binary')",
            "average binary needs a binary task",
            ".metrics",
        ),
    )
    def _metrics_fit_the_task(self) -> ModelMonitorSpec:
        for index, metric in enumerate(self.metrics):
            if problem := self.metric_problem(metric.name):
                raise ValueError(f"metrics[{index}]: {metric.name} {problem}")
            if metric.average == "binary" and self.model.task is Task.MULTICLASS:
                raise ValueError(f"metrics[{index}]: average binary needs a binary task")
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            f"((!has(self.metrics) || size(self.metrics) == 0) && {_NO_CONCEPT_DRIFT}) || {_LABEL_NAMED}",
            "metrics and conceptDrift need data.columns.label",
            ".data.columns",
        )
    )
    def _labels_for_metrics(self) -> ModelMonitorSpec:
        if (self.metrics or self.concept_drift) and not self.data.columns.label:
            raise ValueError("metrics and conceptDrift need data.columns.label")
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.conceptDrift) || self.model.task != 'regression' || "
            f"self.conceptDrift.all(c, {' && '.join(f'c.method != {name!r}' for name in CLASSIFICATION_ONLY_METHODS)})",
            f"{listed(CLASSIFICATION_ONLY_METHODS)} {'needs' if len(CLASSIFICATION_ONLY_METHODS) == 1 else 'need'} "
            "a classification task",
            ".conceptDrift",
        ),
        CelRule(
            "!has(self.conceptDrift) || has(self.data.current.window) || "
            "self.conceptDrift.all(c, !has(c.baseline) || c.baseline != 'previousWindow')",
            "baseline previousWindow needs data.current.window",
            ".conceptDrift",
        ),
    )
    def _concept_drift_fits(self) -> ModelMonitorSpec:
        for index, check in enumerate(self.concept_drift):
            if CONCEPT_DRIFT_METHODS[check.method].classification_only and self.model.task is Task.REGRESSION:
                raise ValueError(f"conceptDrift[{index}]: {check.method} needs a classification task")
            if check.baseline is Baseline.PREVIOUS_WINDOW and not self.data.current.window:
                raise ValueError(f"conceptDrift[{index}]: baseline previousWindow needs data.current.window")
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.dask) || (has(self.runner) && self.runner == 'dask')",
            "spec.dask is for runner dask: set runner: dask, or remove dask",
            ".dask",
        )
    )
    def _dask_for_its_runner(self) -> ModelMonitorSpec:
        if self.dask is not None and self.runner is not Runner.DASK:
            raise ValueError("spec.dask is for runner dask: set runner: dask, or remove dask")
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.data.columns) || !has(self.data.columns.classScores) || "
            "self.model.task == 'multiclassClassification'",
            "data.columns.classScores needs a multiclassClassification task (a binary task uses data.columns.score)",
            ".data.columns.classScores",
        )
    )
    def _class_scores_for_multiclass(self) -> ModelMonitorSpec:
        if self.data.columns.class_scores and self.model.task is not Task.MULTICLASS:
            raise ValueError(
                "data.columns.classScores needs a multiclassClassification task (a binary task uses data.columns.score)"
            )
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.performanceEstimation) || self.model.task != 'regression'",
            "performanceEstimation needs a classification task",
            ".performanceEstimation",
        ),
        CelRule(
            "!has(self.performanceEstimation) || self.model.task != 'binaryClassification' || "
            f"{_has_column('score')} && {_LABEL_NAMED}",
            "performanceEstimation needs data.columns.score and data.columns.label",
            ".performanceEstimation",
        ),
        CelRule(
            "!has(self.performanceEstimation) || self.model.task != 'multiclassClassification' || "
            f"{_has_column('classScores')} && {_LABEL_NAMED}",
            "performanceEstimation on a multiclassClassification task needs data.columns.classScores "
            "(one score column per class) and data.columns.label",
            ".performanceEstimation",
        ),
    )
    def _estimation_has_its_columns(self) -> ModelMonitorSpec:
        if self.performance_estimation is None:
            return self
        task, columns = self.model.task, self.data.columns
        if task is Task.REGRESSION:
            raise ValueError("performanceEstimation needs a classification task")
        if task is Task.BINARY and not (columns.score and columns.label):
            raise ValueError("performanceEstimation needs data.columns.score and data.columns.label")
        if task is Task.MULTICLASS and not (columns.class_scores and columns.label):
            raise ValueError(
                "performanceEstimation on a multiclassClassification task needs data.columns.classScores "
                "(one score column per class) and data.columns.label"
            )
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            # an inference log's time column is ts unless named (DataSpec fills it in)
            " || ".join(
                [
                    f"(!has(self.data.current.window) && {_NO_CONCEPT_DRIFT})",
                    *(f"has(self.data.current.{kind})" for kind in LOG_KINDS),
                    f"({_has_column('timestamp')})",
                ]
            ),
            "data.current.window and conceptDrift need data.columns.timestamp",
            ".data.columns",
        )
    )
    def _timestamps_for_windows(self) -> ModelMonitorSpec:
        if (self.data.current.window or self.concept_drift) and not self.data.columns.timestamp:
            raise ValueError("data.current.window and conceptDrift need data.columns.timestamp")
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            " || ".join(
                [
                    "!has(self.dataQuality)",
                    "self.dataQuality.all(r, !has(r.freshness) || has(r.freshness.column))",
                    *(f"has(self.data.current.{kind})" for kind in LOG_KINDS),
                    f"({_has_column('timestamp')})",
                ]
            ),
            _FRESHNESS_COLUMN,
            ".dataQuality",
        )
    )
    def _a_time_to_be_fresh_by(self) -> ModelMonitorSpec:
        unnamed = [r for r in self.data_quality if r.freshness is not None and r.freshness.column is None]
        if unnamed and not self.data.columns.timestamp:
            raise ValueError(_FRESHNESS_COLUMN)
        return self

    @field_validator("segments")
    @classmethod
    def _segments_named_once(cls, segments: list[SegmentSpec]) -> list[SegmentSpec]:
        return named_once(segments)

    @model_validator(mode="after")
    @cel(CelRule(f"!has(self.segments) || size(self.segments) == 0 || !{_NO_METRICS}", _SEGMENT_METRICS, ".segments"))
    def _segments_have_metrics(self) -> ModelMonitorSpec:
        if self.segments and not self.metrics:
            raise ValueError(_SEGMENT_METRICS)
        return self

    @model_validator(mode="after")
    @cel(
        CelRule("!has(self.fairness) || self.model.task != 'regression'", _FAIR_TASK, ".fairness"),
        CelRule(
            "!has(self.fairness) || self.model.task != 'multiclassClassification' || "
            "has(self.fairness.favorableOutcome)",
            _FAIR_OUTCOME,
            ".fairness",
        ),
        CelRule(
            f"!has(self.fairness) || !self.fairness.metrics.exists(m, m.name in {quoted(LABELED_FAIRNESS_METRICS)}) "
            f"|| {_LABEL_NAMED}",
            _FAIR_LABELS,
            ".fairness",
        ),
    )
    def _fairness_fits(self) -> ModelMonitorSpec:
        fairness, task = self.fairness, self.model.task
        if fairness is None:
            return self
        for fits, problem in (
            (task is not Task.REGRESSION, _FAIR_TASK),
            (task is not Task.MULTICLASS or fairness.favorable_outcome is not None, _FAIR_OUTCOME),
            (not fairness.needs_labels or bool(self.data.columns.label), _FAIR_LABELS),
        ):
            if not fits:
                raise ValueError(problem)
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            f"has(self.data.reference) != {_REFERENCE_ARTIFACT}",
            _ONE_REFERENCE,
            ".data",
        )
    )
    def _one_reference(self) -> ModelMonitorSpec:
        artifact = self.model.mlflow is not None and self.model.mlflow.reference_artifact is not None
        if (self.data.reference is not None) == artifact:
            raise ValueError(_ONE_REFERENCE)
        return self


class ObjectMeta(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: Name
    namespace: str | None = None


class ModelMonitor(BaseModel):
    """A whole ModelMonitor document, as kubectl applies it."""

    model_config = ConfigDict(extra="allow")
    api_version: Literal["modelmonitor.io/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["ModelMonitor"]
    metadata: ObjectMeta
    spec: ModelMonitorSpec

    @model_validator(mode="before")
    @classmethod
    def _sources_in_its_namespace(cls, document: Any) -> Any:
        """A kserve source without a namespace reads the monitor's, "default" if unset, as kubectl applies it."""
        if not (isinstance(document, dict) and isinstance(document.get("metadata"), dict) and "spec" in document):
            return document
        namespace = document["metadata"].get("namespace") or "default"
        return {**document, "spec": with_namespace(document["spec"], namespace)}
