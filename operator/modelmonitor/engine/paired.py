"""Two versions' answers to the same requests, compared pair by pair: a shadow step's mirrored copies.

On a shadow step the candidate answers a copy of the requests the baseline answers, so each
of its rows has a twin: the baseline's row of the same request. The difference of a metric
that is a mean over rows (``per_row``: accuracy, mae, mape, logLoss) is then the mean of
per-request differences ``d = value(candidate) − value(baseline)``. Its variance holds only what
the versions do differently: for accuracy, the discordant requests, which one version got
right and the other wrong (McNemar's test counts the same pairs). Two independent arms carry
both versions' whole variance, so the paired interval is narrower, often several times.

**Method.** One asymptotic confidence sequence (Waudby-Smith, Arnold, Wu, Howard and Ramdas
2024, as ``engine.sequential``) of the mean of ``d`` at level α, valid at every look. For
accuracy ``d`` lies in {−1, 0, 1}; while every pair agrees the sample variance is zero, so its
variance is taken as if one more pair had gone each way (as Agresti and Coull shrink a
proportion's).

The label-free signs of a different model come from the same pairs: how often the two
predict the same class (the agreement), how the share predicted positive moves, and how far
the scores move on the same request, each with its confidence sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from modelmonitor.api.comparison import ArmEstimate, Comparison, Interval
from modelmonitor.api.metrics import MetricName
from modelmonitor.engine.confidence_sequence import ArmData, half_width, mean_interval, mixture_rho
from modelmonitor.engine.metrics import FORMULAS
from modelmonitor.engine.sequential import compare

PAIRED_METHOD = "asymptotic confidence sequence of per-request differences (Waudby-Smith et al. 2024), paired"


def pairable(metric: MetricName) -> bool:
    """Whether the metric is a mean over rows, so it compares pair by pair."""
    return FORMULAS[metric].per_row


def paired_compare(
    metric: MetricName,
    baseline: ArmData,
    candidate: ArmData,
    *,
    alpha: float,
    n_star: int,
    n_classes: int = 2,
    positive: int = 1,
    average: str = "binary",
) -> Comparison:
    """Candidate − baseline over paired rows (row i of each arm answers the same request), valid at every look.

    Each arm's own value and interval are shown as ``engine.sequential.compare`` shows them; the difference and
    its interval are the pairs'.
    """
    formula = FORMULAS[metric]
    if not formula.per_row or formula.sequence_parts is None:
        raise ValueError(f"{metric} is not a mean over rows: it cannot be compared pair by pair")
    if len(baseline.y_true) != len(candidate.y_true):
        raise ValueError("paired arms hold one row per request each, in the same order")
    ((values_base, binary),), _ = formula.sequence_parts(baseline, n_classes, positive, average)
    ((values_cand, _),), _ = formula.sequence_parts(candidate, n_classes, positive, average)
    difference, interval = _difference_interval(values_cand - values_base, binary=binary, alpha=alpha, n_star=n_star)
    options = {"n_classes": n_classes, "positive": positive, "average": average}
    as_two_arms = compare(metric, baseline, candidate, alpha=alpha, n_star=n_star, **options)  # type: ignore[arg-type]
    return replace(as_two_arms, difference=difference, interval=interval, method=PAIRED_METHOD)


def _difference_interval(
    differences: NDArray[np.float64], *, binary: bool, alpha: float, n_star: int
) -> tuple[float, Interval]:
    n = differences.size
    if n == 0:
        return math.nan, Interval(-math.inf, math.inf)
    rho = mixture_rho(n_star, alpha)
    if not binary:
        return mean_interval(differences, alpha=alpha, rho=rho)
    # one more pair each way: a variance above zero while every pair agrees (Agresti-Coull's shrinking)
    shrunk = np.concatenate([differences, [-1.0, 1.0]])
    mean = float(differences.mean())
    width = half_width(float(shrunk.std(ddof=1)), n, alpha, rho)
    return mean, Interval(max(mean - width, -1.0), min(mean + width, 1.0))


@dataclass(frozen=True)
class PairedSigns:
    """What the pairs say before any label: how often the versions agree, and how their outputs move."""

    pairs: int
    agreement: ArmEstimate  # the share of requests both versions give the same class
    positive_share_difference: ArmEstimate | None  # candidate − baseline share predicted positive (binary)
    score_difference: ArmEstimate | None  # the mean of candidate − baseline score on the same request


def paired_signs(
    baseline_predictions: NDArray[Any],
    candidate_predictions: NDArray[Any],
    *,
    baseline_scores: NDArray[np.float64] | None = None,
    candidate_scores: NDArray[np.float64] | None = None,
    positive: object = None,
    alpha: float,
    n_star: int,
) -> PairedSigns:
    """The pairs' agreement, positive-share and score differences, each with its confidence sequence at ``alpha``
    (the three together at ``alpha`` by a union bound); ``positive``: the positive class, as the predictions hold
    it (binary)."""
    n = baseline_predictions.size
    share = alpha / 3
    rho = mixture_rho(n_star, share)
    agree = (baseline_predictions == candidate_predictions).astype(np.float64)
    value, interval = mean_interval(agree, alpha=share, rho=rho, binary=True)
    agreement = ArmEstimate(value, interval, n)
    moved = None
    if positive is not None:
        shift = (candidate_predictions == positive).astype(np.float64) - (baseline_predictions == positive)
        value, interval = _difference_interval(shift, binary=True, alpha=share, n_star=n_star)
        moved = ArmEstimate(value, interval, n)
    scored = None
    if baseline_scores is not None and candidate_scores is not None:
        value, interval = mean_interval(candidate_scores - baseline_scores, alpha=share, rho=rho)
        scored = ArmEstimate(value, interval, n)
    return PairedSigns(n, agreement, moved, scored)
