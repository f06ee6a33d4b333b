"""Performance before the labels arrive: CBPE over the window's rows whose labels are still missing.

A map over partitions and a merge, run in this process or on a Dask cluster's workers by the
same stage functions:

1. each partition of the window maps to how many of its rows wait for a label, their distinct
   predictions and, where ROC AUC is estimated, their distinct scores with counts; each
   partition of the reference maps to its labeled, scored rows (``estimation_scan``);
2. the plan merges those: the classes, the calibration fitted on the reference rows (or why no
   estimate would be honest), and the window's score ranks;
3. each partition of the window maps to its rows' simulated labellings, summed per draw
   (:class:`~modelmonitor.engine.cbpe.DrawSums`), a batch of rows at a time;
4. the merge adds the sums and estimates each metric.

The window's rows never leave their partition: back travel the draws' sums (1,000 draws of a
few numbers, or of a confusion matrix); out travels the plan, whose calibration holds the
reference's distinct scores. Each batch draws from its own random stream, so the estimates are
identical wherever the partitions are simulated.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from modelmonitor.api.data import Columns
from modelmonitor.api.estimation import PerformanceEstimationSpec
from modelmonitor.api.metrics import MetricName
from modelmonitor.api.results import EstimatedMetric, MetricResult, PerformanceEstimation
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.estimation_scan import (
    ReferencePart,
    UnlabeledScan,
    estimated_metrics,
    ranks_needed,
    read_reference,
    scan_unlabeled,
    score_columns,
    unlabeled_batches,
)
from modelmonitor.checks.executors import Executor
from modelmonitor.checks.labels import (
    ClassCoder,
    class_text,
    numeric_column,
)
from modelmonitor.data.source_definition import Partition
from modelmonitor.engine.cbpe import (
    Calibration,
    DrawSums,
    Estimate,
    binary_draw_sums,
    binary_estimate,
    calibrate,
    score_ranks,
)
from modelmonitor.engine.cbpe_multiclass import (
    ClassCalibration,
    calibrate_classes,
    class_draw_sums,
    class_estimate,
)
from modelmonitor.engine.verdict import describe_bounds, judge_interval
from modelmonitor.errors import DataError


@dataclass(frozen=True)
class EstimationPlan:
    """What the simulation needs, or why no estimate would be honest (``reason``), or why none could be made."""

    rows: int  # the window's rows waiting for labels
    reference_rows: int  # labeled, scored reference rows
    metrics: tuple[MetricName, ...] = ()
    coder: ClassCoder | None = None
    whole: bool = True  # the window's predictions are whole numbers (as ClassCoder's text has them)
    positions: NDArray[np.int64] | None = None  # multiclass: each class code's score column
    calibration: Calibration | ClassCalibration | None = None
    scores: NDArray[np.float64] | None = None  # the window's distinct scores and their ranks (ROC AUC)
    ranks: NDArray[np.float64] | None = None
    reason: str = ""  # set when the estimation is Inconclusive
    error: str = ""


def plan_estimation(
    context: CheckContext, scans: list[UnlabeledScan], references: list[ReferencePart]
) -> EstimationPlan:
    spec, columns = context.spec, context.spec.data.columns
    assert columns.label is not None and spec.performance_estimation is not None
    window = UnlabeledScan()
    for scan in scans:
        window.merge(scan)
    tables = [part.table for part in references if part.table is not None]
    if error := window.error or next((part.error for part in references if part.error), ""):
        return EstimationPlan(window.rows, 0, error=error)
    reference = pa.concat_tables(tables) if tables else None
    reference_rows = reference.num_rows if reference is not None else 0
    plan = EstimationPlan(window.rows, reference_rows, estimated_metrics(context))
    if reference is None or reference_rows < context.min_samples:
        reason = f"{reference_rows} labeled, scored reference rows < minSamples {context.min_samples}"
        return dataclasses.replace(plan, reason=reason)
    texts = {text for name in (columns.label, columns.prediction) for text in class_text(reference[name]).to_pylist()}
    if window.predictions is not None:
        texts |= set(class_text(window.predictions, window.whole).to_pylist())
    try:
        coder = ClassCoder(texts, spec.model.positive_label)
    except DataError as error:
        return dataclasses.replace(plan, error=str(error))
    plan = dataclasses.replace(plan, coder=coder, whole=window.whole)
    if unscored := _unscored_classes(coder, columns):
        reason = (
            f"class {unscored[0]!r} appears among labels or predictions but has no column in data.columns.classScores"
        )
        return dataclasses.replace(plan, reason=reason)
    positions = score_positions(coder, columns)
    calibration = calibrate_reference(reference, coder, columns, positions)
    plan = dataclasses.replace(plan, positions=positions, calibration=calibration)
    estimation = spec.performance_estimation
    if calibration.error > estimation.max_calibration_error:
        reason = (
            f"the calibrated scores are off by {calibration.error:.3f} on held-out reference rows "
            f"(expected calibration error) > maxCalibrationError {estimation.max_calibration_error:g}: "
            "no honest estimate"
        )
        return dataclasses.replace(plan, reason=reason)
    if window.rows < context.min_samples:
        return dataclasses.replace(plan, reason=f"{window.rows} rows without labels < minSamples {context.min_samples}")
    if ranks_needed(context):
        plan = dataclasses.replace(plan, scores=window.scores, ranks=score_ranks(window.scores, window.counts))
    return plan


def _unscored_classes(coder: ClassCoder, columns: Columns) -> list[str]:
    """A multiclass model's classes seen in the data that have no score column."""
    if not columns.class_scores:
        return []
    scored = {entry.label for entry in columns.class_scores}
    return [name for name in coder.classes if name not in scored]


