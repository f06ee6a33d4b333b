"""How two arms' outputs differ before any label: always-valid intervals of the share predicted positive and the
mean score, checked against statsmodels' two-proportion test and over repeated looks."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats import proportion

from modelmonitor.engine.output_shift import output_shift, shifted

ALPHA, N_STAR = 0.05, 500
LOOKS = np.arange(N_STAR, 6001, 250)


def arms(rng: np.random.Generator, rows: int, *, base: float, cand: float) -> tuple[np.ndarray, ...]:
    """Each arm's predicted-positive flags and scores; the candidate says yes with probability ``cand``."""
    found = []
    for rate in (base, cand):
        score = np.clip(rng.normal(rate, 0.2, rows), 0, 1)
        found += [rng.random(rows) < rate, score]
    return tuple(found)


def test_equal_arms_are_rarely_called_shifted_however_often_it_looks() -> None:
    seeds, wrong = 200, 0
    for seed in range(seeds):
        base_yes, base_score, cand_yes, cand_score = arms(np.random.default_rng(seed), LOOKS[-1], base=0.3, cand=0.3)
        for n in LOOKS:
            found = output_shift(
                base_yes[:n], cand_yes[: n // 3], base_score[:n], cand_score[: n // 3], alpha=ALPHA, n_star=N_STAR
            )
            assert found.positive_share is not None and found.mean_score is not None
            if shifted(found.positive_share) or shifted(found.mean_score):
                wrong += 1
                break
    assert wrong / seeds <= ALPHA


def test_a_candidate_that_says_yes_more_often_is_seen_and_agrees_with_a_two_proportion_test() -> None:
    base_yes, base_score, cand_yes, cand_score = arms(np.random.default_rng(1), 5000, base=0.3, cand=0.4)
    found = output_shift(base_yes, cand_yes, base_score, cand_score, alpha=ALPHA, n_star=N_STAR)
    share = found.positive_share
    assert share is not None and shifted(share) and share.interval.low > 0
    assert share.difference == pytest.approx(cand_yes.mean() - base_yes.mean())
    fixed = proportion.test_proportions_2indep(cand_yes.sum(), 5000, base_yes.sum(), 5000, compare="diff")
    assert fixed.pvalue < ALPHA  # what the always-valid interval says, a fixed-n test says too
    assert found.mean_score is not None and found.mean_score.interval.low > 0 and found.rows == (5000, 5000)


def test_outputs_without_scores_or_classes_are_left_out() -> None:
    found = output_shift(None, None, np.ones(10), np.zeros(10), alpha=ALPHA, n_star=N_STAR)
    assert found.positive_share is None and found.mean_score is not None and found.rows == (10, 10)
