"""Two versions compared before their labels arrive (``analysis.estimated``): each calibrated on its own reference.

Each arm's scores are calibrated on that version's labelled validation data (``<arm>.reference``;
the baseline may use the monitor's ``data.reference``), as the monitor's CBPE calibrates its
model. The expected primary metric is then compared on every row each arm served, labelled or
not: the rows only grow, which a confidence sequence needs (``engine.estimated_compare``).
On the rows whose labels have come, each arm's realized values are set against the expected
ones: a residual beyond the calibration's own error says the estimate is not to be trusted.

Refused, with the reason in words and the labelled analysis going on alone: a regression; a
metric with no expected value per row; no score column; an arm without reference data, or
with too few labelled, scored rows in it; a calibration off by more than the monitor's
``performanceEstimation.maxCalibrationError`` (0.05 by default) on held-out reference rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from modelmonitor.api.comparison import ARMS, Comparison, finite
from modelmonitor.api.data import DataSource
from modelmonitor.api.estimation import PerformanceEstimationSpec
from modelmonitor.api.metrics import MetricName
from modelmonitor.api.monitor import ModelMonitorSpec, Task
from modelmonitor.checks.estimation import calibrate_reference, score_matrix, score_positions
from modelmonitor.checks.estimation_scan import score_columns
from modelmonitor.checks.labels import ClassCoder, all_present, class_text, labeled_mask
from modelmonitor.checks.paired import pair_rows
from modelmonitor.data.source import open_source
from modelmonitor.engine.cbpe import Calibration
from modelmonitor.engine.cbpe_multiclass import ClassCalibration
from modelmonitor.engine.confidence_sequence import ArmData
from modelmonitor.engine.estimated_compare import (
    Expectation,
    Residual,
    calibration_residual,
    estimable_by_rows,
    estimated_compare,
    expectation,
)
from modelmonitor.engine.metrics import FORMULAS
from modelmonitor.errors import DataError

UNRELIABLE = "EstimateUnreliable"


@dataclass(frozen=True)
class EstimatedAnalysis:
    """The estimated comparison and its guard, or why there is none (``refused``)."""

    primary: Comparison | None = None
    residuals: Mapping[str, Residual] = field(default_factory=dict)  # per arm, on its labelled rows
    calibration_rows: Mapping[str, int] = field(default_factory=dict)
    calibration_errors: Mapping[str, float] = field(default_factory=dict)
    refused: str = ""

    @property
    def disagreement(self) -> str:
        """Which arms' labels surely disagree with their estimates, in words ('' when none does)."""
        return "; ".join(
            f"{arm}'s labelled rows realize {found.value:+.4f} against the estimate "
            f"(interval [{found.interval.low:+.4f}, {found.interval.high:+.4f}] excludes 0, {found.rows} rows)"
            for arm, found in self.residuals.items()
            if found.disagrees
        )

    def to_document(self) -> dict[str, object]:
        if self.refused:
            return {"refused": self.refused}
        assert self.primary is not None
        return {
            "primary": self.primary.to_document(),
            "residuals": {
                arm: {"value": finite(found.value), "interval": found.interval.to_document(), "labeledRows": found.rows}
                for arm, found in self.residuals.items()
            },
            "calibrationRows": dict(self.calibration_rows),
            "calibrationErrors": {arm: finite(error) for arm, error in self.calibration_errors.items()},
        }


def estimate_versions(
    spec: ModelMonitorSpec,
    answered: Mapping[str, pa.Table],
    references: Mapping[str, DataSource | None],
    *,
    metric: MetricName,
    alpha: float,
    n_star: int,
    request: str | None,
    env: Mapping[str, str] | None = None,
) -> EstimatedAnalysis:
    """Candidate − baseline of the expected ``metric`` on every row each arm served (``answered``: with its
    prediction, label and scores, and its ``request`` id to pair by).

    Raises :class:`~modelmonitor.errors.DataError` when data cannot be read.
    """
    columns = spec.data.columns
    if refused := _unfit(spec, metric):
        return EstimatedAnalysis(refused=refused)
    chosen = {"baseline": references.get("baseline") or spec.data.reference, "candidate": references.get("candidate")}
    if missing := [arm for arm in ARMS if chosen[arm] is None]:
        return EstimatedAnalysis(refused=_no_reference(missing[0]))
    scored = score_columns(columns)
    assert columns.label is not None
    needed = [columns.prediction, columns.label, *scored]
    tables = {}
    for arm in ARMS:
        reference = chosen[arm]
        assert reference is not None
        try:  # an unreadable reference costs the estimate, not the labelled comparison
            table = open_source(reference, env).read(list(dict.fromkeys(needed)), None)
        except DataError as error:
            return EstimatedAnalysis(refused=f"{arm}'s reference {reference.named} cannot be read: {error}")
        tables[arm] = table.filter(all_present(table, needed))
        if tables[arm].num_rows < n_star:
            return EstimatedAnalysis(
                refused=f"{arm}'s reference {reference.named} has {tables[arm].num_rows} labelled, scored rows "
                f"< minSamplesPerArm {n_star}: too few to calibrate its estimates"
            )
    rows = {arm: answered[arm].filter(all_present(answered[arm], [columns.prediction, *scored])) for arm in ARMS}
    coder = _coder(spec, [*tables.values(), *rows.values()])
    if spec.model.task is Task.BINARY and len(coder.classes) > 2:  # e.g. a reference labelled yes/no, logs 0/1
        return EstimatedAnalysis(
            refused=f"a binary model's references and logged rows name {len(coder.classes)} classes "
            f"({', '.join(map(repr, coder.classes[:5]))}): label and predict them alike"
        )
    if columns.class_scores and (unscored := set(coder.classes) - {entry.label for entry in columns.class_scores}):
        return EstimatedAnalysis(refused=f"class {sorted(unscored)[0]!r} has no column in data.columns.classScores")
    positions = score_positions(coder, columns)
    calibrations = {arm: calibrate_reference(tables[arm], coder, columns, positions) for arm in ARMS}
    limit = (spec.performance_estimation or PerformanceEstimationSpec(method="cbpe")).max_calibration_error
    for arm, calibration in calibrations.items():
        if calibration.error > limit:
            return EstimatedAnalysis(
                refused=f"{arm}'s calibrated scores are off by {calibration.error:.3f} on held-out rows of its "
                f"reference (expected calibration error) > maxCalibrationError {limit:g}"
            )
    paired = bool(request) and any(rows[arm].num_rows for arm in ARMS)
    if paired:
        assert request is not None
        pairs = pair_rows(rows, request)
        rows = dict(zip(ARMS, pairs.arms, strict=True))
    average = "binary" if spec.model.task is Task.BINARY else "macro"
    reader = _Reader(spec, coder, positions, metric, average)
    served_expected = {arm: reader.expectation(calibrations[arm], rows[arm]) for arm in ARMS}
    labeled = {arm: rows[arm].filter(labeled_mask(rows[arm], columns)) for arm in ARMS}
    residuals = {
        arm: calibration_residual(
            reader.realized(labeled[arm]),
            reader.expectation(calibrations[arm], labeled[arm]),
            alpha=alpha,
            n_star=n_star,
        )
        for arm in ARMS
    }
    primary = estimated_compare(
        metric, served_expected["baseline"], served_expected["candidate"], alpha=alpha, n_star=n_star, paired=paired
    )
    return EstimatedAnalysis(
        primary=primary,
        residuals=residuals,
        calibration_rows={arm: calibrations[arm].rows for arm in ARMS},
        calibration_errors={arm: float(calibrations[arm].error) for arm in ARMS},
    )


