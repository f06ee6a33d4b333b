"""Always-valid comparisons of two model versions: confidence sequences, and the sample-ratio check.

A confidence sequence (CS) covers the true value at every sample size at once with
probability at least 1 − α. A rollout may look at its interval every few minutes and stop
whenever it likes without inflating its error rates. A fixed-horizon interval, looked at
repeatedly, does inflate them: ``tests/engine/test_sequential.py`` measures both.

**Method.** For each arm, the asymptotic confidence sequence of Waudby-Smith, Arnold, Wu,
Howard and Ramdas (2024, *Time-uniform central limit theory and asymptotic confidence
sequences*, Annals of Statistics 52(6)). It is Robbins' normal-mixture boundary with a
plug-in standard deviation:

    θ̂_n ± σ̂_n · sqrt( 2(nρ² + 1) / (n²ρ²) · log( sqrt(nρ² + 1) / α ) )

ρ is fixed in advance: it makes the boundary tightest at ``n_star`` rows (the rollout's
``minSamplesPerArm``). Any fixed ρ is valid.

**Combining.** A metric is a monotone function of a few means, each over a subset of an
arm's rows:

* accuracy: correctness over all rows;
* precision: correctness over the rows predicted positive;
* recall: correctness over the actual positives;
* f1 = 2PR/(P+R); balancedAccuracy: the mean recall per class;
* mae, mape and logLoss: per-row losses; rmse: the square root of the mean squared error;
* r2 = 1 − MSE/Var(y).

Each mean gets a CS at an equal share of the arm's α. The metric's interval is the
function evaluated at the means' bounds (a union bound over them). rocAuc uses DeLong's
influence-function variance in the same boundary.

The difference, candidate − baseline, is ``[L_c − U_b, U_c − L_b]``, each arm at α/2.
Each arm's CS is indexed by its own row count, so the interval stays valid however the
traffic split changes between steps. The price of this robustness is a width up to √2
that of an interval for the difference built directly.

**Sample ratio.** The arms' row counts against the weights, by the sequential multinomial
test of Lindon and Malek (2022, *Anytime-valid inference for multinomial count data*,
NeurIPS): the Bayes factor of a Dirichlet-multinomial alternative, centred on the weights
with concentration ``SRM_CONCENTRATION``, against the weights themselves. By Ville's
inequality the chance that it ever exceeds 1/α under a correct split is at most α, so its
p-value, min(1, 1/BF), stays valid however often a rollout looks. Pearson's chi-square,
looked at every 100 rows, false-alarms ten to twenty times more often than its level says.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from modelmonitor.api.comparison import ArmEstimate, Comparison, Interval
from modelmonitor.api.metrics import METRICS, MetricName
from modelmonitor.engine.confidence_sequence import ArmData, mean_interval, mixture_rho
from modelmonitor.engine.metrics import FORMULAS

METHOD = "asymptotic confidence sequence (Waudby-Smith et al. 2024), per arm, union bound"
SRM_METHOD = "sequential Dirichlet-multinomial test (Lindon and Malek 2022)"
# a weak prior: about a hundred rows' worth of belief in the weights; 10 to 1,000 detect
# a 45/55 split of a 50/50 route within 1,700 to 2,100 rows (simulated, median)
SRM_CONCENTRATION = 100.0


def metric_interval(
    metric: MetricName,
    arm: ArmData,
    *,
    alpha: float,
    n_star: int,
    n_classes: int = 2,
    positive: int = 1,
    average: str = "binary",
) -> ArmEstimate:
    """One arm's metric with its always-valid interval at level ``alpha``."""
    rows = len(arm.y_true)
    formula = FORMULAS[metric]
    if formula.sequence_interval is not None:
        return formula.sequence_interval(arm, alpha=alpha, n_star=n_star, positive=positive)
    if average == "weighted":
        raise ValueError("average weighted has no confidence sequence here: use binary or macro")
    assert formula.sequence_parts is not None  # a formula has its parts or its interval
    parts, combine = formula.sequence_parts(arm, n_classes, positive, average)
    share = alpha / len(parts)
    rho = mixture_rho(n_star, share)
    estimates = [mean_interval(values, alpha=share, rho=rho, binary=binary) for values, binary in parts]
    value = combine([mean if not math.isnan(mean) else 0.0 for mean, _ in estimates])
    low = combine([interval.low for _, interval in estimates])
    high = combine([interval.high for _, interval in estimates])
    return ArmEstimate(value, Interval(low, high), rows)


def compare(
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
    """Candidate − baseline with an interval that holds at every look with probability ≥ 1 − alpha."""
    options = {"alpha": alpha / 2, "n_star": n_star, "n_classes": n_classes, "positive": positive, "average": average}
    base = metric_interval(metric, baseline, **options)  # type: ignore[arg-type]
    cand = metric_interval(metric, candidate, **options)  # type: ignore[arg-type]
    return of_arms(metric, base, cand, alpha=alpha, method=METHOD)


def of_arms(
    metric: MetricName, base: ArmEstimate, cand: ArmEstimate, *, alpha: float, method: str, estimated: bool = False
) -> Comparison:
    """Candidate − baseline from each arm's interval: ``[L_c − U_b, U_c − L_b]`` (each arm at half of ``alpha``)."""
    return Comparison(
        metric=str(metric),
        higher_is_better=METRICS[metric].higher_is_better,
        baseline=base,
        candidate=cand,
        difference=cand.value - base.value,
        interval=Interval(cand.interval.low - base.interval.high, cand.interval.high - base.interval.low),
        alpha=alpha,
        method=method,
        estimated=estimated,
    )


@dataclass(frozen=True)
class SampleRatio:
    """Whether the arms' observed row counts fit the weights set (a broken split invalidates every comparison)."""

    observed: tuple[int, ...]
    expected_shares: tuple[float, ...]
    p_value: float

    @property
    def observed_shares(self) -> tuple[float, ...]:
        total = sum(self.observed)
        return tuple(count / total if total else math.nan for count in self.observed)


def sample_ratio(observed: Sequence[int], weights: Sequence[float]) -> SampleRatio:
    """The anytime-valid p-value that the arms' row counts were drawn with the traffic weights.

    >>> sample_ratio([1000, 1000], [50, 50]).p_value
    1.0
    >>> sample_ratio([1000, 1300], [50, 50]).p_value < 0.001
    True
    """
    counts = np.asarray(observed, dtype=np.float64)
    shares = np.asarray(weights, dtype=np.float64) / float(np.sum(weights))
    if counts.sum() == 0 or np.any(shares <= 0):
        return SampleRatio(tuple(observed), tuple(shares.tolist()), 1.0)
    prior = SRM_CONCENTRATION * shares
    log_factor = (
        gammaln(prior.sum())
        - gammaln(prior.sum() + counts.sum())
        + float(np.sum(gammaln(prior + counts) - gammaln(prior)))
        - float(np.sum(counts * np.log(shares)))
    )
    return SampleRatio(tuple(observed), tuple(shares.tolist()), math.exp(min(0.0, -log_factor)))
