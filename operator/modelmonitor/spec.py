"""The ModelMonitor spec: one pydantic model, the single source of truth.

The CLI validates spec files with it, the operator validates resources with it, and
``modelmonitor.crd`` generates the CRD's OpenAPI schema from it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from modelmonitor.api.concept_drift import CONCEPT_DRIFT_METHODS, ConceptDriftMethod
from modelmonitor.api.metrics import (
    AVERAGED_METRICS,
    CLASSIFICATION_METRICS,
    METRIC_RANGES,
    REGRESSION_METRICS,
    SCORE_METRICS,
    MetricName,
)
from modelmonitor.api.vocabulary import module_names, vocabulary
from modelmonitor.durations import DURATION_PATTERN, parse_duration
from modelmonitor.errors import SpecError
from modelmonitor.yaml_input import YAMLBoundError, load_all_bounded

API_GROUP = "modelmonitor.io"
API_VERSION = "v1alpha1"
KIND = "ModelMonitor"


def _bounded_duration(text: str) -> str:
    parse_duration(text)  # at most ten years, as the CRD's rule on every duration
    return text


Duration = Annotated[
    str,
    Field(pattern=DURATION_PATTERN, max_length=64, examples=["1h", "30m", "168h"]),
    AfterValidator(_bounded_duration),
]
Name = Annotated[str, Field(min_length=1, max_length=253)]


class SpecModel(BaseModel):
    """The base of every spec model: camelCase names, unknown fields refused, values frozen."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class Task(StrEnum):
    BINARY = "binaryClassification"
    MULTICLASS = "multiclassClassification"
    REGRESSION = "regression"


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


class DataFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"
    JSONL = "jsonl"


class Baseline(StrEnum):
    REFERENCE = "reference"
    PREVIOUS_WINDOW = "previousWindow"


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

    @model_validator(mode="after")
    def _positive_for_binary(self) -> ModelRef:
        if self.positive_label is not None and self.task is not Task.BINARY:
            raise ValueError(f"positiveLabel is for binaryClassification: a {self.task} task has no positive class")
        return self