def _unfit(spec: ModelMonitorSpec, metric: MetricName) -> str:
    columns = spec.data.columns
    if spec.model.task is Task.REGRESSION:
        return "a regression model has no label probabilities to estimate its metric from"
    if not estimable_by_rows(metric):
        return f"{metric} has no expected value per row: estimated analysis compares accuracy or logLoss"
    if not (columns.score or columns.class_scores):
        return "estimates need the model's scores: set the monitor's data.columns.score (or classScores)"
    return ""


def _no_reference(arm: str) -> str:
    if arm == "candidate":
        return (
            "candidate.reference is not set: the candidate's estimates need its own labelled validation data "
            "({uri, format}); the monitor's reference calibrates the baseline only"
        )
    return "baseline.reference is not set, and the monitor's reference is no data.reference to calibrate it on"


def _coder(spec: ModelMonitorSpec, tables: list[pa.Table]) -> ClassCoder:
    columns = spec.data.columns
    texts = {
        value
        for table in tables
        for name in (columns.label, columns.prediction)
        if name and table.num_rows
        for value in class_text(table[name]).drop_null().to_pylist()
    }
    return ClassCoder(texts, spec.model.positive_label)


@dataclass(frozen=True)
class _Reader:
    """An arm's rows as the engine's arrays: probabilities per class, predictions and labels as class indices."""

    spec: ModelMonitorSpec
    coder: ClassCoder
    positions: NDArray[np.int64] | None  # multiclass: each class code's score column
    metric: MetricName
    average: str

    def _indices(self, values: pa.ChunkedArray) -> NDArray[np.float64]:
        codes = self.coder.encode(values)
        return (self.positions[codes] if self.positions is not None else codes).astype(np.float64)

    def _arm(self, table: pa.Table, labels: bool) -> ArmData:
        columns = self.spec.data.columns
        predictions = self._indices(table[columns.prediction])
        assert columns.label is not None
        truth = self._indices(table[columns.label]) if labels else np.full(table.num_rows, np.nan)
        score = score_matrix(table, columns)[:, 0] if self.positions is None else None
        return ArmData(truth, predictions, score)

    @property
    def positive(self) -> int:
        return self.coder.positive if self.positions is None else 0

    def _probabilities(self, calibration: Calibration | ClassCalibration, table: pa.Table) -> tuple[NDArray, NDArray]:
        scores = score_matrix(table, self.spec.data.columns)
        if isinstance(calibration, ClassCalibration):
            return calibration.probability(scores), calibration.resampled_probabilities(scores)
        return _two_classes(calibration.probability(scores[:, 0]), self.coder.positive), np.stack(
            [_two_classes(each, self.coder.positive) for each in calibration.resampled_probabilities(scores[:, 0])]
        )

    def expectation(self, calibration: Calibration | ClassCalibration, table: pa.Table) -> Expectation:
        fitted, resampled = self._probabilities(calibration, table)
        arm = self._arm(table, labels=False)
        return expectation(self.metric, fitted, resampled, arm, positive=self.positive, average=self.average)

    def realized(self, table: pa.Table) -> NDArray[np.float64]:
        """The labelled rows' own values of the metric (correctness, loss)."""
        formula = FORMULAS[self.metric]
        assert formula.sequence_parts is not None
        classes = len(self.positions) if self.positions is not None else 2
        ((values, _),), _ = formula.sequence_parts(self._arm(table, labels=True), classes, self.positive, self.average)
        return values


def _two_classes(probability: NDArray[np.float64], positive: int) -> NDArray[np.float64]:
    """A binary model's probability of its positive class as rows x class codes."""
    stacked = np.column_stack([1 - probability, probability])
    return stacked if positive == 1 else stacked[:, ::-1]
