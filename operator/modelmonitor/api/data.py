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


class SeldonLogs(SpecModel):
    """A Seldon Core v2 Model's inference logs: the requests and responses Seldon writes to Kafka, paired by key."""

    model: str = Field(
        min_length=1,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="The Model's metadata.name.",
    )
    bootstrap_servers: str = Field(
        min_length=1,
        max_length=2048,
        pattern=r"^[^\s,]+(,[^\s,]+)*$",
        description="Kafka's bootstrap servers, host:port[,host:port...]: the brokers Seldon writes to.",
    )
    topic_prefix: str = Field(
        "seldon",
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="The prefix of Seldon's topic names (its kafka.topicPrefix).",
    )
    namespace: str | None = Field(
        None, min_length=1, max_length=63, description="The namespace in Seldon's topic names (default: the monitor's)."
    )

    def topic(self, side: str) -> str:
        """``PREFIX.NAMESPACE.model.MODEL.inputs`` (side ``inputs``) or ``.outputs``."""
        return f"{self.topic_prefix}.{self.namespace}.model.{self.model}.{side}"


class DataSource(SpecModel):
    """Where a data set lives: a ``uri`` (a local path, file://, s3://, gs:// or http(s)://), or
    ``kserve``, the payload logs the collector keeps of an InferenceService."""

    uri: str | None = Field(None, min_length=1, max_length=2048)
    kserve: KServeLogs | None = None
    seldon: SeldonLogs | None = None
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
        if self.seldon is not None:
            return f"seldon {self.seldon.namespace or '-'}/{self.seldon.model}"
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

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.seldon) || !has(self.format) || self.format == 'parquet'",
            "seldon logs are Kafka messages: remove format",
            ".format",
        )
    )
    def _messages_have_no_format(self) -> DataSource:
        if self.seldon is not None and self.format != DataFormat.PARQUET:
            raise ValueError("seldon logs are Kafka messages: remove format")
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.seldon) || has(self.window)",
            "seldon logs are a stream: set window, the span of messages each run reads",
            ".window",
        )
    )
    def _a_stream_needs_a_window(self) -> DataSource:
        if self.seldon is not None and self.window is None:
            raise ValueError("seldon logs are a stream: set window, the span of messages each run reads")
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


_SELDON_HOLDS_NO_LABELS = "Seldon's topics hold requests and responses, not outcomes: read labels from a uri or kserve"


class LabelSource(DataSource):
    """Labels that arrive after their predictions, in a data set of their own, joined to the predictions by request id.

    A ``kserve`` source reads the labels the collector keeps (its ``--feedback-sink`` as ``logs``), whose
    columns are ``request_id``, ``label`` and ``ts``: those are its defaults.
    """

    id_column: Name | None = Field(None, description="The request id of each label's prediction (kserve: request_id).")
    label_column: Name | None = Field(
        None, description="The outcome (default: data.columns.label; kserve: label). It joins as data.columns.label."
    )
    timestamp_column: Name | None = Field(
        None,
        description="When each label was known (kserve: ts): only labels since the window's start are read, and an "
        "id labelled twice keeps its latest. Without it, every label is read and the last one read wins.",
    )

    @model_validator(mode="after")
    @cel(CelRule("!has(self.window)", "labels follow the predictions' window: remove window", ".window"))
    def _no_window(self) -> LabelSource:
        if self.window is not None:
            raise ValueError("labels follow the predictions' window: remove window")
        return self

    @model_validator(mode="before")
    @classmethod
    @cel(CelRule("!has(self.seldon)", _SELDON_HOLDS_NO_LABELS, ".seldon"))
    def _not_from_seldon(cls, written: Any) -> Any:
        if _logs_of(written, (SourceKind.SELDON,)):  # before the stream's own rules, which labels would not explain
            raise ValueError(_SELDON_HOLDS_NO_LABELS)
        return written

    @model_validator(mode="after")
    @cel(CelRule("has(self.kserve) || has(self.idColumn)", "labels need idColumn, the request id they belong to"))
    def _named_id(self) -> LabelSource:
        if self.kserve is None and self.id_column is None:
            raise ValueError("labels need idColumn, the request id they belong to")
        return self


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
    request_id: str | None = Field(
        None, description="The predictions' request id, which data.labels join on (default: data.labels.idColumn)."
    )
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
        named = (self.timestamp, self.prediction, self.label, self.score, self.model_version, self.request_id)
        return scores | {column for column in named if column}


