"""The results document: frozen dataclasses that serialise to camelCase JSON and are read back as such.

The CLI prints it; the operator stores the same object in MonitorRun status, and every
reader (conditions, metrics, records, reports, the web view, the CLI) reads it back with
:meth:`Results.from_document` (absent fields: see ``modelmonitor.api.documents``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelmonitor.api.documents import from_document, to_document
from modelmonitor.api.verdict import Verdict, worst


@dataclass(frozen=True)
class Histogram:
    """Counts per bin between ``edges``; values outside them counted as (below, above)."""

    edges: list[float]
    reference: list[int]
    current: list[int]
    reference_outside: tuple[int, int]
    current_outside: tuple[int, int]


@dataclass(frozen=True)
class CategoryCounts:
    """Counts of the categories shown; ``*_other`` sums the rest; ``new`` are shown ones unseen in the reference."""

    categories: list[str]
    reference: list[int]
    current: list[int]
    reference_other: int
    current_other: int
    new: list[str]


@dataclass(frozen=True)
class Window:
    start: str | None
    end: str
    rows: int
    labeled_rows: int


@dataclass(frozen=True)
class EstimatedMetric:
    """A metric estimated on the rows without labels: value, interval, rows, and its own verdict."""

    value: float | None
    lower: float | None
    upper: float | None
    rows: int
    status: Verdict
    reason: str = ""
    adjusted_p_value: float | None = None  # a segment's: that its threshold is broken, after Benjamini-Hochberg


@dataclass(frozen=True)
class MetricPoint:
    """A metric over one time bucket of the window's labeled rows, with its confidence interval."""

    start: str
    rows: int
    value: float | None
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class MetricSeries:
    bucket_seconds: int
    confidence: float
    points: list[MetricPoint]


@dataclass(frozen=True)
class MetricResult:
    name: str
    value: float | None
    min: float | None
    max: float | None
    samples: int
    status: Verdict
    reason: str = ""
    estimated: EstimatedMetric | None = None
    series: MetricSeries | None = None  # over time inside the window, for reports
    adjusted_p_value: float | None = None  # a segment's: that its threshold is broken, after Benjamini-Hochberg

    @property
    def check(self) -> str:
        """The check's name in ``Results.errors``."""
        return f"metric {self.name}"


@dataclass(frozen=True)
class PerformanceEstimation:
    """How the estimates were made, or why they were not."""

    method: str
    status: Verdict
    reason: str
    unlabeled_rows: int
    reference_rows: int = 0
    calibration_error: float | None = None  # of the calibrated scores, on held-out reference rows
    raw_calibration_error: float | None = None  # of the model's own scores


@dataclass(frozen=True)
class FeatureDriftResult:
    feature: str
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float | None
    drifted: bool
    status: Verdict
    kind: str = ""  # numerical, categorical or binary: what auto decided from
    adjusted_p_value: float | None = None  # after the multiple-testing correction
    effect_size: float | None = None  # auto: the effect compared with its floor
    reference_samples: int = 0
    current_samples: int = 0
    reason: str = ""
    approximate: bool = False  # from histograms (see drift.exactMaxRows) ...
    approximation_error: float | None = None  # ... and the largest possible error of the statistic
    histogram: Histogram | None = None  # the two distributions, for reports (see engine.distribution)
    categories: CategoryCounts | None = None

    @property
    def check(self) -> str:
        return f"drift {self.feature}"


@dataclass(frozen=True)
class MultivariateDriftResult:
    """One multivariate method on the two samples: its statistic, the threshold it crossed or not, and why."""

    method: str
    statistic: float | None
    threshold: float | None
    drifted: bool
    status: Verdict
    p_value: float | None = None
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def check(self) -> str:
        return f"drift {self.method}"


@dataclass(frozen=True)
class DriftResult:
    features: list[FeatureDriftResult]
    drifted_share: float
    dataset_drift: bool
    dataset_drift_share: float
    correction: str
    status: Verdict
    prediction: FeatureDriftResult | None = None
    label: FeatureDriftResult | None = None
    multivariate: list[MultivariateDriftResult] = field(default_factory=list)


@dataclass(frozen=True)
class ConceptDriftResult:
    method: str
    status: Verdict
    detected: bool
    metric: str | None = None
    statistic: float | None = None
    p_value: float | None = None
    baseline_value: float | None = None
    current_value: float | None = None
    samples: int = 0
    drift_started_at: str | None = None
    detected_at: str | None = None
    reason: str = ""

    @property
    def check(self) -> str:
        return f"conceptDrift {self.method}"


