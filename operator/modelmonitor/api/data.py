"""Where a monitor's data lives, and which columns hold what."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from modelmonitor.api.base import Duration, Name, SpecModel
from modelmonitor.api.cel import CelRule, cel
from modelmonitor.api.vocabulary import module_names, vocabulary
from modelmonitor.durations import parse_duration

# One member per module of data/formats, named by it (parquet, the default, first): adding a format
# there adds it here and to the CRD
DataFormat = vocabulary(
    "DataFormat",
    sorted(module_names("modelmonitor.data.formats"), key=lambda name: (name != "parquet", name)),
    module=__name__,
)


class DataSource(SpecModel):
    """Where a data set lives: a local path, file://, s3://, gs:// or http(s):// URI."""

    uri: str = Field(min_length=1, max_length=2048)
    format: DataFormat = DataFormat.PARQUET
    window: Duration | None = Field(None, description="Only rows with timestamp in (now - window, now].")

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
