"""Isotonic curves fitted on weights of once-sorted scores, against scikit-learn's IsotonicRegression on the rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from modelmonitor.engine.isotonic import SortedScores

PROBE = np.linspace(-0.2, 1.2, 1401)  # inside the scores' range and beyond both ends


def scikit_learn(score: np.ndarray, label: np.ndarray) -> IsotonicRegression:
    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(score, label)


def scored(seed: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    score = np.round(rng.beta(2, 3, rows), 2 if seed % 2 else 6)  # odd seeds: many ties
    return score, rng.random(rows) < score**0.7


@pytest.mark.parametrize("seed", range(20))
def test_a_bootstrap_resample_counted_as_weights_fits_as_the_resampled_rows_do(seed: int) -> None:
    score, label = scored(seed, 3000)
    rows = np.random.default_rng(100 + seed).integers(0, score.size, score.size)
    counts = np.bincount(rows, minlength=score.size)
    ours = SortedScores(score).fit(label, counts)
    assert np.allclose(ours.predict(PROBE), scikit_learn(score[rows], label[rows]).predict(PROBE), atol=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_a_half_weighted_zero_and_one_fits_as_that_half_alone(seed: int) -> None:
    score, label = scored(seed, 2000)
    half = np.random.default_rng(seed).permutation(score.size) % 2 == 0
    sorted_once = SortedScores(score)
    for train in (half, ~half):
        expected = scikit_learn(score[train], label[train]).predict(PROBE)
        assert np.allclose(sorted_once.fit(label, train).predict(PROBE), expected, atol=1e-12)
    assert np.allclose(sorted_once.fit(label).predict(PROBE), scikit_learn(score, label).predict(PROBE), atol=1e-12)


def test_the_curve_keeps_only_the_ends_of_its_flat_stretches() -> None:
    score, label = scored(0, 20_000)
    curve = SortedScores(score).fit(label)
    assert curve.x.size < np.unique(score).size / 10
    assert np.all(np.diff(curve.x) > 0) and np.all(np.diff(curve.y) >= 0)


def test_one_distinct_score_is_a_constant_and_no_rows_is_refused() -> None:
    curve = SortedScores(np.full(5, 0.3)).fit(np.array([1, 0, 0, 1, 1], bool))
    assert np.array_equal(curve.predict(np.array([0.0, 0.3, 1.0])), np.full(3, 0.6))
    with pytest.raises(ValueError, match="at least one row of positive weight"):
        SortedScores(np.array([0.1, 0.2])).fit(np.array([True, False]), np.zeros(2))
    with pytest.raises(ValueError, match="at least one row of positive weight"):
        SortedScores(np.array([])).fit(np.array([], bool))
