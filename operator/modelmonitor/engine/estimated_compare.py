"""Two versions compared before their labels arrive: each arm's CBPE-expected metric, with an always-valid interval.

Each version's scores are calibrated on its own labelled validation data (``engine.cbpe``), so a
calibrated score is the probability of each class. A metric that is a mean over rows
(``per_row``: accuracy, logLoss) then has, on every row, an *expected value*: the mean of the
row's value under each label, weighted by the label's probability. Their mean over an arm's rows
estimates the arm's metric; unlike a simulation of labels it is a plain mean, so it has a
confidence sequence.

**Interval.** Two sources of error, each bounded at a share of α, joined by a union bound:

* sampling, at α/2: the asymptotic confidence sequence (Waudby-Smith, Arnold, Wu, Howard and
  Ramdas 2024, as ``engine.sequential``) of the mean expected value, valid at every look. Two
  arms at α/4 each; a shadow step's pairs (both versions answered the same request) at α/2, as
  one confidence sequence of the per-request differences;
* calibration, at α/2: the isotonic curve is itself learnt from finitely many reference rows.
  Refitted on bootstrap resamples of the reference (``Calibration.resampled``), the arm's mean
  moves by some spread σ; the two versions' references are independent, so the difference's
  error is bounded by ``z(1 − α/4) × sqrt(σ_b² + σ_c²)``. It does not grow with looks: each
  reference is drawn once.

Each arm's own interval (shown beside the difference) holds its expected metric at α/2: half
for sampling, half for its calibration.

The interval is valid as long as the calibration learnt on the reference still holds on the
served rows: CBPE's assumption that P(y | x) did not change. :func:`calibration_residual` tests
it on the rows whose labels have come: there a row's realized value less its expected value
has mean zero, up to the calibration's own error. A residual beyond that says the estimate
cannot be trusted (``EstimateUnreliable``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from modelmonitor.api.comparison import ArmEstimate, Comparison, Interval
from modelmonitor.api.metrics import MetricName
from modelmonitor.engine.cbpe import ESTIMABLE
from modelmonitor.engine.confidence_sequence import ArmData, mean_interval, mixture_rho
from modelmonitor.engine.metrics import FORMULAS
from modelmonitor.engine.sequential import of_arms

ESTIMATED_METHOD = (
    "CBPE expected values, each arm calibrated on its own reference: asymptotic confidence sequence "
    "(Waudby-Smith et al. 2024) widened by the calibration's bootstrap spread, union bound"
)
ESTIMATED_PAIRED_METHOD = (
    "CBPE expected values, each arm calibrated on its own reference: asymptotic confidence sequence of "
    "per-request differences (Waudby-Smith et al. 2024) widened by the calibrations' bootstrap spread"
)


def estimable_by_rows(metric: MetricName) -> bool:
    """Whether the metric has an expected value per row: a mean over rows that CBPE can estimate."""
    return FORMULAS[metric].per_row and metric in ESTIMABLE


@dataclass(frozen=True)
class Expectation:
    """An arm's rows' expected values under its calibration, and their mean under each bootstrap calibration."""

    values: NDArray[np.float64]  # one per row
    bootstrap_means: NDArray[np.float64]  # one per calibration refitted on a resample of the reference

    @property
    def rows(self) -> int:
        return int(self.values.size)

    @property
    def calibration_spread(self) -> float:
        """The mean's standard deviation over the bootstrap calibrations: the calibration's own uncertainty."""
        if self.bootstrap_means.size < 2:
            return math.inf
        return float(self.bootstrap_means.std(ddof=1))

    def calibration_margin(self, alpha: float) -> float:
        """How far the mean may be off because the calibration was learnt on finitely many rows, at level ``alpha``."""
        return float(norm.ppf(1 - alpha / 2) * self.calibration_spread)


def expected_values(
    metric: MetricName,
    probability: NDArray[np.float64],
    arm: ArmData,
    *,
    positive: int = 1,
    average: str = "binary",
) -> NDArray[np.float64]:
    """Each row's expected metric value: its value under each class, weighted by ``probability`` (rows x classes).

    ``arm`` holds the predictions and scores (its labels are ignored); class k is label k.
    """
    formula = FORMULAS[metric]
    if not estimable_by_rows(metric) or formula.sequence_parts is None:
        raise ValueError(f"{metric} has no expected value per row: estimated analysis needs accuracy or logLoss")
    rows, classes = probability.shape
    total = np.zeros(rows)
    for label in range(classes):
        as_if = ArmData(np.full(rows, label, dtype=np.float64), arm.y_pred, arm.score)
        ((values, _),), _ = formula.sequence_parts(as_if, classes, positive, average)
        total += probability[:, label] * values
    return total


def expectation(
    metric: MetricName,
    probability: NDArray[np.float64],
    resampled: NDArray[np.float64],
    arm: ArmData,
    *,
    positive: int = 1,
    average: str = "binary",
) -> Expectation:
    """The rows' expected values under the calibration (``probability``: rows x classes) and their mean under each
    bootstrap calibration (``resampled``: bootstraps x rows x classes)."""
    options = {"positive": positive, "average": average}
    values = expected_values(metric, probability, arm, **options)  # type: ignore[arg-type]
    if values.size == 0:
        return Expectation(values, np.empty(0))
    means = np.array([expected_values(metric, each, arm, **options).mean() for each in resampled])  # type: ignore[arg-type]
    return Expectation(values, means)


def estimated_compare(
    metric: MetricName,
    baseline: Expectation,
    candidate: Expectation,
    *,
    alpha: float,
    n_star: int,
    paired: bool = False,
) -> Comparison:
    """Candidate − baseline of the expected metric, valid at every look with probability ≥ 1 − alpha if the
    calibrations hold; ``paired``: row i of each arm answers the same request.

    Half of ``alpha`` bounds the sampling (each arm's confidence sequence at α/4, or the pairs' at α/2), half the
    two calibrations' error: learnt on independent references, their errors add in quadrature.
    """
    if paired and baseline.rows != candidate.rows:
        raise ValueError("paired arms hold one row per request each, in the same order")
    base, cand = _arm(baseline, alpha / 2, n_star), _arm(candidate, alpha / 2, n_star)
    apart = of_arms(metric, base, cand, alpha=alpha, method=ESTIMATED_METHOD, estimated=True)
    if not (baseline.rows and candidate.rows):
        return apart
    margin = float(norm.ppf(1 - alpha / 4) * math.hypot(baseline.calibration_spread, candidate.calibration_spread))
    if paired:
        differences = candidate.values - baseline.values
        difference, sampled = mean_interval(differences, alpha=alpha / 2, rho=mixture_rho(n_star, alpha / 2))
        method = ESTIMATED_PAIRED_METHOD
    else:
        (_, sampled_b), (_, sampled_c) = (_sampled(found, alpha / 4, n_star) for found in (baseline, candidate))
        difference, sampled = apart.difference, Interval(sampled_c.low - sampled_b.high, sampled_c.high - sampled_b.low)
        method = ESTIMATED_METHOD
    interval = Interval(sampled.low - margin, sampled.high + margin)
    return replace(apart, difference=difference, interval=interval, method=method)


def _sampled(found: Expectation, alpha: float, n_star: int) -> tuple[float, Interval]:
    return mean_interval(found.values, alpha=alpha, rho=mixture_rho(n_star, alpha))


def _arm(found: Expectation, alpha: float, n_star: int) -> ArmEstimate:
    """One arm's expected metric at level ``alpha``: half for sampling, half for the calibration."""
    if found.rows == 0:
        return ArmEstimate(math.nan, Interval(-math.inf, math.inf), 0)
    mean, sampled = _sampled(found, alpha / 2, n_star)
    margin = found.calibration_margin(alpha / 2)
    return ArmEstimate(mean, Interval(sampled.low - margin, sampled.high + margin), found.rows)


@dataclass(frozen=True)
class Residual:
    """Realized − expected on the rows whose labels came: near zero while the calibration holds."""

    value: float
    interval: Interval  # the residual's always-valid interval, widened by the calibration's margin
    rows: int

    @property
    def disagrees(self) -> bool:
        """The labels surely disagree with the estimate: the interval excludes 0."""
        return self.interval.low > 0 or self.interval.high < 0


def calibration_residual(realized: NDArray[np.float64], labeled: Expectation, *, alpha: float, n_star: int) -> Residual:
    """The labelled rows' realized values less their expected ones (same rows, same order), at level ``alpha``."""
    if labeled.rows != realized.size:
        raise ValueError("realized and expected values belong to the same rows")
    if realized.size == 0:
        return Residual(math.nan, Interval(-math.inf, math.inf), 0)
    mean, sampled = mean_interval(realized - labeled.values, alpha=alpha / 2, rho=mixture_rho(n_star, alpha / 2))
    margin = labeled.calibration_margin(alpha / 2)
    return Residual(mean, Interval(sampled.low - margin, sampled.high + margin), int(realized.size))
