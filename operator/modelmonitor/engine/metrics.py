"""Performance metrics, vectorised with numpy and cross-checked against scikit-learn.

Naming follows scikit-learn: labels are integer class codes ``0..n_classes-1`` made by
the caller; the undefined case of a zero denominator scores 0 (``zero_division=0``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

from modelmonitor.api.metrics import MetricName

_EPS = np.finfo(np.float64).eps


def confusion_matrix(y_true: NDArray[np.integer], y_pred: NDArray[np.integer], n_classes: int) -> NDArray[np.int64]:
    """Counts with true classes in rows and predicted classes in columns.

    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0]), 2).tolist()
    [[1, 0], [1, 1]]
    """
    flat = np.bincount(y_true.astype(np.int64) * n_classes + y_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def _divide(numerator: NDArray[np.float64], denominator: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.zeros_like(numerator, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _average(
    per_class: NDArray[np.float64], support: NDArray[np.int64], present: NDArray[np.bool_], average: str, positive: int
) -> NDArray[np.float64]:
    if average == "binary":
        return per_class[..., positive]
    if average == "weighted":
        return _divide((per_class * support).sum(axis=-1), support.sum(axis=-1).astype(np.float64))
    return _divide((per_class * present).sum(axis=-1), present.sum(axis=-1).astype(np.float64))


def label_metric(
    name: MetricName, matrices: NDArray[np.int64], *, average: str = "binary", positive: int = 1
) -> NDArray[np.float64]:
    """A label metric of each confusion matrix in a stack (``..., n_classes, n_classes``), as scikit-learn has it.

    Averages run over the classes that occur among the labels or the predictions, as scikit-learn's
    do when it is not given the labels; a stack lets performance estimation score many simulated
    labelings at once with this same code.

    >>> label_metric(MetricName.ACCURACY, np.array([[[3, 1], [0, 4]], [[2, 2], [2, 2]]])).tolist()
    [0.875, 0.5]
    """
    true_positives = np.diagonal(matrices, axis1=-2, axis2=-1).astype(np.float64)
    predicted = matrices.sum(axis=-2).astype(np.float64)
    support = matrices.sum(axis=-1)
    if name is MetricName.ACCURACY:
        total = support.sum(axis=-1)
        return np.where(total > 0, true_positives.sum(axis=-1) / np.maximum(total, 1), np.nan)
    recall = _divide(true_positives, support.astype(np.float64))
    if name is MetricName.BALANCED_ACCURACY:
        present = support > 0
        return np.where(present.any(axis=-1), _average(recall, support, present, "macro", positive), np.nan)
    if name is MetricName.PRECISION:
        per_class = _divide(true_positives, predicted)
    elif name is MetricName.RECALL:
        per_class = recall
    elif name is MetricName.F1:
        per_class = _divide(2 * true_positives, predicted + support)
    else:
        raise ValueError(f"{name} is not computed from labels alone")
    return _average(per_class, support, (support + predicted) > 0, average, positive)


def roc_auc_score(y_true: NDArray[np.bool_], score: NDArray[np.float64]) -> float:
    """Area under the ROC curve as the Mann-Whitney U statistic (ties count one half).

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


def resampled_regression_metric(
    name: MetricName, y_true: NDArray[np.float64], y_pred: NDArray[np.float64], draws: NDArray[np.int64]
) -> NDArray[np.float64]:
    """:func:`regression_metric` of each resample (a row of ``draws``), in one pass."""
    return _regression_along_last_axis(name, y_true[draws], y_pred[draws])


def log_losses(y_true: NDArray[np.bool_], score: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each row's loss: log_loss is their mean."""
    if np.any((score < 0) | (score > 1)):
        raise ValueError("logLoss needs scores that are probabilities in [0, 1]")
    clipped = np.clip(score, _EPS, 1 - _EPS)
    return -np.where(y_true, np.log(clipped), np.log1p(-clipped))


def log_loss(y_true: NDArray[np.bool_], score: NDArray[np.float64]) -> float:
    return float(np.mean(log_losses(y_true, score)))


def regression_metric(name: MetricName, y_true: NDArray[np.float64], y_pred: NDArray[np.float64]) -> float:
    """mae, rmse, mape (a fraction, as scikit-learn) or r2 (1.0 for a perfect constant)."""
    return float(_regression_along_last_axis(name, y_true, y_pred))


def _regression_along_last_axis(
    name: MetricName, truth: NDArray[np.float64], predicted: NDArray[np.float64]
) -> NDArray[np.float64]:
    """A regression metric of the rows along the last axis: one set of rows, or a stack of resamples."""
    errors = predicted - truth
    if name is MetricName.MAE:
        return np.mean(np.abs(errors), axis=-1)
    if name is MetricName.RMSE:
        return np.sqrt(np.mean(errors**2, axis=-1))
    if name is MetricName.MAPE:
        return np.mean(np.abs(errors) / np.maximum(np.abs(truth), _EPS), axis=-1)
    if name is MetricName.R2:
        residual = np.sum(errors**2, axis=-1)
        total = np.sum((truth - truth.mean(axis=-1, keepdims=True)) ** 2, axis=-1)
        constant = np.where(residual == 0, 1.0, 0.0)  # a perfect constant scores 1, any error 0
        return np.where(total == 0, constant, 1.0 - residual / np.where(total == 0, 1.0, total))
    raise ValueError(f"{name} is not a regression metric")


def classification_metric(
    name: MetricName,
    y_true: NDArray[np.integer],
    y_pred: NDArray[np.integer],
    *,
    n_classes: int,
    positive: int,
    average: str,
    score: NDArray[np.float64] | None = None,
) -> float:
    """One classification metric over integer-coded labels and predictions."""
    if name in (MetricName.ROC_AUC, MetricName.LOG_LOSS):
        if score is None:
            raise ValueError(f"{name} needs a score column")
        positives = y_true == positive
        return roc_auc_score(positives, score) if name is MetricName.ROC_AUC else log_loss(positives, score)
    matrix = confusion_matrix(y_true, y_pred, n_classes)
    return float(label_metric(name, matrix, average=average, positive=positive))
