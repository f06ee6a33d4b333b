"""CBPE for a multiclass model with one score per class (``modelmonitor.engine.cbpe`` holds the method).

Each class's score is calibrated one-vs-rest, the calibrated values of a row are normalised
into a distribution, and each row's label is a draw from it (:func:`calibrate_classes`,
:func:`estimate_classes`); each draw's confusion matrix gives the label metrics.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from modelmonitor.api.metrics import METRICS, MetricName
from modelmonitor.engine.cbpe import (
    BOOTSTRAPS,
    CELLS_PER_BLOCK,
    DRAWS,
    ESTIMABLE,
    DrawSums,
    Estimate,
    bootstrap_counts,
    debiased_calibration_error,
    draw_streams,
    expected_calibration_error,
    interval_of_draws,
)
from modelmonitor.engine.isotonic import IsotonicCurve, SortedScores
from modelmonitor.engine.metrics import label_metric

# The label metrics: a multiclass model has no one positive-class score for the others
MULTICLASS_ESTIMABLE = tuple(name for name in ESTIMABLE if not METRICS[name].needs_scores)


@dataclass(frozen=True)
class ClassCalibration:
    """A multiclass model's per-class scores mapped to class probabilities: one-vs-rest isotonic, then normalised.

    Each class's score is calibrated against "the label is this class", as NannyML's multiclass
    CBPE does, and a row's calibrated values are divided by their sum so they form a
    distribution over the classes. The calibration error is the classwise expected calibration
    error (the mean over classes of each class's ECE), before and after (cross-fitted).
    """

    models: tuple[IsotonicCurve, ...]  # one per class, in the score columns' order
    resampled: tuple[tuple[IsotonicCurve, ...], ...]  # per bootstrap resample, one per class
    raw_error: float
    error: float
    rows: int
    debiased_error: float = 0.0  # classwise, as ``error``, less the binomial noise (``debiased_calibration_error``)

    def probability(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """Rows x classes: each row a distribution over the classes."""
        return _normalised(self.models, scores)

    def resampled_probabilities(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """Bootstrap calibrations x rows x classes."""
        return np.stack([_normalised(models, scores) for models in self.resampled])


def _normalised(models: tuple[IsotonicCurve, ...], scores: NDArray[np.float64]) -> NDArray[np.float64]:
    calibrated = np.column_stack([model.predict(scores[:, k]) for k, model in enumerate(models)])
    calibrated = np.clip(calibrated, 0.0, 1.0)
    total = calibrated.sum(axis=1, keepdims=True)
    # a row every calibration deems impossible for every class carries no information: uniform
    return np.divide(calibrated, total, out=np.full_like(calibrated, 1 / scores.shape[1]), where=total > 0)


def classwise_calibration_error(probability: NDArray[np.float64], label: NDArray[np.int64]) -> float:
    """The mean over classes of each class's expected calibration error (Kull et al., 2019)."""
    return float(
        np.mean([expected_calibration_error(probability[:, k], label == k) for k in range(probability.shape[1])])
    )


def classwise_debiased_error(probability: NDArray[np.float64], label: NDArray[np.int64]) -> float:
    """The mean over classes of each class's debiased calibration error (``cbpe.debiased_calibration_error``)."""
    return float(
        np.mean([debiased_calibration_error(probability[:, k], label == k) for k in range(probability.shape[1])])
    )


def calibrate_classes(scores: NDArray[np.float64], label: NDArray[np.int64], seed: int = 0) -> ClassCalibration:
    """Per-class isotonic calibration on all rows (``label`` indexes the score columns); error cross-fitted."""
    rng = np.random.default_rng(seed)
    columns = [(SortedScores(scores[:, k]), label == k) for k in range(scores.shape[1])]
    fold = rng.permutation(label.size) % 2 == 0
    held_out = np.empty_like(scores)
    for train in (fold, ~fold):
        part = tuple(column.fit(is_class, train) for column, is_class in columns)
        held_out[~train] = _normalised(part, scores[~train])
    resamples = (bootstrap_counts(rng, label.size) for _ in range(BOOTSTRAPS))
    raw = np.clip(scores, 0.0, 1.0)
    return ClassCalibration(
        models=tuple(column.fit(is_class) for column, is_class in columns),
        resampled=tuple(tuple(column.fit(is_class, counts) for column, is_class in columns) for counts in resamples),
        raw_error=classwise_calibration_error(raw, label),
        error=classwise_calibration_error(held_out, label),
        rows=int(label.size),
        debiased_error=classwise_debiased_error(held_out, label),
    )


def class_draw_sums(
    probability: NDArray[np.float64],
    resampled: NDArray[np.float64],
    predicted: NDArray[np.int64],
    *,
    draws: int = DRAWS,
    seed: int = 0,
    part: int = 0,
) -> DrawSums:
    """Each draw's confusion matrix (flattened) over some rows of a multiclass model.

    A row's label is drawn from its class distribution (a row of ``probability``);
    ``resampled`` holds the bootstrap calibrations' (:meth:`ClassCalibration.resampled_probabilities`).
    """
    classes = probability.shape[1]

    def sums(distribution: NDArray[np.float64], count: int, rng: np.random.Generator) -> NDArray[np.float64]:
        found = []
        for labels in _class_blocks(distribution, count, rng):
            cells = labels * classes + predicted[None, :]
            offset = np.arange(labels.shape[0])[:, None] * classes * classes
            counts = np.bincount((cells + offset).ravel(), minlength=labels.shape[0] * classes * classes)
            found.append(counts.reshape(-1, classes * classes).astype(np.float64))
        return np.concatenate(found) if found else np.empty((0, classes * classes))

    fitted = sums(probability, draws, np.random.default_rng([seed, part, 0]))
    streams = draw_streams(seed, part, resampled.shape[0], draws)
    spread = np.concatenate([sums(each, count, rng) for each, (count, rng) in zip(resampled, streams, strict=True)])
    return DrawSums(fitted, spread, int(predicted.size))


def _class_blocks(
    probability: NDArray[np.float64], draws: int, rng: np.random.Generator
) -> Iterator[NDArray[np.int64]]:
    """``draws`` labellings of the rows (class numbers), a block of draws at a time."""
    rows, classes = probability.shape
    below = np.cumsum(probability, axis=1)[:, :-1].astype(np.float32)  # class k is drawn when u passes k cut points
    block = max(1, CELLS_PER_BLOCK // max(rows * classes, 1))
    for start in range(0, draws, block):
        uniform = rng.random((min(block, draws - start), rows, 1), dtype=np.float32)
        yield (uniform >= below[None]).sum(axis=2)


def class_estimate(
    metric: MetricName, sums: DrawSums, classes: int, *, average: str = "macro", confidence: float = 0.95
) -> Estimate:
    """A label metric's estimate from a multiclass model's draw sums (:func:`class_draw_sums`, added up).

    Each draw's confusion matrix is scored with the same code as realized metrics
    (:func:`modelmonitor.engine.metrics.label_metric`); the interval and its bias correction are
    :func:`binary_estimate`'s.
    """
    if metric not in MULTICLASS_ESTIMABLE:
        raise ValueError(f"{metric} cannot be estimated for a multiclass model")

    def values(stats: NDArray[np.float64]) -> NDArray[np.float64]:
        return label_metric(metric, stats.reshape(-1, classes, classes).astype(np.int64), average=average)

    return interval_of_draws(values(sums.fitted), values(sums.spread), sums.rows, confidence)


def estimate_classes(
    metric: MetricName,
    probability: NDArray[np.float64],
    resampled: NDArray[np.float64],
    predicted: NDArray[np.int64],
    *,
    average: str = "macro",
    confidence: float = 0.95,
    draws: int = DRAWS,
    seed: int = 0,
) -> Estimate:
    """A label metric of a multiclass model over rows whose labels are drawn from their class distributions.

    The rows are one piece (:func:`class_draw_sums`, then :func:`class_estimate`).
    """
    if metric not in MULTICLASS_ESTIMABLE:
        raise ValueError(f"{metric} cannot be estimated for a multiclass model")
    sums = class_draw_sums(probability, resampled, predicted, draws=draws, seed=seed)
    return class_estimate(metric, sums, probability.shape[1], average=average, confidence=confidence)
