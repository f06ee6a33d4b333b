"""Metrics against scikit-learn: random data, every average, and the edge cases."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from sklearn import metrics as sk

from modelmonitor.api.metrics import MetricName
from modelmonitor.engine.metric_formulas.log_loss import log_loss
from modelmonitor.engine.metric_formulas.roc_auc import resampled_roc_auc, roc_auc_score
from modelmonitor.engine.metrics import (
    classification_metric,
    label_metric,
    regression_metric,
    resampled_regression_metric,
)

SKLEARN_CLASSIFICATION = {
    MetricName.ACCURACY: lambda t, p, avg: sk.accuracy_score(t, p),
    MetricName.BALANCED_ACCURACY: lambda t, p, avg: sk.balanced_accuracy_score(t, p),
    MetricName.PRECISION: lambda t, p, avg: sk.precision_score(t, p, average=avg, zero_division=0),
    MetricName.RECALL: lambda t, p, avg: sk.recall_score(t, p, average=avg, zero_division=0),
    MetricName.F1: lambda t, p, avg: sk.f1_score(t, p, average=avg, zero_division=0),
}


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("name", list(SKLEARN_CLASSIFICATION))
@pytest.mark.parametrize(("n_classes", "average"), [(2, "binary"), (2, "macro"), (3, "macro"), (4, "weighted")])
def test_classification_metrics_match_scikit_learn(seed: int, name: MetricName, n_classes: int, average: str) -> None:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, n_classes, 500)
    y_pred = np.where(rng.random(500) < 0.7, y_true, rng.integers(0, n_classes, 500))
    ours = classification_metric(name, y_true, y_pred, n_classes=n_classes, positive=1, average=average)
    theirs = SKLEARN_CLASSIFICATION[name](y_true, y_pred, average)
    assert ours == pytest.approx(theirs, abs=1e-12)


@pytest.mark.parametrize("name", list(SKLEARN_CLASSIFICATION))
@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_a_class_absent_from_the_window_is_left_out_of_the_averages_as_in_scikit_learn(
    name: MetricName, average: str
) -> None:
    """Class 3 is known (seen in a baseline, say) but occurs in neither labels nor predictions here."""
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 3, 400)
    y_pred = np.where(rng.random(400) < 0.6, y_true, rng.integers(0, 3, 400))
    ours = classification_metric(name, y_true, y_pred, n_classes=4, positive=1, average=average)
    assert ours == pytest.approx(SKLEARN_CLASSIFICATION[name](y_true, y_pred, average), abs=1e-12)


@pytest.mark.parametrize("name", list(SKLEARN_CLASSIFICATION))
def test_a_stack_of_confusion_matrices_is_scored_matrix_by_matrix(name: MetricName) -> None:
    rng = np.random.default_rng(4)
    stack = rng.integers(0, 30, (6, 3, 3))
    stack[2, 1, :] = stack[2, :, 1] = 0  # class 1 absent from one draw
    each = [float(label_metric(name, matrix, average="macro")) for matrix in stack]
    assert label_metric(name, stack, average="macro").tolist() == pytest.approx(each, abs=1e-12)


def test_balanced_accuracy_of_no_rows_is_undefined() -> None:
    assert np.isnan(label_metric(MetricName.BALANCED_ACCURACY, np.zeros((2, 2), np.int64)))


@pytest.mark.parametrize("seed", range(5))
def test_score_metrics_match_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, 1000)
    score = np.clip(y_true * 0.3 + rng.random(1000) * 0.7, 0, 1).round(2)  # rounding makes ties
    kwargs = {"n_classes": 2, "positive": 1, "average": "binary", "score": score}
    assert classification_metric(MetricName.ROC_AUC, y_true, y_true, **kwargs) == pytest.approx(
        sk.roc_auc_score(y_true, score), abs=1e-12
    )
    assert classification_metric(MetricName.LOG_LOSS, y_true, y_true, **kwargs) == pytest.approx(
        sk.log_loss(y_true, score), rel=1e-9
    )


def test_zero_division_scores_zero_like_scikit_learn() -> None:
    y_true = np.array([0, 0, 0, 0])
    y_pred = np.array([0, 0, 0, 0])
    for name in (MetricName.PRECISION, MetricName.RECALL, MetricName.F1):
        assert classification_metric(name, y_true, y_pred, n_classes=2, positive=1, average="binary") == 0.0


def test_roc_auc_is_undefined_for_one_class() -> None:
    with pytest.raises(ValueError, match="only one class"):
        roc_auc_score(np.array([True, True]), np.array([0.2, 0.9]))


def test_log_loss_rejects_scores_outside_probabilities() -> None:
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        classification_metric(
            MetricName.LOG_LOSS,
            np.array([0, 1]),
            np.array([0, 1]),
            n_classes=2,
            positive=1,
            average="binary",
            score=np.array([0.5, 1.5]),
        )


def test_f1_is_the_harmonic_mean_of_precision_and_recall() -> None:
    rng = np.random.default_rng(7)
    y_true, y_pred = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    values = {
        name: classification_metric(name, y_true, y_pred, n_classes=2, positive=1, average="binary")
        for name in (MetricName.PRECISION, MetricName.RECALL, MetricName.F1)
    }
    p, r = values[MetricName.PRECISION], values[MetricName.RECALL]
    assert values[MetricName.F1] == pytest.approx(2 * p * r / (p + r), abs=1e-12)


SKLEARN_REGRESSION = {
    MetricName.MAE: sk.mean_absolute_error,
    MetricName.RMSE: lambda t, p: np.sqrt(sk.mean_squared_error(t, p)),
    MetricName.MAPE: sk.mean_absolute_percentage_error,
    MetricName.R2: sk.r2_score,
}


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("name", list(SKLEARN_REGRESSION))
def test_regression_metrics_match_scikit_learn(seed: int, name: MetricName) -> None:
    rng = np.random.default_rng(seed)
    y_true = rng.normal(10, 3, 400)
    y_true[:3] = 0.0  # MAPE's epsilon policy
    y_pred = y_true + rng.normal(0, 1, 400)
    assert regression_metric(name, y_true, y_pred) == pytest.approx(SKLEARN_REGRESSION[name](y_true, y_pred), rel=1e-9)


def test_r2_of_a_constant_target_follows_scikit_learn() -> None:
    constant = np.full(5, 3.0)
    assert regression_metric(MetricName.R2, constant, constant) == sk.r2_score(constant, constant) == 1.0
    assert regression_metric(MetricName.R2, constant, constant + 1) == sk.r2_score(constant, constant + 1) == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_resampled_roc_auc_scores_each_resample_as_scikit_learn_does(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = int(rng.integers(5, 400))
    positives = rng.random(rows) < rng.uniform(0.05, 0.6)
    score = np.round(rng.random(rows), int(rng.integers(1, 4)))  # rounded: many ties
    draws = rng.integers(0, rows, (40, rows))
    values = resampled_roc_auc(positives, score, draws)
    for index, resample in enumerate(draws):
        truth = positives[resample]
        if truth.all() or not truth.any():
            assert np.isnan(values[index])
        else:
            assert values[index] == pytest.approx(sk.roc_auc_score(truth, score[resample]), abs=1e-12)


def test_resampled_roc_auc_takes_memory_for_the_draws_not_the_rows_they_come_from() -> None:
    """50 resamples of 5,000 from 2M rows: a weight per row and resample held 50 x 2M counts (800 MB; 16 GB at 10M)."""
    rng = np.random.default_rng(3)
    rows = 2_000_000
    positives, score = rng.random(rows) < 0.3, rng.random(rows)
    draws = rng.integers(0, rows, (50, 5000))
    tracemalloc.start()
    try:
        values = resampled_roc_auc(positives, score, draws)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20
    assert values[0] == pytest.approx(sk.roc_auc_score(positives[draws[0]], score[draws[0]]), abs=1e-12)


@pytest.mark.parametrize("name", [MetricName.MAE, MetricName.RMSE, MetricName.MAPE, MetricName.R2])
def test_resampled_regression_metrics_score_each_resample_as_one_by_one(name: MetricName) -> None:
    rng = np.random.default_rng(7)
    y_true = np.r_[rng.normal(10, 3, 200), np.full(5, 2.0)]
    y_pred = y_true + rng.normal(0, 1, y_true.size)
    draws = np.vstack([rng.integers(0, y_true.size, (30, y_true.size)), np.full((1, y_true.size), 204)])
    values = resampled_regression_metric(name, y_true, y_pred, draws)
    expected = [regression_metric(name, y_true[resample], y_pred[resample]) for resample in draws]
    np.testing.assert_allclose(values, expected, rtol=1e-12)


def test_log_loss_still_matches_scikit_learn() -> None:
    rng = np.random.default_rng(4)
    truth, score = rng.random(300) < 0.3, rng.random(300)
    assert log_loss(truth, score) == pytest.approx(sk.log_loss(truth, score))
