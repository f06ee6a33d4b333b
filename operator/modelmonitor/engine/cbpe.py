"""Confidence-based performance estimation (CBPE): a classifier's metrics on rows whose labels have not arrived.

The method is NannyML's. The model's scores are calibrated on labeled reference data, with
isotonic regression, so that a calibrated score is the probability that the label is positive.
Each unlabeled row's label is then a Bernoulli draw with that probability, and so is every
metric computed from the labels.

This module draws the labels many times (Monte Carlo) and computes the metric on each draw.
The calibration itself is learnt from finitely many reference rows, so the draws are spread
over calibrations refitted on bootstrap resamples of the reference: without them the 95 %
intervals of ROC AUC and log loss held the realized value only 88-91 % of the time. The
estimate is the mean of the draws; its interval holds the central ``confidence`` share of
them. That is a prediction interval for the value the labels will give once they arrive,
valid as long as the calibration learnt on the reference still holds in the window. It holds
under covariate shift; it fails under concept shift, which no estimate from scores can see.

A multiclass model with one score per class is handled the same way: each class's score is
calibrated one-vs-rest, the calibrated values of a row are normalised into a distribution,
and each row's label is a draw from it (:func:`calibrate_classes`, :func:`estimate_classes`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata
from sklearn.isotonic import IsotonicRegression

from modelmonitor.engine.metrics import label_metric
from modelmonitor.spec import MetricName

ESTIMABLE = (
    MetricName.ACCURACY,
    MetricName.PRECISION,
    MetricName.RECALL,
    MetricName.F1,
    MetricName.BALANCED_ACCURACY,
    MetricName.ROC_AUC,
    MetricName.LOG_LOSS,
)
MULTICLASS_ESTIMABLE = (  # multiclass ROC AUC and log loss are not among a monitor's metrics
    MetricName.ACCURACY,
    MetricName.PRECISION,
    MetricName.RECALL,
    MetricName.F1,
    MetricName.BALANCED_ACCURACY,
)
CALIBRATION_BINS = 10
DRAWS = 1000
BOOTSTRAPS = 25  # calibrations refitted on resampled reference rows; the draws are spread over them
_CELLS_PER_BLOCK = 4_000_000  # draws x rows simulated at once: bounds memory at any window size


@dataclass(frozen=True)
class Calibration:
    """Scores mapped to probabilities, and how well: expected calibration errors before and after (held out)."""

    model: IsotonicRegression
    resampled: tuple[IsotonicRegression, ...]  # fitted on bootstrap resamples: the calibration's own uncertainty
    raw_error: float
    error: float
    rows: int

    def probability(self, score: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.clip(self.model.predict(score), 0.0, 1.0)

    def resampled_probabilities(self, score: NDArray[np.float64]) -> NDArray[np.float64]:
        """One row of probabilities per bootstrap calibration."""
        return np.clip(np.stack([model.predict(score) for model in self.resampled]), 0.0, 1.0)


@dataclass(frozen=True)
class Estimate:
    value: float
    lower: float
    upper: float
    rows: int


def expected_calibration_error(probability: NDArray[np.float64], label: NDArray[np.bool_]) -> float:
    """ECE over equal-count bins: the rows-weighted mean gap between mean probability and positive rate.

    >>> round(expected_calibration_error(np.array([0.2, 0.2, 0.8, 0.8]), np.array([0, 0, 1, 1], bool)), 2)
    0.2
    """
    order = np.argsort(probability, kind="stable")
    gaps = [
        abs(float(probability[part].mean()) - float(label[part].mean())) * part.size
        for part in np.array_split(order, min(CALIBRATION_BINS, probability.size))
        if part.size
    ]
    return float(sum(gaps) / probability.size)


def calibrate(score: NDArray[np.float64], label: NDArray[np.bool_], seed: int = 0) -> Calibration:
    """Isotonic calibration on all the rows; its error measured by two-fold cross-fitting, so not flattered."""
    rng = np.random.default_rng(seed)
    fold = rng.permutation(score.size) % 2 == 0
    held_out = np.empty(score.size)
    for train in (fold, ~fold):
        part = _isotonic().fit(score[train], label[train])
        held_out[~train] = part.predict(score[~train])
    resamples = (rng.integers(0, score.size, score.size) for _ in range(BOOTSTRAPS))
    return Calibration(
        model=_isotonic().fit(score, label),
        resampled=tuple(_isotonic().fit(score[rows], label[rows]) for rows in resamples),
        raw_error=expected_calibration_error(np.clip(score, 0.0, 1.0), label),
        error=expected_calibration_error(np.clip(held_out, 0.0, 1.0), label),
        rows=int(score.size),
    )


def _isotonic() -> IsotonicRegression:
    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")


def estimate(
    metric: MetricName,
    probability: NDArray[np.float64],
    resampled: NDArray[np.float64],
    predicted_positive: NDArray[np.bool_],
    score: NDArray[np.float64],
    *,
    confidence: float = 0.95,
    draws: int = DRAWS,
    seed: int = 0,
) -> Estimate:
    """The metric over rows whose labels are Bernoulli draws, with its central ``confidence`` interval.

    ``probability`` is the calibration's, ``resampled`` one row per calibration refitted on a
    bootstrap resample (:meth:`Calibration.resampled_probabilities`); the draws are spread over
    those, so the interval carries the calibration's uncertainty. Noise in the probabilities
    spreads them, which flatters ROC AUC: the bootstrap's own excess over the calibration's
    estimates that bias, and it is taken off (Efron's bootstrap bias correction). On 5,000
    reference rows it was +0.005 for ROC AUC.
    """
    if metric not in ESTIMABLE:
        raise ValueError(f"{metric} cannot be estimated without labels")
    per_draw = _per_draw(metric, predicted_positive, score)
    simulate = functools.partial(_simulate, per_draw)
    return _interval(simulate, probability, resampled, draws, seed, confidence)


Simulation = Callable[[NDArray[np.float64], int, int], NDArray[np.float64]]  # (probabilities, draws, seed) -> metrics


def _interval(
    simulate: Simulation,
    probability: NDArray[np.float64],
    resampled: NDArray[np.float64],
    draws: int,
    seed: int,
    confidence: float,
) -> Estimate:
    """The draws' mean and central interval, less the bootstrap's excess over the calibration (Efron's correction).

    The draws under the calibration itself estimate the bias; those spread over the bootstrap
    calibrations (``resampled``, one per row) carry the calibration's uncertainty.
    """
    rows = int(probability.shape[0])
    fitted = _finite(simulate(probability, draws, seed))
    shares = np.array_split(np.arange(draws), resampled.shape[0])
    spread = _finite(
        np.concatenate(
            [
                simulate(distribution, share.size, seed + 1 + index)
                for index, (distribution, share) in enumerate(zip(resampled, shares, strict=True))
                if share.size
            ]
        )
    )
    if fitted.size == 0 or spread.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), rows)
    corrected = spread + 2 * (fitted.mean() - spread.mean())
    tail = (1 - confidence) / 2 * 100
    lower, upper = np.percentile(corrected, [tail, 100 - tail])
    return Estimate(float(corrected.mean()), float(lower), float(upper), rows)


def _finite(values: NDArray[np.float64]) -> NDArray[np.float64]:
    return values[np.isfinite(values)]


PerDraw = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def _simulate(per_draw: PerDraw, probability: NDArray[np.float64], draws: int, seed: int) -> NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    block = max(1, _CELLS_PER_BLOCK // max(probability.size, 1))
    found = []
    for start in range(0, draws, block):
        labels = rng.random((min(block, draws - start), probability.size), dtype=np.float32) < probability
        found.append(per_draw(labels.astype(np.float64)))
    return np.concatenate(found)


def _per_draw(metric: MetricName, predicted: NDArray[np.bool_], score: NDArray[np.float64]) -> PerDraw:
    """The metric of each row of a (draws x rows) matrix of 0/1 labels, as matrix-vector products."""
    predicted_f = predicted.astype(np.float64)
    n, n_predicted = predicted.size, float(predicted.sum())

    def counts(labels: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
        positives = labels.sum(axis=1)
        true_pos = labels @ predicted_f
        false_pos = n_predicted - true_pos
        false_neg = positives - true_pos
        true_neg = n - true_pos - false_pos - false_neg
        return true_pos, false_pos, false_neg, true_neg

    if metric is MetricName.ROC_AUC:
        ranks = rankdata(score)

        def auc(labels: NDArray[np.float64]) -> NDArray[np.float64]:
            positives = labels.sum(axis=1)
            negatives = n - positives
            with np.errstate(divide="ignore", invalid="ignore"):  # a draw of one class: undefined, NaN
                return (labels @ ranks - positives * (positives + 1) / 2) / (positives * negatives)

        return auc
    if metric is MetricName.LOG_LOSS:
        clipped = np.clip(score, 1e-15, 1 - 1e-15)
        log_yes, log_no = np.log(clipped), np.log1p(-clipped)
        return lambda labels: -(labels @ (log_yes - log_no) + log_no.sum()) / n

    def from_counts(labels: NDArray[np.float64]) -> NDArray[np.float64]:
        tp, fp, fn, tn = counts(labels)
        with np.errstate(divide="ignore", invalid="ignore"):
            if metric is MetricName.ACCURACY:
                return (tp + tn) / n
            if metric is MetricName.PRECISION:
                return tp / (tp + fp)
            if metric is MetricName.RECALL:
                return tp / (tp + fn)
            if metric is MetricName.F1:
                return 2 * tp / (2 * tp + fp + fn)
            return (tp / (tp + fn) + tn / (tn + fp)) / 2  # balanced accuracy

    return from_counts


@dataclass(frozen=True)
class ClassCalibration:
    """A multiclass model's per-class scores mapped to class probabilities: one-vs-rest isotonic, then normalised.

    Each class's score is calibrated against "the label is this class", as NannyML's multiclass
    CBPE does, and a row's calibrated values are divided by their sum so they form a
    distribution over the classes. The calibration error is the classwise expected calibration
    error (the mean over classes of each class's ECE), before and after (cross-fitted).
    """

    models: tuple[IsotonicRegression, ...]  # one per class, in the score columns' order
    resampled: tuple[tuple[IsotonicRegression, ...], ...]  # per bootstrap resample, one per class
    raw_error: float
    error: float
    rows: int

    def probability(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """Rows x classes: each row a distribution over the classes."""
        return _normalised(self.models, scores)

    def resampled_probabilities(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """Bootstrap calibrations x rows x classes."""
        return np.stack([_normalised(models, scores) for models in self.resampled])


def _normalised(models: tuple[IsotonicRegression, ...], scores: NDArray[np.float64]) -> NDArray[np.float64]:
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


def calibrate_classes(scores: NDArray[np.float64], label: NDArray[np.int64], seed: int = 0) -> ClassCalibration:
    """Per-class isotonic calibration on all rows (``label`` indexes the score columns); error cross-fitted."""
    rng = np.random.default_rng(seed)
    classes = range(scores.shape[1])
    fold = rng.permutation(label.size) % 2 == 0
    held_out = np.empty_like(scores)
    for train in (fold, ~fold):
        part = tuple(_isotonic().fit(scores[train, k], label[train] == k) for k in classes)
        held_out[~train] = _normalised(part, scores[~train])
    resamples = (rng.integers(0, label.size, label.size) for _ in range(BOOTSTRAPS))
    raw = np.clip(scores, 0.0, 1.0)
    return ClassCalibration(
        models=tuple(_isotonic().fit(scores[:, k], label == k) for k in classes),
        resampled=tuple(
            tuple(_isotonic().fit(scores[rows, k], label[rows] == k) for k in classes) for rows in resamples
        ),
        raw_error=classwise_calibration_error(raw, label),
        error=classwise_calibration_error(held_out, label),
        rows=int(label.size),
    )


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

    The labels of each draw are scored with the same code as realized metrics
    (:func:`modelmonitor.engine.metrics.label_metric` over a stack of confusion matrices);
    the interval and its bias correction are :func:`estimate`'s.
    """
    if metric not in MULTICLASS_ESTIMABLE:
        raise ValueError(f"{metric} cannot be estimated for a multiclass model")
    classes = probability.shape[1]

    def per_draw(labels: NDArray[np.int64]) -> NDArray[np.float64]:
        cells = labels * classes + predicted[None, :]
        offset = np.arange(labels.shape[0])[:, None] * classes * classes
        counts = np.bincount((cells + offset).ravel(), minlength=labels.shape[0] * classes * classes)
        return label_metric(metric, counts.reshape(-1, classes, classes), average=average)

    simulate = functools.partial(_simulate_classes, per_draw)
    return _interval(simulate, probability, resampled, draws, seed, confidence)


def _simulate_classes(
    per_draw: Callable[[NDArray[np.int64]], NDArray[np.float64]],
    probability: NDArray[np.float64],
    draws: int,
    seed: int,
) -> NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    rows, classes = probability.shape
    below = np.cumsum(probability, axis=1)[:, :-1].astype(np.float32)  # class k is drawn when u passes k cut points
    block = max(1, _CELLS_PER_BLOCK // max(rows * classes, 1))
    found = []
    for start in range(0, draws, block):
        uniform = rng.random((min(block, draws - start), rows, 1), dtype=np.float32)
        labels = (uniform >= below[None]).sum(axis=2)
        found.append(per_draw(labels))
    return np.concatenate(found)