class Schedule(SpecModel):
    """When checks run: exactly one of ``interval`` (at least 1m) or ``cron``."""

    interval: Duration | None = None
    cron: str | None = Field(None, min_length=9, max_length=128, examples=["0 * * * *"])
    spread: bool = Field(
        False,
        description="Interval only: shift this monitor's slots by a stable offset within the interval (from its "
        "namespace and name) instead of starting on the epoch-aligned boundary, so that a fleet on one interval "
        "spreads its runs over it instead of starting them all at once.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Schedule:
        if (self.interval is None) == (self.cron is None):
            raise ValueError("set exactly one of interval or cron")
        if self.spread and self.interval is None:
            raise ValueError("spread needs an interval: a cron expression says itself when to run")
        if self.interval is not None and parse_duration(self.interval).total_seconds() < 60:
            raise ValueError("interval must be at least 1m")
        if self.cron is not None:
            _check_cron(self.cron)
        return self


def _cron_field(number: str) -> str:
    """One cron field: ``*``, a value or a range, with an optional step, or a list of them."""
    item = rf"(?:\*|(?:{number})(?:-(?:{number}))?)(?:/[1-9][0-9]*)?"
    return rf"{item}(?:,{item})*"


def _names(names: str) -> str:
    return f"{names}|{names.upper()}"


# The one cron grammar of both gates, the model and the CRD (a CEL rule): an expression the schedule's
# croniter would refuse, or read differently, is refused by both alike.
CRON_PATTERN = (
    "^"
    + " ".join(
        _cron_field(number)
        for number in (
            "[0-5]?[0-9]",
            "[01]?[0-9]|2[0-3]",
            "0?[1-9]|[12][0-9]|3[01]",
            "0?[1-9]|1[0-2]|" + _names("jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"),
            "[0-7]|" + _names("sun|mon|tue|wed|thu|fri|sat"),
        )
    )
    + "$"
)
CRON_RULE = (
    "five fields separated by one space: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or jan-dec) "
    "and day of week (0-7 or sun-sat), each *, a value or a range, with an optional /step, or a list; e.g. '0 * * * *'"
)


def _check_cron(expression: str) -> None:
    if re.fullmatch(CRON_PATTERN, expression) is None:
        raise ValueError(f"invalid cron expression {expression!r}: {CRON_RULE}")


class DataSource(SpecModel):
    """Where a data set lives: a local path, file://, s3://, gs:// or http(s):// URI."""

    uri: str = Field(min_length=1, max_length=2048)
    format: DataFormat = DataFormat.PARQUET
    window: Duration | None = Field(None, description="Only rows with timestamp in (now - window, now].")

    @field_validator("window")
    @classmethod
    def _positive_window(cls, window: str | None) -> str | None:
        if window is not None and parse_duration(window) <= timedelta(0):
            raise ValueError(f"window {window!r} holds no rows: use a positive duration such as 24h")
        return window


class ClassScore(SpecModel):
    """The column holding a multiclass model's score (probability) for one class."""

    label: str = Field(min_length=1, max_length=253, description="The class, as it appears in labels and predictions.")
    column: Name


class Columns(SpecModel):
    """Which columns hold what; features default to every column not named here."""

    timestamp: str | None = None
    prediction: str = "prediction"
    label: str | None = None
    score: str | None = None
    class_scores: list[ClassScore] | None = Field(
        None,
        min_length=2,
        max_length=250,  # the CRD checks columns pairwise: more would exceed the API server's CEL cost budget
        description="Multiclass tasks: one score column per class (binary tasks use score).",
    )
    model_version: str | None = None
    features: list[Name] | None = Field(None, max_length=10000)
    categorical: list[Name] | None = Field(None, max_length=10000)

    @field_validator("class_scores")
    @classmethod
    def _one_column_per_class(cls, class_scores: list[ClassScore] | None) -> list[ClassScore] | None:
        for field in ("label", "column"):
            values = [getattr(entry, field) for entry in class_scores or []]
            if repeated := sorted({value for value in values if values.count(value) > 1}):
                raise ValueError(f"each class has one score column: {field} {repeated[0]!r} appears twice")
        return class_scores

    def named(self) -> set[str]:
        scores = {entry.column for entry in self.class_scores or []}
        return scores | {
            column for column in (self.timestamp, self.prediction, self.label, self.score, self.model_version) if column
        }


class DataSpec(SpecModel):
    current: DataSource
    reference: DataSource
    columns: Columns = Columns()
    min_samples: int = Field(100, ge=1, le=1_000_000_000)
    max_gathered_rows: int = Field(
        10_000_000,
        ge=1_000,
        le=1_000_000_000,
        description="Score metrics (rocAuc, logLoss), regression metrics and the sequential concept-drift detectors "
        "need single labeled rows in the process that runs the check (about 32 bytes each, and ddm 80 more while "
        "it runs); above this many labeled rows a side they use a uniform random sample of this many, reported in "
        "dataQuality. Label metrics always count every row.",
    )


def listed(names: Sequence[str]) -> str:
    """Names as a sentence lists them: "a", "a and b", "a, b and c"."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def describe_range(low: float | None, high: float | None) -> str:
    return f"[{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]"


class MetricSpec(SpecModel):
    """A performance metric and its thresholds (min and/or max)."""

    name: MetricName
    min: float | None = None
    max: float | None = None
    average: Literal["binary", "macro", "weighted"] | None = Field(
        None, description="For precision, recall and f1: default binary for binary tasks, else macro."
    )

    @model_validator(mode="after")
    def _bounds(self) -> MetricSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        if self.average is not None and self.name not in AVERAGED_METRICS:
            # said rather than ignored: a user who wrote it expects it to change the figure
            raise ValueError(f"average is for precision, recall and f1: {self.name} takes none")
        low, high = METRIC_RANGES[self.name]
        for bound, value in (("min", self.min), ("max", self.max)):
            if value is not None and ((low is not None and value < low) or (high is not None and value > high)):
                raise ValueError(f"{self.name} lies in {describe_range(low, high)}: {bound} {value:g} is outside it")
        return self


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
    features: list[FeatureDrift] = Field(default_factory=list, max_length=10000)
    exact_max_rows: int = Field(
        20_000_000,
        ge=1000,
        description="Numerical columns with more rows than this (in either data set) are streamed into "
        "10,000 quantile bins instead of sorted in memory; results say approximate, and how close.",
    )

    @field_validator("features")
    @classmethod
    def _unique_features(cls, features: list[FeatureDrift]) -> list[FeatureDrift]:
        names = [feature.name for feature in features]
        if duplicated := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"features named more than once: {', '.join(duplicated)}")
        return features


WINDOW_ONLY = ("metric", "alpha", "baseline")  # conceptDrift fields that only the windowed methods read
WINDOWED_METHODS = [str(name) for name, facts in CONCEPT_DRIFT_METHODS.items() if facts.windowed]


class ConceptDriftSpec(SpecModel):
    method: ConceptDriftMethod
    metric: MetricName | None = Field(
        None, description="performanceWindow: the metric compared (default accuracy or mae)."
    )
    alpha: float = Field(0.05, gt=0, lt=1, description="performanceWindow: the test's significance level.")
    baseline: Baseline = Field(Baseline.REFERENCE, description="performanceWindow: what the window is compared with.")

    @model_validator(mode="after")
    def _fits_method(self) -> ConceptDriftSpec:
        # the sequential detectors have settings of their own: another value here would be silently ignored.
        # Judged by value, not by presence: a spec dumped whole and parsed again (as Dask workers do) has them all
        fields = type(self).model_fields
        given = [name for name in WINDOW_ONLY if getattr(self, name) != fields[name].default]
        if given and not CONCEPT_DRIFT_METHODS[self.method].windowed:
            raise ValueError(
                f"{listed(given)} {'is' if len(given) == 1 else 'are'} for {listed(WINDOWED_METHODS)} only: "
                f"{self.method} takes none"
            )
        return self


class EstimationMethod(StrEnum):
    CBPE = "cbpe"


class PerformanceEstimationSpec(SpecModel):
    """Metrics estimated on the window's rows whose labels have not arrived yet, from calibrated scores."""

    method: EstimationMethod = Field(description="cbpe: confidence-based performance estimation (as NannyML's).")
    confidence: float = Field(0.95, ge=0.5, le=0.999, description="The estimates' interval: its coverage.")
    max_calibration_error: float = Field(
        0.05,
        gt=0,
        le=1,
        description="Refuse to estimate (Inconclusive) when the calibrated scores' expected calibration error on "
        "held-out reference rows exceeds this.",
    )


class Runner(StrEnum):
    AUTO = "auto"
    INLINE = "inline"
    JOB = "job"
    DASK = "dask"


_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class DaskRef(SpecModel):
    """The Dask cluster whose workers run a monitor's drift work (runner dask): its address, or its name."""

    address: str | None = Field(
        None,
        max_length=253,
        pattern=r"^(tcp|tls)://[^\s/:]+:[0-9]{1,5}$",
        description="The scheduler, e.g. tcp://analytics-scheduler.dask.svc:8786.",
        examples=["tcp://analytics-scheduler.dask.svc:8786"],
    )
    cluster: str | None = Field(
        None,
        max_length=53,  # its scheduler Service, {cluster}-scheduler, is a 63-character DNS label at most
        pattern=_DNS_LABEL,
        description=(
            "The name of a dask-kubernetes DaskCluster (kubernetes.dask.org/v1): at each run the operator "
            "resolves its scheduler Service, {cluster}-scheduler, port tcp-comm."
        ),
        examples=["analytics"],
    )
    cluster_namespace: str | None = Field(
        None,
        max_length=63,
        pattern=_DNS_LABEL,
        description="The DaskCluster's namespace (default: the monitor's).",
    )

    @model_validator(mode="after")
    def _one_way_to_the_scheduler(self) -> DaskRef:
        if (self.address is None) == (self.cluster is None):
            raise ValueError("set exactly one of address or cluster")
        if self.cluster_namespace is not None and self.cluster is None:
            raise ValueError("clusterNamespace is for cluster: name the DaskCluster, or remove clusterNamespace")
        return self


class Resources(SpecModel):
    limits: dict[str, str] | None = None
    requests: dict[str, str] | None = None


class LocalObjectReference(SpecModel):
    name: Name


class JobTemplate(SpecModel):
    """Overrides for the Job of the ``job`` runner."""

    resources: Resources | None = None
    node_selector: dict[str, str] | None = None
    tolerations: list[dict[str, Any]] | None = Field(None, max_length=50)
    service_account_name: str | None = Field(
        None, max_length=253, description="Default: the per-monitor service account the operator manages."
    )
    image_pull_secrets: list[LocalObjectReference] | None = Field(None, max_length=20)
    active_deadline_seconds: int = Field(3600, ge=1, le=604800)
    security_context: dict[str, Any] | None = Field(
        None,
        description="Replaces the check container's securityContext (default: no privilege escalation, read-only "
        "root filesystem, no capabilities).",
    )
    pod_security_context: dict[str, Any] | None = Field(
        None, description="Replaces the pod's securityContext (default: non-root user 65532, seccomp RuntimeDefault)."
    )


class Credentials(SpecModel):
    """A Secret in the monitor's namespace whose keys become environment variables for data access."""

    secret_ref: LocalObjectReference


class RetrainTrigger(StrEnum):
    PERFORMANCE_DEGRADED = "PerformanceDegraded"
    DATA_DRIFT = "DataDrift"
    CONCEPT_DRIFT = "ConceptDrift"


class _KubernetesFields(BaseModel):
    """Part of a Kubernetes object, fields named as Kubernetes names them; unknown ones pass through."""

    model_config = ConfigDict(extra="allow", frozen=True)


class TemplateMetadata(BaseModel):
    """Labels and annotations for the created object; its name and namespace are the operator's to set."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class PodSpecFields(_KubernetesFields):
    containers: list[dict[str, Any]] = Field(min_length=1, max_length=20)


class PodTemplateFields(_KubernetesFields):
    metadata: TemplateMetadata | None = None
    spec: PodSpecFields


class JobSpecFields(_KubernetesFields):
    template: PodTemplateFields


class RetrainJobTemplate(_KubernetesFields):
    """A batch/v1 JobTemplateSpec: the Job the operator creates to retrain."""

    metadata: TemplateMetadata | None = None
    spec: JobSpecFields


class ResourceTemplate(_KubernetesFields):
    """Any Kubernetes object to create: an Argo Workflow, a Tekton PipelineRun, a Kubeflow TrainJob ..."""

    api_version: str = Field(
        alias="apiVersion", pattern=r"^([a-z0-9]([a-z0-9.-]*[a-z0-9])?/)?v[0-9]+((alpha|beta)[0-9]+)?$", max_length=253
    )
    kind: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$", max_length=63)
    metadata: TemplateMetadata | None = None


YAML11_ON = "true"  # the key an unquoted ``on:`` becomes in YAML 1.1


class RetrainSpec(SpecModel):
    """Retraining, started when runs find the model degraded, on a schedule, or on request."""

    on: list[RetrainTrigger] = Field(
        default_factory=lambda: [RetrainTrigger.PERFORMANCE_DEGRADED],
        min_length=1,
        max_length=3,
        description="The conditions that call for retraining when True.",
    )
    after: int = Field(1, ge=1, le=1000, description="Consecutive unhealthy runs before acting (debounce).")
    cooldown: Duration | None = Field(
        None, description="No new retraining within this time of the last one's start, whatever its outcome."
    )
    schedule: Schedule | None = Field(None, description="Also retrain regularly, even without a breach.")
    max_concurrent: int = Field(1, ge=1, le=100, description="Never more than this many active per monitor.")
    timeout: Duration = Field(
        "72h", description="An object with no outcome by then is recorded as Unknown and no longer counted as active."
    )
    job_template: RetrainJobTemplate | None = None
    resource_template: ResourceTemplate | None = None

    @model_validator(mode="before")
    @classmethod
    def _unquoted_on(cls, data: Any) -> Any:
        """``on:`` unquoted is the boolean true to YAML 1.1 readers (kubectl, Argo CD, Flux, PyYAML): read it as on."""
        if not isinstance(data, dict):
            return data
        keys = [key for key in data if key is True or key == YAML11_ON]
        if not keys:
            return data
        if "on" in data or len(keys) > 1:
            raise ValueError("on is given twice: once quoted and once unquoted (which YAML 1.1 reads as true)")
        fixed = {key: value for key, value in data.items() if key not in keys}
        fixed["on"] = data[keys[0]]
        return fixed

    @field_validator("on")
    @classmethod
    def _unique_triggers(cls, triggers: list[RetrainTrigger]) -> list[RetrainTrigger]:
        if len(set(triggers)) != len(triggers):
            raise ValueError("each trigger may appear once")
        return triggers

    @model_validator(mode="after")
    def _exactly_one_template(self) -> RetrainSpec:
        if (self.job_template is None) == (self.resource_template is None):
            raise ValueError("set exactly one of jobTemplate or resourceTemplate")
        return self


class Actions(SpecModel):
    """What the operator does about what it finds."""

    retrain: RetrainSpec | None = None


class ModelMonitorSpec(SpecModel):
    model: ModelRef
    schedule: Schedule
    data: DataSpec
    metrics: list[MetricSpec] = Field(default_factory=list, max_length=100)
    drift: DriftSpec | None = None
    concept_drift: list[ConceptDriftSpec] = Field(default_factory=list, max_length=20)
    performance_estimation: PerformanceEstimationSpec | None = None
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
    def _fits_task(self) -> ModelMonitorSpec:
        task = self.model.task
        for index, metric in enumerate(self.metrics):
            if problem := self.metric_problem(metric.name):
                raise ValueError(f"metrics[{index}]: {metric.name} {problem}")
            if metric.average == "binary" and task is Task.MULTICLASS:
                raise ValueError(f"metrics[{index}]: average binary needs a binary task")
        needs_labels = self.metrics or self.concept_drift
        if needs_labels and not self.data.columns.label:
            raise ValueError("metrics and conceptDrift need data.columns.label")
        for index, check in enumerate(self.concept_drift):
            if CONCEPT_DRIFT_METHODS[check.method].classification_only and task is Task.REGRESSION:
                raise ValueError(f"conceptDrift[{index}]: {check.method} needs a classification task")
            if check.baseline is Baseline.PREVIOUS_WINDOW and not self.data.current.window:
                raise ValueError(f"conceptDrift[{index}]: baseline previousWindow needs data.current.window")
        if self.dask is not None and self.runner is not Runner.DASK:
            raise ValueError("spec.dask is for runner dask: set runner: dask, or remove dask")
        columns = self.data.columns
        if columns.class_scores and task is not Task.MULTICLASS:
            raise ValueError(
                "data.columns.classScores needs a multiclassClassification task (a binary task uses data.columns.score)"
            )
        if self.performance_estimation is not None:
            if task is Task.REGRESSION:
                raise ValueError("performanceEstimation needs a classification task")
            if task is Task.BINARY and not (columns.score and columns.label):
                raise ValueError("performanceEstimation needs data.columns.score and data.columns.label")
            if task is Task.MULTICLASS and not (columns.class_scores and columns.label):
                raise ValueError(
                    "performanceEstimation on a multiclassClassification task needs data.columns.classScores "
                    "(one score column per class) and data.columns.label"
                )
        if (self.data.current.window or self.concept_drift) and not self.data.columns.timestamp:
            raise ValueError("data.current.window and conceptDrift need data.columns.timestamp")
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


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def format_validation_error(error: ValidationError, prefix: str = "") -> str:
    """One line per problem: ``spec.schedule: set exactly one of interval or cron``."""
    lines = []
    for problem in error.errors():
        path = _field_path(tuple(problem["loc"]))
        message = problem["msg"].removeprefix("Value error, ")
        where = ".".join(part for part in (prefix, path) if part)
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)


Model = TypeVar("Model", bound=BaseModel)


def validate_as_sent(model: type[Model], document: Any, prefix: str = "") -> Model:
    """Validate the values as the API server sees them: "10" is not a number, nor "yes" a boolean.

    Through JSON in pydantic's strict mode (which, from JSON, takes an enum member by its
    value). Left lax, the model accepted what the CRD refuses. A whole float is an integer
    to the API server (minSamples: 100.0), and YAML's dates and times go as text, as kubectl
    sends them. Raises ValidationError, or SpecError for a value JSON cannot carry.
    """
    try:
        sent = json.dumps(_whole_floats_as_ints(document), default=_as_text)
    except (TypeError, ValueError) as error:
        raise SpecError(f"{prefix or 'document'}: {error}") from None
    return model.model_validate_json(sent, strict=True)


def _whole_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_floats_as_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_floats_as_ints(item) for item in value]
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    raise TypeError(f"a {type(value).__name__} value is not allowed here")


def parse_spec(spec: dict[str, Any], *, prefix: str = "spec") -> ModelMonitorSpec:
    """Validate a spec mapping; raise :class:`SpecError` naming each bad field."""
    try:
        return validate_as_sent(ModelMonitorSpec, spec, prefix)
    except ValidationError as error:
        raise SpecError(format_validation_error(error, prefix)) from None


def parse_document(document: Any, *, source: str = "") -> ModelMonitor:
    where = f"{source}: " if source else ""
    if not isinstance(document, dict):
        raise SpecError(f"{where}expected a ModelMonitor mapping, got {type(document).__name__}")
    try:
        return validate_as_sent(ModelMonitor, document, where.rstrip(": "))
    except ValidationError as error:
        raise SpecError(where + format_validation_error(error)) from None


def load_documents(path: Path) -> list[ModelMonitor]:
    """Every ModelMonitor in a (multi-document) YAML file; other kinds are skipped."""
    try:
        documents = [doc for doc in load_all_bounded(path.read_text()) if doc is not None]
    except OSError as error:
        raise SpecError(f"{path}: {error.strerror or error}") from None
    except YAMLBoundError as error:
        raise SpecError(f"{path}: refused: {error}") from None
    except yaml.YAMLError as error:
        raise SpecError(f"{path}: not valid YAML: {error}".replace("\n", " ")) from None
    monitors = [
        parse_document(doc, source=str(path))
        for doc in documents
        if not (isinstance(doc, dict) and doc.get("kind") not in (None, KIND))
    ]
    if not monitors:
        raise SpecError(f"{path}: no ModelMonitor document found")
    return monitors
