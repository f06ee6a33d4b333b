"""Where a monitor's data lives, and which columns hold what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field, field_validator, model_validator

from modelmonitor.api import payload_log
from modelmonitor.api.base import Duration, Name, SpecModel
from modelmonitor.api.cel import CelRule, cel
from modelmonitor.api.vocabulary import listed, module_names, snake_case, vocabulary
from modelmonitor.durations import parse_duration

# One member per module of data/formats, named by it (parquet, the default, first): adding a format
# there adds it here and to the CRD
DataFormat = vocabulary(
    "DataFormat",
    sorted(module_names("modelmonitor.data.formats"), key=lambda name: (name != "parquet", name)),
    module=__name__,
)


# One member per module of data/kinds: each kind is a field of DataSource, and a source sets exactly one
SourceKind = vocabulary("SourceKind", sorted(module_names("modelmonitor.data.kinds")), module=__name__)
_ONE_KIND = " + ".join(f"(has(self.{kind}) ? 1 : 0)" for kind in SourceKind) + " == 1"


class KServeLogs(SpecModel):
    """An InferenceService's payload logs, as ``modelmonitor collector`` files them in its sink."""

    inference_service: str = Field(
        min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", description="Its metadata.name."
    )
    logs: str = Field(
        min_length=1, max_length=2048, description="The collector's --sink: an s3://, gs:// or file URI, or a path."
    )
    namespace: str | None = Field(
        None, min_length=1, max_length=63, description="The InferenceService's namespace (default: the monitor's)."
    )


class DataSource(SpecModel):
    """Where a data set lives: a ``uri`` (a local path, file://, s3://, gs:// or http(s)://), or
    ``kserve``, the payload logs the collector keeps of an InferenceService."""

    uri: str | None = Field(None, min_length=1, max_length=2048)
    kserve: KServeLogs | None = None
    format: DataFormat = DataFormat.PARQUET
    window: Duration | None = Field(None, description="Only rows with timestamp in (now - window, now].")

    @property
    def kind(self) -> SourceKind:
        return next(kind for kind in SourceKind if getattr(self, kind) is not None)

    @property
    def named(self) -> str:
        """How messages name the source: its URI, or the InferenceService whose logs it reads."""
        if self.kserve is not None:
            return f"kserve {self.kserve.namespace or '-'}/{self.kserve.inference_service}"
        return self.uri or ""

    @model_validator(mode="after")
    @cel(CelRule(_ONE_KIND, f"set exactly one of {listed(list(SourceKind))}"))
    def _one_kind(self) -> DataSource:
        if sum(getattr(self, kind) is not None for kind in SourceKind) != 1:
            raise ValueError(f"set exactly one of {listed(list(SourceKind))}")
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.kserve) || !has(self.format) || self.format == 'parquet'",
            "kserve logs are parquet: remove format",
            ".format",
        )
    )
    def _logs_are_parquet(self) -> DataSource:
        if self.kserve is not None and self.format != DataFormat.PARQUET:
            raise ValueError("kserve logs are parquet: remove format")
        return self

    @field_validator("window")
    @classmethod
    @cel(
        CelRule(
            "!has(self.window) || duration(self.window) > duration('0s')",
            "window must be a positive duration, such as 24h",
            ".window",
        )
    )
    def _positive_window(cls, window: str | None) -> str | None:
        if window is not None and parse_duration(window) <= timedelta(0):
            raise ValueError(f"window {window!r} holds no rows: use a positive duration such as 24h")
        return window


class ClassScore(SpecModel):
    """The column holding a multiclass model's score (probability) for one class."""

    label: str = Field(min_length=1, max_length=253, description="The class, as it appears in labels and predictions.")
    column: Name


def _refuse_repeated(class_scores: list[ClassScore] | None, field: str) -> None:
    values = [getattr(entry, field) for entry in class_scores or []]
    if repeated := sorted({value for value in values if values.count(value) > 1}):
        raise ValueError(f"each class has one score column: {field} {repeated[0]!r} appears twice")


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
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["label"]},
    )
    model_version: str | None = None
    features: list[Name] | None = Field(None, max_length=10000)
    categorical: list[Name] | None = Field(None, max_length=10000)

    @field_validator("class_scores")
    @classmethod
    def _one_class_per_label(cls, class_scores: list[ClassScore] | None) -> list[ClassScore] | None:
        _refuse_repeated(class_scores, "label")  # the CRD: the list's map key
        return class_scores

    @field_validator("class_scores")
    @classmethod
    @cel(
        CelRule(
            "self.all(a, self.exists_one(b, b.column == a.column))",
            "each class has one score column: a column appears twice",
        )
    )
    def _one_column_per_class(cls, class_scores: list[ClassScore] | None) -> list[ClassScore] | None:
        _refuse_repeated(class_scores, "column")
        return class_scores

    def named(self) -> set[str]:
        scores = {entry.column for entry in self.class_scores or []}
        return scores | {
            column for column in (self.timestamp, self.prediction, self.label, self.score, self.model_version) if column
        }


def _defaults_of_kind(source: Any) -> dict[str, str]:
    """The columns a kind of source names itself (camelCase, as written), for what the spec leaves out."""
    if isinstance(source, dict) and source.get("kserve") is not None:
        return {"timestamp": payload_log.TIME, "modelVersion": payload_log.MODEL_VERSION}
    return {}


def with_namespace(spec: Any, namespace: str) -> Any:
    """A spec as written (a mapping), its kserve sources without a namespace reading the monitor's own."""
    data = spec.get("data") if isinstance(spec, dict) else None
    if not isinstance(data, dict):
        return spec
    sides = {}
    for side in ("current", "reference"):
        source = data.get(side)
        logs = source.get("kserve") if isinstance(source, dict) else None
        if isinstance(logs, dict) and logs.get("namespace") is None:
            sides[side] = {**source, "kserve": {**logs, "namespace": namespace}}
    return {**spec, "data": {**data, **sides}} if sides else spec


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

    @model_validator(mode="before")
    @classmethod
    def _columns_of_the_kind(cls, data: Any) -> Any:
        """A kserve source's rows have their time in ts and their version in model_version: unless the spec
        says otherwise, those are the columns."""
        defaults = _defaults_of_kind(data.get("current")) if isinstance(data, dict) else {}
        if not defaults:
            return data
        columns = data.get("columns")
        columns = dict(columns) if isinstance(columns, dict) else {}
        for alias, column in defaults.items():
            if alias not in columns and snake_case(alias) not in columns:
                columns[alias] = column
        return {**data, "columns": columns}
