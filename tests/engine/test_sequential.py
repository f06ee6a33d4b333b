"""Confidence sequences for comparing two versions: valid at every look, cross-checked against statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chisquare, dirichlet_multinomial, multinomial
from statsmodels.stats import proportion

from modelmonitor.api.metrics import MetricName
from modelmonitor.engine.sequential import SRM_CONCENTRATION, ArmData, compare, metric_interval, sample_ratio

ALPHA, DELTA, N_STAR = 0.05, 0.01, 500
LOOKS = np.arange(N_STAR, 5001, 100)  # a decision every 100 rows per arm, as a rollout re-evaluates


def bernoulli_arm(correct: np.ndarray) -> ArmData:
    """Rows whose prediction is right where ``correct`` says so (accuracy is the share of them)."""
    truth = np.ones(len(correct))
    return ArmData(truth, np.where(correct, 1.0, 0.0))


def first(arm: ArmData, n: int) -> ArmData:
    return ArmData(arm.y_true[:n], arm.y_pred[:n], None if arm.score is None else arm.score[:n])


def peeking(base_rate: float, cand_rate: float, seeds: int, rule) -> float:
    """The share of seeds in which ``rule(comparison)`` held at any look: the error rate with peeking."""
    hits = 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        base, cand = rng.random(LOOKS[-1]) < base_rate, rng.random(LOOKS[-1]) < cand_rate
        for n in LOOKS:
            result = compare(
                MetricName.ACCURACY, bernoulli_arm(base[:n]), bernoulli_arm(cand[:n]), alpha=ALPHA, n_star=N_STAR
            )
            if rule(result):
                hits += 1
                break
    return hits / seeds


def test_an_aa_test_peeked_at_every_look_stays_within_alpha() -> None:
    """Identical versions: the interval for the difference excludes 0 at some look in at most alpha of runs."""
    misses = peeking(0.8, 0.8, 300, lambda c: c.interval.low > 0 or c.interval.high < 0)
    assert misses <= ALPHA
    rollbacks = peeking(0.8, 0.8, 300, lambda c: c.improvement.high < -DELTA)
    assert rollbacks <= ALPHA


def test_peeking_at_a_fixed_horizon_interval_would_inflate_the_error() -> None:
    """The problem the sequence solves: a 95% Wald interval looked at 46 times misses far more than 5%."""
    misses = 0
    for seed in range(300):
        rng = np.random.default_rng(seed)
        base, cand = rng.random(LOOKS[-1]) < 0.8, rng.random(LOOKS[-1]) < 0.8
        for n in LOOKS:
            p_b, p_c = base[:n].mean(), cand[:n].mean()
            width = 1.96 * np.sqrt((p_b * (1 - p_b) + p_c * (1 - p_c)) / n)
            if abs(p_c - p_b) > width:
                misses += 1
                break
    assert misses / 300 > 3 * ALPHA


def test_a_candidate_just_outside_the_margin_is_promoted_at_most_alpha_of_the_time() -> None:
    """True difference exactly −δ: 'non-inferior' at any of the looks is the error the margin controls."""
    assert peeking(0.80, 0.80 - DELTA, 300, lambda c: c.improvement.low > -DELTA) <= ALPHA


def test_a_clearly_worse_candidate_is_rolled_back_and_never_promoted() -> None:
    promoted = peeking(0.80, 0.70, 200, lambda c: c.improvement.low > -DELTA)
    rolled_back = peeking(0.80, 0.70, 200, lambda c: c.improvement.high < -DELTA)
    assert promoted == 0 and rolled_back >= 0.95


@pytest.mark.parametrize(
    ("metric", "make"),
    [
        (MetricName.ROC_AUC, "scored"),
        (MetricName.F1, "scored"),
        (MetricName.BALANCED_ACCURACY, "scored"),
        (MetricName.LOG_LOSS, "scored"),
        (MetricName.MAE, "regression"),
        (MetricName.RMSE, "regression"),
        (MetricName.R2, "regression"),
    ],
)
def test_other_metrics_cover_the_truth_at_every_look(metric: MetricName, make: str) -> None:
    """A/A for each kind of metric: the difference's interval contains 0 at every look in ≥ 1 − α of runs."""
    looks = np.arange(N_STAR, 3001, 250)

    def arm(rng: np.random.Generator, n: int) -> ArmData:
        if make == "regression":
            truth = rng.normal(10, 3, n)
            return ArmData(truth, truth + rng.normal(0, 1.5, n))
        truth = (rng.random(n) < 0.3).astype(float)
        score = 1 / (1 + np.exp(-(2.0 * (truth - 0.5) * 1.5 + rng.normal(0, 1, n))))
        return ArmData(truth, (score >= 0.5).astype(float), score)

    misses = 0
    for seed in range(100):
        rng = np.random.default_rng(1000 + seed)
        base, cand = arm(rng, looks[-1]), arm(rng, looks[-1])
        for n in looks:
            result = compare(metric, first(base, n), first(cand, n), alpha=ALPHA, n_star=N_STAR)
            if result.interval.low > 0 or result.interval.high < 0:
                misses += 1
                break
    assert misses / 100 <= ALPHA