LOG_KINDS = (SourceKind.KSERVE, SourceKind.SELDON)  # inference logs, whose rows have the columns of api.payload_log


def _logs_of(source: Any, kinds: tuple[SourceKind, ...] = LOG_KINDS) -> bool:
    return isinstance(source, dict) and any(source.get(kind) is not None for kind in kinds)


def _with_defaults(written: Any, defaults: dict[str, str | None]) -> dict[str, Any]:
    """A mapping as written (camelCase, or snake_case), with the defaults for what it leaves out."""
    found = dict(written) if isinstance(written, dict) else {}
    for alias, value in defaults.items():
        if value is not None and alias not in found and snake_case(alias) not in found:
            found[alias] = value
    return found


def _written(mapping: dict[str, Any], alias: str) -> Any:
    return mapping.get(alias, mapping.get(snake_case(alias)))


def with_namespace(spec: Any, namespace: str) -> Any:
    """A spec as written (a mapping), its kserve and seldon sources without a namespace reading the monitor's own."""
    data = spec.get("data") if isinstance(spec, dict) else None
    if not isinstance(data, dict):
        return spec
    sides = {}
    for side in ("current", "reference", "labels"):
        source = data.get(side)
        for kind in LOG_KINDS:
            logs = source.get(kind) if isinstance(source, dict) else None
            if isinstance(logs, dict) and logs.get("namespace") is None:
                sides[side] = {**source, kind: {**logs, "namespace": namespace}}
    return {**spec, "data": {**data, **sides}} if sides else spec


class DataSpec(SpecModel):
    current: DataSource
    reference: DataSource | None = Field(
        None,
        description="The data the current window is compared with; or else model.mlflow.referenceArtifact.",
    )
    columns: Columns = Columns()
    labels: LabelSource | None = Field(
        None,
        description="Labels kept apart from the predictions (any kind of source), joined to each prediction by its "
        "request id: to the current rows, and to the reference when it has no label column of its own.",
    )
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
    def _columns_of_the_kinds(cls, data: Any) -> Any:
        """What the kinds of source name themselves, for what the spec leaves out: a kserve or seldon source's
        rows have their time in ts, their version in model_version and their id in request_id; the collector's labels
        have request_id, label and ts. The labels' columns and the predictions' name each other's."""
        if not isinstance(data, dict) or not (_logs_of(data.get("current")) or isinstance(data.get("labels"), dict)):
            return data
        columns = data.get("columns")
        if _logs_of(data.get("current")):
            columns = _with_defaults(
                columns,
                {
                    "timestamp": payload_log.TIME,
                    "modelVersion": payload_log.MODEL_VERSION,
                    "requestId": payload_log.REQUEST_ID,
                },
            )
        labels = data.get("labels")
        if not isinstance(labels, dict):
            return {**data, "columns": columns}
        if _logs_of(labels, (SourceKind.KSERVE,)):
            named = {
                "idColumn": payload_log.REQUEST_ID,
                "labelColumn": payload_log.LABEL,
                "timestampColumn": payload_log.TIME,
            }
            labels = _with_defaults(labels, named)
        columns = columns if isinstance(columns, dict) else {}
        labels = _with_defaults(labels, {"labelColumn": _written(columns, "label")})
        columns = _with_defaults(
            columns, {"label": _written(labels, "labelColumn"), "requestId": _written(labels, "idColumn")}
        )
        return {**data, "columns": columns, "labels": labels}

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.labels) || has(self.labels.kserve) || has(self.labels.labelColumn) || "
            "(has(self.columns) && has(self.columns.label))",
            "labels need labelColumn (or data.columns.label)",
            ".labels",
        )
    )
    def _named_label(self) -> DataSpec:
        if self.labels is not None and self.labels.label_column is None:
            raise ValueError("labels need labelColumn (or data.columns.label)")
        return self
