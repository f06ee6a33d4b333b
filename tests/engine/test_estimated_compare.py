"""The label-free comparison of two versions: expected values, their always-valid interval, and the guard."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from sklearn.metrics import log_loss

from modelmonitor.api.metrics import MetricName
from modelmonitor.engine.cbpe import Calibration, calibrate, estimate
from modelmonitor.engine.confidence_sequence import ArmData
from modelmonitor.engine.estimated_compare import (
    Expectation,
    calibration_residual,
    estimable_by_rows,
    estimated_compare,
    expectation,
    expected_values,
)

SLOPE = 1.5  # P(y = 1 | x) = expit(1.5 x)
WORSE = 1.05  # the score's noise that costs a model about 0.05 accuracy (0.735 -> 0.685, measured on 2M rows)


def served(rng: np.random.Generator, rows: int, noise: float, slope: float = SLOPE) -> tuple[np.ndarray, np.ndarray]:
    """A model's scores and the true labels: its score is the truth's log-odds plus noise (0: the truth itself)."""
    x = rng.normal(size=rows)
    labels = rng.random(rows) < expit(slope * x)
    return expit(SLOPE * x + noise * rng.normal(size=rows)), labels


def expected(metric: MetricName, calibration: Calibration, score: np.ndarray) -> Expectation:
    probability = calibration.probability(score)
    resampled = calibration.resampled_probabilities(score)
    two = np.stack([1 - probability, probability], axis=-1)
    both = np.stack([np.stack([1 - row, row], axis=-1) for row in resampled])
    arm = ArmData(np.full(score.size, np.nan), (score > 0.5).astype(float), score)
    return expectation(metric, two, both, arm)


def version(rng: np.random.Generator, noise: float, reference_rows: int = 10_000) -> Calibration:
    score, labels = served(rng, reference_rows, noise)
    return calibrate(score, labels, seed=int(rng.integers(1 << 30)))


def test_only_means_over_rows_have_expected_values() -> None:
    assert estimable_by_rows(MetricName.ACCURACY) and estimable_by_rows(MetricName.LOG_LOSS)
    assert not any(estimable_by_rows(name) for name in (MetricName.F1, MetricName.ROC_AUC, MetricName.MAE))
    with pytest.raises(ValueError, match="accuracy or logLoss"):
        expected_values(MetricName.F1, np.full((2, 2), 0.5), ArmData(np.zeros(2), np.zeros(2), None))


def test_expected_accuracy_is_the_predicted_class_probability() -> None:
    probability = np.array([[0.2, 0.8], [0.7, 0.3], [0.1, 0.9]])
    arm = ArmData(np.full(3, np.nan), np.array([1.0, 1.0, 0.0]), None)
    assert expected_values(MetricName.ACCURACY, probability, arm).tolist() == pytest.approx([0.8, 0.3, 0.1])
    # three classes: the probability of the class predicted
    three = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
    arm = ArmData(np.full(2, np.nan), np.array([2.0, 0.0]), None)
    assert expected_values(MetricName.ACCURACY, three, arm, average="macro").tolist() == pytest.approx([0.3, 0.6])


def test_expected_log_loss_agrees_with_scikit_learn_on_weighted_labels() -> None:
    rng = np.random.default_rng(3)
    score, truth = rng.uniform(0.05, 0.95, 400), rng.uniform(0, 1, 400)
    arm = ArmData(np.full(400, np.nan), (score > 0.5).astype(float), score)
    found = expected_values(MetricName.LOG_LOSS, np.column_stack([1 - truth, truth]), arm).mean()
    # each row counted once as positive with weight p, once as negative with weight 1 - p
    labels = np.concatenate([np.ones(400), np.zeros(400)])
    weights = np.concatenate([truth, 1 - truth])
    assert found == pytest.approx(log_loss(labels, np.tile(score, 2), sample_weight=weights), rel=1e-9)


def test_the_mean_expected_accuracy_is_cbpes_simulated_estimate() -> None:
    rng = np.random.default_rng(5)
    calibration = version(rng, 0.5, 5_000)
    score, _ = served(rng, 20_000, 0.5)
    found = expected(MetricName.ACCURACY, calibration, score)
    simulated = estimate(
        MetricName.ACCURACY,
        calibration.probability(score),
        calibration.resampled_probabilities(score),
        score > 0.5,
        score,
    )
    assert found.values.mean() == pytest.approx(simulated.value, abs=0.002)
    # the calibration's spread is the one the simulation's interval carries, less the labels' own noise
    assert 0.3 < found.bootstrap_means.std(ddof=1) / simulated.standard_error < 1.0


def test_equal_versions_are_rarely_called_worse_at_any_look() -> None:
    """200 rollouts of two equal versions, each looked at after 1k, 2k, 4k, 8k and 16k rows an arm."""
    alpha, looks, wrong, covered = 0.05, (1_000, 2_000, 4_000, 8_000, 16_000), 0, 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        calibrations = [version(rng, 0.5, 5_000) for _ in range(2)]
        scores = [served(rng, looks[-1], 0.5)[0] for _ in range(2)]
        ever_wrong = ever_missed = False
        for rows in looks:
            base, cand = (expected(MetricName.ACCURACY, c, s[:rows]) for c, s in zip(calibrations, scores, strict=True))
            found = estimated_compare(MetricName.ACCURACY, base, cand, alpha=alpha, n_star=500)
            ever_wrong |= found.interval.high < 0 or found.interval.low > 0
            ever_missed |= not found.interval.low <= 0 <= found.interval.high
        wrong += ever_wrong
        covered += not ever_missed
    assert wrong / 200 <= alpha
    assert covered / 200 >= 1 - alpha


def test_a_worse_version_is_found_and_its_difference_covered() -> None:
    truth = -0.049  # 0.735 against 0.686: measured once on 2M rows (see WORSE)
    found_worse = covered = 0
    for seed in range(40):
        rng = np.random.default_rng(1000 + seed)
        base_cal, cand_cal = version(rng, 0.0), version(rng, WORSE)
        base = expected(MetricName.ACCURACY, base_cal, served(rng, 10_000, 0.0)[0])
        cand = expected(MetricName.ACCURACY, cand_cal, served(rng, 10_000, WORSE)[0])
        found = estimated_compare(MetricName.ACCURACY, base, cand, alpha=0.05, n_star=500)
        found_worse += found.interval.high < -0.01
        covered += found.interval.low <= truth <= found.interval.high
    assert found_worse >= 36  # 90 %
    assert covered == 40


def test_pairs_narrow_the_interval() -> None:
    """Both versions answer the same 5,000 requests: the per-request differences vary far less than either arm."""
    rng = np.random.default_rng(11)
    base_cal, cand_cal = version(rng, 0.5), version(rng, 0.5)
    x = rng.normal(size=5_000)
    base_score = expit(SLOPE * x + 0.5 * rng.normal(size=5_000))
    cand_score = expit(SLOPE * x + 0.5 * rng.normal(size=5_000))
    base, cand = (
        expected(MetricName.ACCURACY, base_cal, base_score),
        expected(MetricName.ACCURACY, cand_cal, cand_score),
    )
    two = estimated_compare(MetricName.ACCURACY, base, cand, alpha=0.05, n_star=500)
    paired = estimated_compare(MetricName.ACCURACY, base, cand, alpha=0.05, n_star=500, paired=True)
    assert paired.difference == pytest.approx(two.difference)
    assert paired.interval.high - paired.interval.low < two.interval.high - two.interval.low
    assert paired.estimated and paired.method != two.method


def test_the_residual_holds_while_the_calibration_does_and_not_after_a_concept_shift() -> None:
    false_alarms = caught = 0
    for seed in range(100):
        rng = np.random.default_rng(2000 + seed)
        calibration = version(rng, 0.5, 5_000)
        score, labels = served(rng, 3_000, 0.5)
        realized = ((score > 0.5) == labels).astype(float)
        held = calibration_residual(realized, expected(MetricName.ACCURACY, calibration, score), alpha=0.05, n_star=500)
        false_alarms += held.disagrees
        # P(y | x) flattened: the same scores, labels far noisier than the calibration learnt
        score, labels = served(rng, 3_000, 0.5, slope=0.5)
        realized = ((score > 0.5) == labels).astype(float)
        shifted = calibration_residual(
            realized, expected(MetricName.ACCURACY, calibration, score), alpha=0.05, n_star=500
        )
        caught += shifted.disagrees
    assert false_alarms <= 5
    assert caught >= 95
