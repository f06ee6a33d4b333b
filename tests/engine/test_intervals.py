"""Bootstrap intervals against the binomial truth, at their nominal rate over many seeds."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from modelmonitor.api.metrics import MetricName
from modelmonitor.engine.intervals import bootstrap_standard_error, counted_standard_error, normal_interval
from modelmonitor.engine.metrics import label_metric


def _accuracy(correct: np.ndarray):
    return lambda draws: correct[draws].mean(axis=1)


@pytest.mark.parametrize("rows", [400, 50_000])  # the second draws 5,000 of 50,000 rows and rescales
def test_the_standard_error_of_a_proportion_matches_the_binomial_one(rows: int) -> None:
    correct = np.random.default_rng(rows).random(rows) < 0.8
    p = correct.mean()
    errors = [bootstrap_standard_error(_accuracy(correct), rows, resamples=200, seed=seed) for seed in range(5)]
    assert np.mean(errors) == pytest.approx(np.sqrt(p * (1 - p) / rows), rel=0.08)


@pytest.mark.parametrize("rows", [400, 50_000])
def test_drawing_counts_gives_the_binomial_standard_error_too(rows: int) -> None:
    """The bootstrap of a confusion matrix's cells, as rows drawn would fill them."""
    right, wrong = int(0.8 * rows) // 2, int(0.2 * rows) // 2
    matrix = np.array([[right, wrong], [wrong, right]])
    p, rows = 0.8, int(matrix.sum())

    def accuracy(matrices: np.ndarray) -> np.ndarray:
        return label_metric(MetricName.ACCURACY, matrices)

    errors = [counted_standard_error(accuracy, matrix, resamples=200, seed=seed) for seed in range(5)]
    assert np.mean(errors) == pytest.approx(np.sqrt(p * (1 - p) / rows), rel=0.08)
    assert counted_standard_error(accuracy, np.array([[1, 0], [0, 0]])) is None


def test_the_interval_covers_the_true_accuracy_at_its_nominal_rate() -> None:
    covered, wilson_covered, trials, rows, truth = 0, 0, 300, 300, 0.85
    for seed in range(trials):
        correct = np.random.default_rng(seed).random(rows) < truth
        error = bootstrap_standard_error(_accuracy(correct), rows, seed=seed)
        assert error is not None
        lower, upper = normal_interval(float(correct.mean()), error, confidence=0.95, low=0.0, high=1.0)
        covered += lower <= truth <= upper
        w_low, w_high = proportion_confint(int(correct.sum()), rows, alpha=0.05, method="wilson")
        wilson_covered += w_low <= truth <= w_high
    assert 0.90 <= covered / trials <= 0.98, covered / trials
    assert abs(covered - wilson_covered) / trials < 0.04  # as good as the Wilson interval here


def test_undefined_or_tiny_cases_say_so() -> None:
    assert bootstrap_standard_error(lambda draws: np.ones(len(draws)), 1) is None
    assert bootstrap_standard_error(lambda draws: np.full(len(draws), np.nan), 100) is None


def test_the_interval_is_clipped_to_the_metric_range() -> None:
    assert normal_interval(0.99, 0.05, confidence=0.95, low=0.0, high=1.0)[1] == 1.0
    lower, upper = normal_interval(0.5, 0.1, confidence=0.95)
    assert lower == pytest.approx(0.5 - 1.959964 * 0.1) and upper == pytest.approx(0.5 + 1.959964 * 0.1)
