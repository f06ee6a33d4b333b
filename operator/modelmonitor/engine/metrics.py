"""Performance metrics: the registry of their formulas, and the forms the checks call them in.

Each metric's formulas are one module of ``modelmonitor.engine.metric_formulas`` (see
``modelmonitor.engine.metric_definition``); this module imports the module of every
``MetricName`` and dispatches to it. Naming follows scikit-learn, against which the tests
check every formula: labels are integer class codes ``0..n_classes-1`` made by the caller;
the undefined case of a zero denominator scores 0 (``zero_division=0``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from modelmonitor.api.metrics import MetricName
from modelmonitor.api.vocabulary import snake_case
from modelmonitor.engine import metric_formulas
from modelmonitor.engine.metric_definition import ClassCounts, MetricFormula


def module_name(metric: MetricName) -> str:
    """The module of a metric's formulas: its spec name in snake case (``rocAuc``: ``roc_auc``)."""
    return snake_case(str(metric))


def _registered() -> dict[MetricName, MetricFormula]:
    package = metric_formulas.__name__
    return {metric: importlib.import_module(f"{package}.{module_name(metric)}").FORMULA for metric in MetricName}


FORMULAS = _registered()


def confusion_matrix(y_true: NDArray[np.integer], y_pred: NDArray[np.integer], n_classes: int) -> NDArray[np.int64]:
    """Counts with true classes in rows and predicted classes in columns.

    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0]), 2).tolist()
    [[1, 0], [1, 1]]
    """
    flat = np.bincount(y_true.astype(np.int64) * n_classes + y_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def grouped_confusion_matrices(
    groups: NDArray[np.integer], y_true: NDArray[np.integer], y_pred: NDArray[np.integer], n_groups: int, n_classes: int
) -> NDArray[np.int64]:
    """One confusion matrix per group (``groups`` numbers each row 0..n_groups-1), counted in one pass.

    >>> grouped_confusion_matrices(np.array([0, 1, 1]), np.array([0, 1, 1]), np.array([0, 1, 0]), 2, 2).tolist()
    [[[1, 0], [0, 0]], [[0, 0], [1, 1]]]
    """
    cells = (groups.astype(np.int64) * n_classes + y_true.astype(np.int64)) * n_classes + y_pred.astype(np.int64)
    flat = np.bincount(cells, minlength=n_groups * n_classes * n_classes)
    return flat.reshape(n_groups, n_classes, n_classes)


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
    of_counts = FORMULAS[name].of_counts
    if of_counts is None:
        raise ValueError(f"{name} is not computed from labels alone")
    return of_counts(ClassCounts.of(matrices), average, positive)


def regression_metric(name: MetricName, y_true: NDArray[np.float64], y_pred: NDArray[np.float64]) -> float:
    """mae, rmse, mape (a fraction, as scikit-learn) or r2 (1.0 for a perfect constant)."""
    return float(_of_errors(name)(y_true, y_pred))


def resampled_regression_metric(
    name: MetricName, y_true: NDArray[np.float64], y_pred: NDArray[np.float64], draws: NDArray[np.int64]
) -> NDArray[np.float64]:
    """:func:`regression_metric` of each resample (a row of ``draws``), in one pass."""
    return _of_errors(name)(y_true[draws], y_pred[draws])


def _of_errors(name: MetricName) -> Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]]:
    of_errors = FORMULAS[name].of_errors
    if of_errors is None:
        raise ValueError(f"{name} is not a regression metric")
    return of_errors


def resampled_score_metric(
    name: MetricName, y_true: NDArray[np.bool_], score: NDArray[np.float64]
) -> Callable[[NDArray[np.int64]], NDArray[np.float64]]:
    """A score metric of each bootstrap resample of the rows (a row of draws: indices into them)."""
    resampled = FORMULAS[name].resampled
    if resampled is None:
        raise ValueError(f"{name} is not computed from scores")
    return resampled(y_true, score)


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
    if (of_scores := FORMULAS[name].of_scores) is not None:
        if score is None:
            raise ValueError(f"{name} needs a score column")
        return of_scores(y_true == positive, score)
    matrix = confusion_matrix(y_true, y_pred, n_classes)
    return float(label_metric(name, matrix, average=average, positive=positive))