def score_positions(coder: ClassCoder, columns: Columns) -> NDArray[np.int64] | None:
    """For each class code, the index of its score column (multiclass); None for a binary model."""
    if not columns.class_scores:
        return None
    scored = [entry.label for entry in columns.class_scores]
    return np.array([scored.index(name) for name in coder.classes], dtype=np.int64)


def score_matrix(rows: pa.Table | pa.RecordBatch, columns: Columns) -> NDArray[np.float64]:
    return np.column_stack([numeric_column(rows, name) for name in score_columns(columns)])


def calibrate_reference(
    reference: pa.Table, coder: ClassCoder, columns: Columns, positions: NDArray[np.int64] | None
) -> Calibration | ClassCalibration:
    """The scores' calibration fitted on labeled reference rows, per class for a multiclass model."""
    assert columns.label is not None
    label = coder.encode(reference[columns.label])
    if positions is not None:
        return calibrate_classes(score_matrix(reference, columns), positions[label])
    return calibrate(score_matrix(reference, columns)[:, 0], label == coder.positive)


def simulate_unlabeled(
    context: CheckContext, partition: Partition, number: int, plan: EstimationPlan
) -> DrawSums | str:
    """The partition's draw sums (``number`` is its place in the window), or why it could not be read."""
    if plan.error or plan.reason:
        return DrawSums(np.empty(0), np.empty(0), 0)
    assert plan.coder is not None and plan.calibration is not None
    columns = context.spec.data.columns
    total: DrawSums | None = None
    try:
        for index, batch in enumerate(unlabeled_batches(context, partition)):
            found = batch_sums(plan, batch, columns, (number << 20) + index)  # one random stream per batch
            total = found if total is None else total + found
    except (DataError, ValueError) as error:
        return str(error)
    return total if total is not None else DrawSums(np.empty(0), np.empty(0), 0)


def batch_sums(plan: EstimationPlan, batch: pa.RecordBatch, columns: Columns, part: int) -> DrawSums:
    assert plan.coder is not None and plan.calibration is not None
    predicted = plan.coder.encode(batch.column(columns.prediction), plan.whole)
    scores = score_matrix(batch, columns)
    calibration = plan.calibration
    if isinstance(calibration, ClassCalibration):
        assert plan.positions is not None
        return class_draw_sums(
            calibration.probability(scores),
            calibration.resampled_probabilities(scores),
            plan.positions[predicted],
            part=part,
        )
    score = scores[:, 0]
    ranks = None
    if plan.scores is not None and plan.ranks is not None:
        ranks = plan.ranks[np.searchsorted(plan.scores, score)]
    return binary_draw_sums(
        calibration.probability(score),
        calibration.resampled_probabilities(score),
        predicted == plan.coder.positive,
        score,
        ranks,
        part=part,
    )


