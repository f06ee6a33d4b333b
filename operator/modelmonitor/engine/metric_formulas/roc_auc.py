"""The area under the ROC curve, as the Mann-Whitney U statistic (ties count one half)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

from modelmonitor.api.comparison import ArmEstimate, Interval
from modelmonitor.engine.confidence_sequence import ArmData, half_width, mixture_rho
from modelmonitor.engine.metric_definition import LabelingSums, MetricFormula


def roc_auc_score(y_true: NDArray[np.bool_], score: NDArray[np.float64]) -> float:
    """
    >>> roc_auc_score(np.array([False, False, True, True]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    positives = int(y_true.sum())
    negatives = y_true.size - positives
    if positives == 0 or negatives == 0:
        raise ValueError("rocAuc is undefined when only one class is present in the labels")
    ranks = rankdata(score)
    u_statistic = ranks[y_true].sum() - positives * (positives + 1) / 2
    return float(u_statistic / (positives * negatives))


def resampled_roc_auc(
    y_true: NDArray[np.bool_], score: NDArray[np.float64], draws: NDArray[np.int64]
) -> NDArray[np.float64]:
    """:func:`roc_auc_score` of each resample (a row of ``draws``: indices into the rows), all at once.

    Each resample's drawn scores are ranked along their row (ties, and a row drawn twice, share
    their mean rank), and its Mann-Whitney U statistic read from the positives' ranks. Memory and
    time follow the draws (resamples x drawn), not the rows they are drawn from. NaN for a
    resample with one class only.
    """
    resamples, drawn = draws.shape
    scores = score[draws]
    order = np.argsort(scores, axis=1, kind="stable")
    ranked = np.take_along_axis(scores, order, axis=1)
    positive = np.take_along_axis(y_true[draws], order, axis=1)
    starts = np.ones_like(ranked, dtype=bool)  # a tie group starts at each new value and at each resample's start
    starts[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
    group = np.cumsum(starts.ravel()) - 1
    place = np.tile(np.arange(1, drawn + 1, dtype=np.float64), resamples)
    mean_rank = np.bincount(group, weights=place) / np.bincount(group)
    ranks = mean_rank[group].reshape(resamples, drawn)
    positives = positive.sum(axis=1).astype(np.float64)
    pairs = positives * (drawn - positives)
    u_statistic = (ranks * positive).sum(axis=1) - positives * (positives + 1) / 2
    return np.divide(u_statistic, pairs, out=np.full(resamples, np.nan), where=pairs > 0)


def _resampled(
    y_true: NDArray[np.bool_], score: NDArray[np.float64]
) -> Callable[[NDArray[np.int64]], NDArray[np.float64]]:
    return lambda draws: resampled_roc_auc(y_true, score, draws)


def of_labelings(sums: LabelingSums) -> NDArray[np.float64]:
    """The U statistic from the positives' rank sum; NaN for a labelling of one class."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (sums.ranks - sums.positives * (sums.positives + 1) / 2) / (
            sums.positives * (sums.rows - sums.positives)
        )


def sequence_interval(arm: ArmData, *, alpha: float, n_star: int, positive: int) -> ArmEstimate:
    """AUC with DeLong's variance: the influence-function standard deviation in the same boundary."""
    if arm.score is None:
        raise ValueError("rocAuc needs scores")
    is_positive = arm.y_true == positive
    positives, negatives = arm.score[is_positive], arm.score[~is_positive]
    rows = len(arm.y_true)
    if len(positives) < 2 or len(negatives) < 2:
        return ArmEstimate(math.nan, Interval(0.0, 1.0), rows)
    auc = roc_auc_score(is_positive, arm.score)
    # DeLong: placement values of each positive among negatives and vice versa
    order = np.sort(negatives)
    v10 = (np.searchsorted(order, positives, "left") + np.searchsorted(order, positives, "right")) / (2 * len(order))
    order = np.sort(positives)
    v01 = 1 - (np.searchsorted(order, negatives, "left") + np.searchsorted(order, negatives, "right")) / (
        2 * len(order)
    )
    variance = v10.var(ddof=1) / len(positives) + v01.var(ddof=1) / len(negatives)
    sd = math.sqrt(max(variance, 1.0 / (4 * rows * rows)) * rows)
    width = half_width(sd, rows, alpha, mixture_rho(n_star, alpha))
    return ArmEstimate(auc, Interval(max(auc - width, 0.0), min(auc + width, 1.0)), rows)


FORMULA = MetricFormula(
    of_scores=roc_auc_score,
    resampled=_resampled,
    of_labelings=of_labelings,
    ranked=True,
    sequence_interval=sequence_interval,
)
