"""Confidence-based performance estimation (CBPE): a binary classifier's metrics on rows whose labels have not arrived.

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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata
from sklearn.isotonic import IsotonicRegression

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
    fitted = _finite(_simulate(per_draw, probability, draws, seed))
    shares = np.array_split(np.arange(draws), resampled.shape[0])
    spread = _finite(
        np.concatenate(
            [
                _simulate(per_draw, row, share.size, seed + 1 + index)
                for index, (row, share) in enumerate(zip(resampled, shares, strict=True))
                if share.size
            ]
        )
    )
    if fitted.size == 0 or spread.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), int(probability.size))
    corrected = spread + 2 * (fitted.mean() - spread.mean())
    tail = (1 - confidence) / 2 * 100
    lower, upper = np.percentile(corrected, [tail, 100 - tail])
    return Estimate(float(corrected.mean()), float(lower), float(upper), int(probability.size))


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