def test_it_is_more_cautious_than_statsmodels_fixed_horizon_non_inferiority_test() -> None:
    """At a fixed sample size the sequence is wider than a fixed-horizon interval, so whenever it finds the
    candidate non-inferior, statsmodels' fixed-horizon test (Wald, difference) rejects inferiority too."""
    checked = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n = 20000
        base, cand = rng.random(n) < 0.80, rng.random(n) < 0.80 + rng.uniform(-0.02, 0.03)
        result = compare(MetricName.ACCURACY, bernoulli_arm(base), bernoulli_arm(cand), alpha=ALPHA, n_star=N_STAR)
        low, high = proportion.confint_proportions_2indep(
            cand.sum(), n, base.sum(), n, method="wald", compare="diff", alpha=ALPHA
        )
        assert result.interval.low < low and result.interval.high > high
        assert result.difference == pytest.approx(cand.mean() - base.mean())
        if result.improvement.low > -DELTA:
            checked += 1
            _, p_value = proportion.test_proportions_2indep(
                cand.sum(), n, base.sum(), n, value=-DELTA, method="wald", compare="diff", alternative="larger"
            )
            assert p_value < ALPHA
    assert checked >= 5


def test_lower_is_better_metrics_turn_the_improvement_around() -> None:
    rng = np.random.default_rng(7)
    truth = rng.normal(0, 1, 4000)
    good, bad = ArmData(truth, truth + rng.normal(0, 0.5, 4000)), ArmData(truth, truth + rng.normal(0, 2.0, 4000))
    result = compare(MetricName.MAE, good, bad, alpha=ALPHA, n_star=N_STAR)
    assert not result.higher_is_better and result.difference > 0
    assert result.improvement.high < 0  # the candidate's larger error is worse


def test_too_few_rows_give_an_uninformative_interval_not_a_crash() -> None:
    empty = ArmData(np.array([]), np.array([]))
    estimate = metric_interval(MetricName.ACCURACY, empty, alpha=ALPHA, n_star=N_STAR)
    assert np.isnan(estimate.value) or estimate.rows == 0
    assert (estimate.interval.low, estimate.interval.high) == (0.0, 1.0)
    one_class = ArmData(np.ones(50), np.ones(50), np.full(50, 0.9))
    assert metric_interval(MetricName.ROC_AUC, one_class, alpha=ALPHA, n_star=N_STAR).interval.low == 0.0


def test_the_sample_ratio_bayes_factor_is_scipys_dirichlet_multinomial_over_multinomial() -> None:
    for counts, weights in (([1000, 1200], [50, 50]), ([880, 120], [90, 10]), ([30, 50, 20], [30, 50, 20])):
        shares = np.asarray(weights) / sum(weights)
        alternative = dirichlet_multinomial.logpmf(counts, SRM_CONCENTRATION * shares, sum(counts))
        null = multinomial.logpmf(counts, sum(counts), shares)
        expected = min(1.0, math.exp(null - alternative))
        assert sample_ratio(counts, weights).p_value == pytest.approx(expected, rel=1e-9)
    skewed = sample_ratio([900, 100], [90, 10])
    assert skewed.p_value == 1.0 and skewed.observed_shares == (0.9, 0.1)
    assert sample_ratio([0, 0], [50, 50]).p_value == 1.0


def looks_until_alarm(rng: np.random.Generator, true_share: float, weights: list[int], p_value) -> int | None:
    """Rows until the first look (one every 100 rows, up to 5,000) below 0.05, or None."""
    candidate = np.cumsum(rng.random(5000) < true_share)
    for rows in range(100, 5001, 100):
        if p_value([rows - int(candidate[rows - 1]), int(candidate[rows - 1])], weights) < 0.05:
            return rows
    return None


def test_the_sample_ratio_check_stays_within_alpha_however_often_it_looks_where_chi_square_does_not() -> None:
    rng = np.random.default_rng(3)

    def chi_square(counts: list[int], weights: list[int]) -> float:
        return float(chisquare(counts, np.asarray(weights) / sum(weights) * sum(counts)).pvalue)

    def sequential(counts: list[int], weights: list[int]) -> float:
        return sample_ratio(counts, weights).p_value

    seeds = 400
    for weights in ([50, 50], [90, 10]):
        share = weights[1] / 100
        sequential_alarms = sum(looks_until_alarm(rng, share, weights, sequential) is not None for _ in range(seeds))
        chi_square_alarms = sum(looks_until_alarm(rng, share, weights, chi_square) is not None for _ in range(seeds))
        assert sequential_alarms / seeds <= 0.05
        assert chi_square_alarms / seeds > 0.15  # about 0.3: fifty looks at a fixed-sample test
    found = [looks_until_alarm(rng, 0.65, [50, 50], sequential) for _ in range(100)]
    assert all(rows is not None and rows <= 1000 for rows in found)