@dataclass(frozen=True)
class Estimation:
    """The window's estimates by metric, and the plan they came from (or why there are none)."""

    plan: EstimationPlan
    estimates: dict[MetricName, Estimate] = field(default_factory=dict)
    error: str = ""


def merge_estimation(context: CheckContext, plan: EstimationPlan, parts: list[DrawSums | str]) -> Estimation:
    if error := plan.error or next((part for part in parts if isinstance(part, str)), ""):
        return Estimation(plan, error=error)
    if plan.reason:
        return Estimation(plan)
    sums = [part for part in parts if isinstance(part, DrawSums) and part.rows]
    if not sums:
        return Estimation(plan, error="the rows waiting for labels were gone when the check read them again")
    total = sums[0]
    for more in sums[1:]:
        total = total + more
    return Estimation(plan, estimates_of(context, plan, total))


def estimates_of(context: CheckContext, plan: EstimationPlan, total: DrawSums) -> dict[MetricName, Estimate]:
    """Each of the plan's metrics estimated from the draw sums of the rows it simulated."""
    estimates = {}
    for metric in plan.metrics:
        if isinstance(plan.calibration, ClassCalibration):
            spec = next(m for m in context.spec.metrics if m.name is metric)
            classes = len(plan.calibration.models)
            estimates[metric] = class_estimate(
                metric, total, classes, average=spec.average or "macro", confidence=_confidence(context)
            )
        else:
            estimates[metric] = binary_estimate(metric, total, confidence=_confidence(context))
    return estimates


def _confidence(context: CheckContext) -> float:
    assert context.spec.performance_estimation is not None
    return context.spec.performance_estimation.confidence


@dataclass(frozen=True)
class EstimationTask:
    """Estimate the window's metrics from the scores of its rows still waiting for their labels."""

    def submit(self, context: CheckContext, executor: Executor) -> Any:
        try:
            window = context.side_partitions(reference=False)
            reference = context.side_partitions(reference=True)
        except DataError as error:
            return executor.submit(_unlisted, str(error))
        scans = [executor.submit(scan_unlabeled, part) for part in window]
        references = [executor.submit(read_reference, part) for part in reference]
        plan = executor.submit(plan_estimation, scans, references)
        sums = [executor.submit(simulate_unlabeled, part, number, plan) for number, part in enumerate(window)]
        return executor.submit(merge_estimation, plan, sums)


def _unlisted(context: CheckContext, error: str) -> Estimation:
    return Estimation(EstimationPlan(0, 0), error=error)


def estimate_metrics(
    context: CheckContext, estimation: PerformanceEstimationSpec, metrics: list[MetricResult], found: Estimation
) -> tuple[list[MetricResult], PerformanceEstimation]:
    """Each metric with its ``estimated`` part, and how the estimation went."""
    if found.error:
        raise DataError(found.error)
    plan = found.plan
    calibration = plan.calibration
    method, rows = str(estimation.method), plan.rows
    judged = functools.partial(
        PerformanceEstimation,
        method,
        unlabeled_rows=rows,
        reference_rows=plan.reference_rows,
        calibration_error=calibration.error if calibration else None,
        raw_calibration_error=calibration.raw_error if calibration else None,
    )
    if plan.reason:
        return metrics, judged(Verdict.INCONCLUSIVE, plan.reason)
    assert calibration is not None
    estimated = []
    for metric in metrics:
        spec = next(m for m in context.spec.metrics if str(m.name) == metric.name)
        value = found.estimates.get(spec.name)
        if value is None:
            estimated.append(metric)
            continue
        if not np.isfinite(value.value):
            part = EstimatedMetric(None, None, None, rows, Verdict.INCONCLUSIVE, f"{spec.name} is undefined here")
        else:
            status = judge_interval(value.value, value.lower, value.upper, minimum=spec.min, maximum=spec.max)
            reason = (
                f"estimated {spec.name} "
                + describe_bounds(value.value, minimum=spec.min, maximum=spec.max)
                + f" ({estimation.confidence:.0%} interval {value.lower:.4g}-{value.upper:.4g},"
                f" {rows} rows without labels)"
            )
            part = EstimatedMetric(value.value, value.lower, value.upper, rows, status, reason)
        estimated.append(dataclasses.replace(metric, estimated=part))
    reason = f"{rows} rows without labels, calibrated on {calibration.rows} reference rows"
    return estimated, judged(Verdict.PASSED, reason)
