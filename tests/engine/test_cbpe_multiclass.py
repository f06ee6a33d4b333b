"""Multiclass CBPE: a three-class model's label metrics estimated from per-class scores, checked against the labels."""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.cbpe_coverage import CLASS_AVERAGE as AVERAGE
from benchmarks.cbpe_coverage import MULTICLASS_REALIZED as REALIZED
from benchmarks.cbpe_coverage import multiclass_coverage as coverage
from benchmarks.cbpe_coverage import multiclass_scored as scored
from scipy import stats

from modelmonitor.api.metrics import MetricName
from modelmonitor.engine.cbpe_multiclass import (
    MULTICLASS_ESTIMABLE,
    _class_blocks,
    calibrate_classes,
    classwise_calibration_error,
    estimate_classes,
)


@pytest.mark.parametrize("metric", MULTICLASS_ESTIMABLE, ids=str)
def test_the_interval_holds_the_realized_value_at_the_nominal_rate(metric: MetricName) -> None:
    """95 % intervals over 100 seeds. Measured over 200 seeds (benchmarks/cbpe_coverage.py): 95-96 %."""
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
