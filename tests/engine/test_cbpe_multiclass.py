"""Multiclass CBPE: a three-class model's label metrics estimated from per-class scores, checked against the labels."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as sk

from modelmonitor.engine.cbpe import (
    MULTICLASS_ESTIMABLE,
    ClassCalibration,
    _class_blocks,
    calibrate_classes,
    classwise_calibration_error,
    estimate_classes,
)
from modelmonitor.spec import MetricName

WEIGHTS = np.array([[1.5, 0.0], [0.0, 1.5], [-1.0, -1.2]])  # three classes' logits over two features
AVERAGE = {MetricName.RECALL: "weighted"}  # one metric with the other average; the rest macro
REALIZED = {
    MetricName.ACCURACY: lambda y, yhat: sk.accuracy_score(y, yhat),
    MetricName.PRECISION: lambda y, yhat: sk.precision_score(y, yhat, average="macro", zero_division=0),
    MetricName.RECALL: lambda y, yhat: sk.recall_score(y, yhat, average="weighted", zero_division=0),
    MetricName.F1: lambda y, yhat: sk.f1_score(y, yhat, average="macro", zero_division=0),
    MetricName.BALANCED_ACCURACY: lambda y, yhat: sk.balanced_accuracy_score(y, yhat),
}


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def draw(rng: np.random.Generator, probability: np.ndarray) -> np.ndarray:
    return (rng.random((probability.shape[0], 1)) >= np.cumsum(probability, axis=1)[:, :-1]).sum(axis=1)


def scored(rng: np.random.Generator, rows: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-class scores of an overconfident softmax model, and labels drawn from the true class probabilities.

    ``shift`` moves both features (covariate shift): the relationship, and so the calibration, is kept.
    """
    features = rng.normal(shift, 1.0, (rows, 2))
    logits = features @ WEIGHTS.T
    return softmax(2.2 * logits + 0.3), draw(rng, softmax(logits))


@functools.cache
def calibrated(seed: int) -> ClassCalibration:
    return calibrate_classes(*scored(np.random.default_rng(seed), 5000))


def coverage(metric: MetricName, seeds: int, shift: float = 0.0, concept: bool = False) -> float:
    inside = 0
    for seed in range(seeds):
        calibration = calibrated(seed)
        rng = np.random.default_rng(10_000 + seed)
        scores, label = scored(rng, 2000, shift)
        if concept:  # the relationship changed: labels no longer follow the scores
            label = rng.integers(0, 3, label.size)
        predicted = scores.argmax(axis=1)
        found = estimate_classes(
            metric,
            calibration.probability(scores),
            calibration.resampled_probabilities(scores),
            predicted,
            average=AVERAGE.get(metric, "macro"),
            draws=300,
            seed=seed,
        )
        inside += found.lower <= REALIZED[metric](label, predicted) <= found.upper
    return inside / seeds


@pytest.mark.parametrize("metric", MULTICLASS_ESTIMABLE, ids=str)
def test_the_interval_holds_the_realized_value_at_the_nominal_rate(metric: MetricName) -> None:
    """95 % intervals over 100 seeds. Measured over 200 seeds (500 draws): 96-96.5 % for every metric."""
    assert 0.90 <= coverage(metric, 100) <= 0.99


@pytest.mark.parametrize("metric", [MetricName.ACCURACY, MetricName.F1], ids=str)
def test_a_covariate_shift_that_keeps_calibration_is_estimated_right(metric: MetricName) -> None:
    """Both features shifted by 0.5 standard deviations; measured at 0.7: accuracy 88 %, F1 94 % over 100 seeds."""
    assert 0.88 <= coverage(metric, 80, shift=0.5) <= 1.0


def test_a_concept_shift_is_cbpes_known_blind_spot() -> None:
    assert coverage(MetricName.ACCURACY, 30, concept=True) < 0.2


def test_certain_probabilities_give_scikit_learns_values_exactly() -> None:
    """One-hot distributions make every draw the true labels: the per-draw metrics are scikit-learn's."""
    rng = np.random.default_rng(7)
    label = rng.integers(0, 4, 600)
    predicted = np.where(rng.random(600) < 0.7, label, rng.integers(0, 4, 600))
    certain = np.eye(4)[label]
    for metric in MULTICLASS_ESTIMABLE:
        average = AVERAGE.get(metric, "macro")
        found = estimate_classes(metric, certain, certain[None], predicted, average=average, draws=4)
        expected = REALIZED[metric](label, predicted)
        assert found.value == pytest.approx(expected, abs=1e-12), metric
        assert found.lower == pytest.approx(expected, abs=1e-12) and found.upper == pytest.approx(expected, abs=1e-12)


def test_each_rows_label_is_drawn_from_its_distribution() -> None:
    """Chi-square goodness of fit of the drawn classes, row by row, over 3,000 draws."""
    probability = np.array([[0.7, 0.2, 0.1], [0.05, 0.05, 0.9], [1 / 3, 1 / 3, 1 / 3]])
    labels = np.concatenate(list(_class_blocks(probability, 3000, np.random.default_rng(1))))
    for row, expected in enumerate(probability):
        observed = np.bincount(labels[:, row], minlength=3)
        assert stats.chisquare(observed, expected * observed.sum()).pvalue > 0.001


def test_calibration_fixes_overconfident_scores_and_says_how_far_off_they_were() -> None:
    scores, label = scored(np.random.default_rng(3), 20_000)
    calibration = calibrate_classes(scores, label)
    assert calibration.raw_error > 0.04 and calibration.error < 0.02
    probability = calibration.probability(scores)
    assert np.allclose(probability.sum(axis=1), 1.0)
    assert classwise_calibration_error(probability, label) < calibration.error + 0.01


def test_classwise_calibration_error_is_the_mean_of_each_classs_error() -> None:
    probability = np.array([[0.8, 0.2], [0.8, 0.2], [0.2, 0.8], [0.2, 0.8]])
    label = np.array([0, 1, 1, 1])  # four rows, so one row per bin: class 0 is off by 0.2, 0.8, 0.2, 0.2; class 1 too
    assert classwise_calibration_error(probability, label) == pytest.approx(0.35)


def test_score_metrics_are_not_estimated_for_multiclass() -> None:
    with pytest.raises(ValueError, match="rocAuc cannot be estimated for a multiclass model"):
        estimate_classes(MetricName.ROC_AUC, np.full((3, 2), 0.5), np.full((1, 3, 2), 0.5), np.zeros(3, np.int64))
