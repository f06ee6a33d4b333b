"""Log loss (cross-entropy) of the positive class's probability."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from modelmonitor.engine.confidence_sequence import ArmData
from modelmonitor.engine.metric_definition import EPS, Combine, LabelingSums, MetricFormula, Parts, only

SEQUENCE_CLIP = 1e-15  # scikit-learn's historical clip, kept for the rollout's per-row losses


def log_losses(y_true: NDArray[np.bool_], score: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each row's loss: log_loss is their mean."""
    if np.any((score < 0) | (score > 1)):
        raise ValueError("logLoss needs scores that are probabilities in [0, 1]")
    clipped = np.clip(score, EPS, 1 - EPS)
    return -np.where(y_true, np.log(clipped), np.log1p(-clipped))


def log_loss(y_true: NDArray[np.bool_], score: NDArray[np.float64]) -> float:
    return float(np.mean(log_losses(y_true, score)))


def _resampled(
    y_true: NDArray[np.bool_], score: NDArray[np.float64]
) -> Callable[[NDArray[np.int64]], NDArray[np.float64]]:
    losses = log_losses(y_true, score)  # once: each resample is a mean of some of them
    return lambda draws: losses[draws].mean(axis=1)


def of_labelings(sums: LabelingSums) -> NDArray[np.float64]:
    """Each row's loss is -log(1 - s), less log(s) - log(1 - s) where it is labelled positive."""
    return -(sums.log_odds + sums.log_negatives) / sums.rows


def sequence_parts(arm: ArmData, n_classes: int, positive: int, average: str) -> tuple[Parts, Combine]:
    if arm.score is None:
        raise ValueError("logLoss needs scores")
    p = np.clip(arm.score, SEQUENCE_CLIP, 1 - SEQUENCE_CLIP)
    is_positive = arm.y_true == positive
    return [(-np.where(is_positive, np.log(p), np.log(1 - p)), False)], only


FORMULA = MetricFormula(
    of_scores=log_loss, resampled=_resampled, of_labelings=of_labelings, sequence_parts=sequence_parts, per_row=True
)
