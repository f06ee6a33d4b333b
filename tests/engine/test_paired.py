"""Paired comparisons of two versions' answers to the same requests (a shadow step): valid at every look, far
narrower than two independent arms, and in step with McNemar's test (statsmodels)."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import mcnemar

from modelmonitor.api.metrics import MetricName
from modelmonitor.engine.confidence_sequence import ArmData
from modelmonitor.engine.paired import paired_compare, paired_signs
from modelmonitor.engine.sequential import compare

ALPHA, N_STAR = 0.05, 500
LOOKS = np.arange(N_STAR, 4001, 250)


def mirrored(rng: np.random.Generator, rows: int, *, base: float, cand: float, agree: float) -> tuple[ArmData, ...]:
    """The same requests answered by both versions: the candidate copies the baseline's correctness on a share
    ``agree`` of them and is right with its own rate on the rest, so its accuracy is ``cand``."""
    truth = rng.integers(0, 2, rows).astype(float)
    base_right = rng.random(rows) < base
    own_rate = (cand - agree * base) / (1 - agree)
    cand_right = np.where(rng.random(rows) < agree, base_right, rng.random(rows) < own_rate)
    return tuple(ArmData(truth, np.where(right, truth, 1 - truth)) for right in (base_right, cand_right))


def first(arm: ArmData, n: int) -> ArmData:
    return ArmData(arm.y_true[:n], arm.y_pred[:n])


def test_the_paired_interval_is_several_times_narrower_and_holds_the_difference() -> None:
    base, cand = mirrored(np.random.default_rng(0), 3000, base=0.80, cand=0.78, agree=0.9)
    paired = paired_compare(MetricName.ACCURACY, base, cand, alpha=ALPHA, n_star=N_STAR)
    independent = compare(MetricName.ACCURACY, base, cand, alpha=ALPHA, n_star=N_STAR)
    assert paired.difference == pytest.approx(independent.difference)
    width = paired.interval.high - paired.interval.low
    assert width * 3 < independent.interval.high - independent.interval.low
    assert paired.interval.low < -0.02 < paired.interval.high and paired.interval.high < 0  # surely worse
    assert paired.candidate.rows == paired.baseline.rows == 3000


def test_it_agrees_with_mcnemars_test_on_the_discordant_pairs() -> None:
    for seed in range(20):
        base, cand = mirrored(np.random.default_rng(seed), 2000, base=0.8, cand=0.77, agree=0.85)
        right_b, right_c = base.y_true == base.y_pred, cand.y_true == cand.y_pred
        table = [
            [np.sum(right_b & right_c), np.sum(right_b & ~right_c)],
            [np.sum(~right_b & right_c), np.sum(~right_b & ~right_c)],
        ]
        paired = paired_compare(MetricName.ACCURACY, base, cand, alpha=ALPHA, n_star=N_STAR)
        assert paired.difference == pytest.approx((table[1][0] - table[0][1]) / 2000)
        if paired.interval.high < 0 or paired.interval.low > 0:  # the CS excludes 0: so does a fixed-n test
            assert mcnemar(table, exact=False).pvalue < ALPHA


@pytest.mark.parametrize("agree", [0.6, 0.95])
def test_equal_versions_are_rarely_called_different_however_often_it_looks(agree: float) -> None:
    seeds, wrong = 200, 0
    for seed in range(seeds):
        base, cand = mirrored(np.random.default_rng(seed), LOOKS[-1], base=0.8, cand=0.8, agree=agree)
        for n in LOOKS:
            found = paired_compare(MetricName.ACCURACY, first(base, n), first(cand, n), alpha=ALPHA, n_star=N_STAR)
            if found.interval.low > 0 or found.interval.high < 0:
                wrong += 1
                break
    assert wrong / seeds <= ALPHA  # measured: see docs/rollouts.md


def test_pairs_that_all_agree_still_get_an_interval() -> None:
    base, _ = mirrored(np.random.default_rng(1), 100, base=0.8, cand=0.8, agree=0.5)
    same = paired_compare(MetricName.ACCURACY, base, base, alpha=ALPHA, n_star=N_STAR)
    # no discordant pair in 100 does not prove none in the traffic: about 3 % either way (the rule of three)
    assert same.difference == 0 and same.interval.low < -0.03 and same.interval.high > 0.03


def test_a_metric_that_is_not_a_mean_over_rows_is_refused_and_regression_pairs_by_error() -> None:
    base, cand = mirrored(np.random.default_rng(2), 500, base=0.8, cand=0.8, agree=0.5)
    with pytest.raises(ValueError, match="precision is not a mean over rows"):
        paired_compare(MetricName.PRECISION, base, cand, alpha=ALPHA, n_star=N_STAR)
    rng = np.random.default_rng(3)
    truth = rng.normal(size=1000)
    near, far = truth + rng.normal(0, 0.1, 1000), truth + rng.normal(0, 0.5, 1000)
    found = paired_compare(MetricName.MAE, ArmData(truth, near), ArmData(truth, far), alpha=ALPHA, n_star=N_STAR)
    assert found.difference == pytest.approx(np.abs(far - truth).mean() - np.abs(near - truth).mean())
    assert found.interval.low > 0  # the candidate's errors are surely larger


def test_the_signs_before_any_label_say_how_often_the_versions_agree_and_how_they_move() -> None:
    rng = np.random.default_rng(4)
    base = rng.choice(["no", "yes"], 5000, p=[0.7, 0.3])
    flipped = rng.random(5000) < 0.2
    cand = np.where(flipped, "yes", base)  # the candidate says yes more often
    scores = rng.random(5000)
    signs = paired_signs(
        base, cand, baseline_scores=scores, candidate_scores=scores + 0.05, positive="yes", alpha=ALPHA, n_star=N_STAR
    )
    assert signs.pairs == 5000 and signs.agreement.value == pytest.approx(np.mean(base == cand))
    moved = signs.positive_share_difference
    assert moved is not None and moved.value == pytest.approx(np.mean(cand == "yes") - np.mean(base == "yes"))
    assert moved.interval.low > 0.1
    assert signs.score_difference is not None and signs.score_difference.value == pytest.approx(0.05)
