"""How two versions' outputs differ on a live step, before any label: the share predicted positive, the mean score.

Both arms see the same traffic (a random split), so a difference in what they output is the
models' doing, not the traffic's. Each arm's share and mean get an asymptotic confidence
sequence (Waudby-Smith et al. 2024, as ``engine.sequential``) at a quarter of α, and each
difference is ``[L_c − U_b, U_c − L_b]``: the two intervals hold together with probability at
least 1 − α at every look, so a rollout may read them every few minutes. An interval that
excludes 0 is a two-sample test of "the arms output alike" that stays valid under repeated
looks. A shadow step's arms answer the same requests: ``engine.paired`` compares them pair by
pair instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from modelmonitor.api.comparison import Interval
from modelmonitor.engine.confidence_sequence import mean_interval, mixture_rho

OUTPUT_SHIFT_METHOD = "asymptotic confidence sequences per arm (Waudby-Smith et al. 2024), union bound"


@dataclass(frozen=True)
class Shift:
    """One output's value in each arm, and candidate − baseline with its always-valid interval."""

    baseline: float
    candidate: float
    difference: float
    interval: Interval


@dataclass(frozen=True)
class OutputShift:
    rows: tuple[int, int]  # baseline's, candidate's
    positive_share: Shift | None  # binary models
    mean_score: Shift | None  # models with a score


def output_shift(
    baseline_positive: NDArray[np.bool_] | None,
    candidate_positive: NDArray[np.bool_] | None,
    baseline_scores: NDArray[np.float64] | None,
    candidate_scores: NDArray[np.float64] | None,
    *,
    alpha: float,
    n_star: int,
) -> OutputShift:
    """The arms' shares predicted positive and mean scores compared, each arm's rows as logged (labelled or not)."""
    share = alpha / 4  # two outputs, two arms each
    rho = mixture_rho(n_star, share)

    def shift(base: NDArray[np.float64], cand: NDArray[np.float64], binary: bool) -> Shift:
        value_b, interval_b = mean_interval(base, alpha=share, rho=rho, binary=binary)
        value_c, interval_c = mean_interval(cand, alpha=share, rho=rho, binary=binary)
        interval = Interval(interval_c.low - interval_b.high, interval_c.high - interval_b.low)
        return Shift(value_b, value_c, value_c - value_b, interval)

    positive = None
    if baseline_positive is not None and candidate_positive is not None:
        positive = shift(baseline_positive.astype(np.float64), candidate_positive.astype(np.float64), True)
    scored = None
    if baseline_scores is not None and candidate_scores is not None:
        scored = shift(baseline_scores, candidate_scores, False)
    arms = (baseline_positive, candidate_positive) if positive is not None else (baseline_scores, candidate_scores)
    rows = (len(arms[0]), len(arms[1])) if arms[0] is not None and arms[1] is not None else (0, 0)
    return OutputShift(rows, positive, scored)


def shifted(found: Shift) -> bool:
    """Whether the arms surely output differently: the difference's interval excludes 0."""
    return found.interval.low > 0 or found.interval.high < 0