@dataclass(frozen=True)
class DataQualityFinding:
    kind: str  # newCategory | missingColumn | nullRateJump | allNull
    column: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QualityRuleResult:
    """One data-quality rule (``spec.dataQuality``) on the current window.

    ``value``: what was measured against ``limit``. For ``missing``, ``range`` and
    ``allowedValues`` it is a share of the rows; for ``unique`` the share of the values
    that repeat one before them; for ``freshness`` the newest row's age in seconds; for
    ``schema`` the number of columns that differ.
    """

    rule: str  # the spec's kind: schema | missing | range | allowedValues | unique | freshness
    column: str  # "" for a schema
    status: Verdict
    value: float | None
    limit: float | None
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def check(self) -> str:
        return f"dataQuality {self.rule}" + (f" {self.column}" if self.column else "")


@dataclass(frozen=True)
class FairnessResult:
    """One fairness metric (``spec.fairness``) on the current window.

    ``value`` compares the unprivileged group's rate with the privileged group's (their
    difference, or their ratio), within the bootstrap interval [``lower``, ``upper``];
    ``*_rate`` are the two rates and ``*_rows`` the rows each was taken over.
    """

    name: str
    value: float | None
    lower: float | None
    upper: float | None
    verdict: Verdict
    min: float | None = None
    max: float | None = None
    privileged_rate: float | None = None
    unprivileged_rate: float | None = None
    privileged_rows: int = 0
    unprivileged_rows: int = 0
    message: str = ""

    @property
    def check(self) -> str:
        return f"fairness {self.name}"


@dataclass(frozen=True)
class SegmentResult:
    """The monitor's metrics in one segment: the rows whose ``column`` is ``value`` (``pooled``: the rest)."""

    column: str
    value: str
    rows: int
    verdict: Verdict
    metrics: list[MetricResult]
    labeled_rows: int = 0
    pooled: bool = False
    reason: str = ""
    drifted_features: list[str] = field(default_factory=list)  # in this segment, against its reference rows
    drifted_share: float | None = None  # of the features judged in it; None when none could be
    dataset_drift: bool = False  # drifted_share reached drift.datasetDriftShare: the segment fails
    drift_reason: str = ""


@dataclass(frozen=True)
class AttributionResult:
    """How much of a metric's loss one drifted feature explains (see ``engine.attribution``).

    ``weighted_value``: the metric on the window's labelled rows reweighted so that this
    feature is distributed as in the reference; ``explained_drop``: how much better that is
    than the metric as measured (in the metric's units, positive when the feature explains
    part of the loss).
    """

    feature: str
    explained_drop: float
    metric: str
    value: float
    weighted_value: float


@dataclass(frozen=True)
class CheckError:
    check: str
    message: str


@dataclass(frozen=True)
class RanOn:
    """Where the checks ran: this process's threads, or a Dask cluster (its scheduler, and tasks per worker)."""

    engine: str  # local | dask
    workers: int
    scheduler: str | None = None
    tasks_per_worker: dict[str, int] | None = None


@dataclass(frozen=True)
class Results:
    monitor: str
    model: str
    model_version: str | None
    evaluated_at: str
    window: Window
    reference_rows: int
    label_coverage: float | None
    metrics: list[MetricResult]
    drift: DriftResult | None
    concept_drift: list[ConceptDriftResult]
    data_quality: list[DataQualityFinding]
    errors: list[CheckError]
    performance_estimation: PerformanceEstimation | None = None
    spec: dict[str, Any] | None = None  # the spec that produced these results, as written
    ran_on: RanOn | None = None
    quality_rules: list[QualityRuleResult] = field(default_factory=list)
    fairness: list[FairnessResult] = field(default_factory=list)
    attribution: list[AttributionResult] = field(default_factory=list)  # ranked, the largest explanation first
    segments: list[SegmentResult] = field(default_factory=list)  # the worst first

    @property
    def verdict(self) -> Verdict:
        """The worst verdict of the checks that alert (dataset drift, not single features; estimates too)."""
        verdicts = [metric.status for metric in self.metrics]
        verdicts += [metric.estimated.status for metric in self.metrics if metric.estimated is not None]
        verdicts += [check.status for check in self.concept_drift]
        verdicts += [rule.status for rule in self.quality_rules]
        verdicts += [metric.verdict for metric in self.fairness]
        verdicts += [segment.verdict for segment in self.segments]
        if self.drift is not None:
            verdicts.append(self.drift.status)
        if self.errors:
            verdicts.append(Verdict.ERROR)
        return worst(*verdicts)

    @property
    def healthy(self) -> bool:
        return self.verdict in (Verdict.PASSED, Verdict.INCONCLUSIVE)

    def to_document(self) -> dict[str, Any]:
        document = {"healthy": self.healthy, "verdict": self.verdict.value}
        document.update(to_document(self))
        return document

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Results:
        """Results read back from their document (``healthy`` and ``verdict`` are derived again)."""
        return from_document(cls, document)
