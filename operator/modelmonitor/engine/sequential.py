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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln

from modelmonitor.api.comparison import ArmEstimate, Comparison, Interval
from modelmonitor.api.metrics import METRICS, MetricName
from modelmonitor.engine.metrics import roc_auc_score

METHOD = "asymptotic confidence sequence (Waudby-Smith et al. 2024), per arm, union bound"
SRM_METHOD = "sequential Dirichlet-multinomial test (Lindon and Malek 2022)"
# a weak prior: about a hundred rows' worth of belief in the weights; 10 to 1,000 detect
# a 45/55 split of a 50/50 route within 1,700 to 2,100 rows (simulated, median)
SRM_CONCENTRATION = 100.0
_CLIP = 1e-15


def mixture_rho(n_star: int, alpha: float) -> float:
    """The ρ that makes the normal-mixture boundary tightest at ``n_star`` observations.

    >>> round(mixture_rho(500, 0.05), 3)
    0.126
    """
    log_term = -2 * math.log(alpha)
    return math.sqrt((log_term + math.log(log_term + 1)) / n_star)


def half_width(sd: float, n: int, alpha: float, rho: float) -> float:
    """The CS's half-width after ``n`` observations of standard deviation ``sd`` (infinite before the first)."""
    if n <= 0:
        return math.inf
    scale = n * rho * rho + 1
    return sd * math.sqrt(2 * scale / (n * n * rho * rho) * math.log(math.sqrt(scale) / alpha))


def mean_interval(
    values: NDArray[np.float64], *, alpha: float, rho: float, binary: bool = False
) -> tuple[float, Interval]:
    """A mean and its CS.

    A sample of 0/1 outcomes that are all 1 has no variance, and the plug-in would give a
    zero-width interval. So 0/1 outcomes use the variance at (sum + 1) / (n + 2), as
    Agresti and Coull do, and their intervals are clipped to [0, 1].
    """
    n = len(values)
    if n == 0:
        return math.nan, Interval(0.0, 1.0) if binary else Interval(-math.inf, math.inf)
    mean = float(values.mean())
    if binary:
        shrunk = (float(values.sum()) + 1) / (n + 2)
        sd = math.sqrt(shrunk * (1 - shrunk))
    else:
        sd = float(values.std(ddof=1)) if n > 1 else math.inf
    width = half_width(sd, n, alpha, rho)
    if binary:
        return mean, Interval(max(mean - width, 0.0), min(mean + width, 1.0))
    return mean, Interval(mean - width, mean + width)


@dataclass(frozen=True)
class ArmData:
    """One arm's labelled rows: class codes (classification) or values (regression), and scores."""

    y_true: NDArray[np.float64]
    y_pred: NDArray[np.float64]
    score: NDArray[np.float64] | None = None


Combine = Callable[[Sequence[float]], float]


def _components(
    metric: MetricName, arm: ArmData, n_classes: int, positive: int, average: str
) -> tuple[list[tuple[NDArray[np.float64], bool]], Combine]:
    """The means a metric is made of (values, and whether they are 0/1), and the increasing function combining them.

    r2 mixes directions, so it has its own ``_r2_interval``.
    """
    truth, pred = arm.y_true, arm.y_pred
    correct = (truth == pred).astype(np.float64)
    if metric is MetricName.ACCURACY:
        return [(correct, True)], lambda m: m[0]
    if metric in (MetricName.MAE, MetricName.MAPE, MetricName.RMSE):
        error = truth - pred
        if metric is MetricName.MAE:
            return [(np.abs(error), False)], lambda m: m[0]
        if metric is MetricName.MAPE:
            return [(np.abs(error) / np.maximum(np.abs(truth), np.finfo(np.float64).eps), False)], lambda m: m[0]
        return [(error * error, False)], lambda m: math.sqrt(max(m[0], 0.0))
    if metric is MetricName.LOG_LOSS:
        if arm.score is None:
            raise ValueError("logLoss needs scores")
        p = np.clip(arm.score, _CLIP, 1 - _CLIP)
        is_positive = truth == positive
        return [(-np.where(is_positive, np.log(p), np.log(1 - p)), False)], lambda m: m[0]
    classes = [positive] if average == "binary" else list(range(n_classes))
    recalls = [(correct[truth == k], True) for k in classes]
    precisions = [(correct[pred == k], True) for k in classes]
    if metric is MetricName.RECALL or metric is MetricName.BALANCED_ACCURACY:
        chosen = recalls if metric is MetricName.RECALL else [(correct[truth == k], True) for k in range(n_classes)]
        return chosen, lambda m: float(np.mean(m))
    if metric is MetricName.PRECISION:
        return precisions, lambda m: float(np.mean(m))
    if metric is MetricName.F1:
        k = len(classes)

        def macro_f1(m: Sequence[float]) -> float:
            scores = [_f1(m[i], m[k + i]) for i in range(k)]
            return float(np.mean(scores))

        return precisions + recalls, macro_f1
    raise ValueError(f"{metric} has no confidence sequence here")


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall <= 0 else 2 * precision * recall / (precision + recall)


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
    if metric is MetricName.ROC_AUC:
        return _auc_interval(arm, alpha=alpha, n_star=n_star, positive=positive)
    if metric is MetricName.R2:
        return _r2_interval(arm, alpha=alpha, n_star=n_star)
    if average == "weighted":
        raise ValueError("average weighted has no confidence sequence here: use binary or macro")
    parts, combine = _components(metric, arm, n_classes, positive, average)
    share = alpha / len(parts)
    rho = mixture_rho(n_star, share)
    estimates = [mean_interval(values, alpha=share, rho=rho, binary=binary) for values, binary in parts]
    value = combine([mean if not math.isnan(mean) else 0.0 for mean, _ in estimates])
    low = combine([interval.low for _, interval in estimates])
    high = combine([interval.high for _, interval in estimates])
    return ArmEstimate(value, Interval(low, high), rows)


def _auc_interval(arm: ArmData, *, alpha: float, n_star: int, positive: int) -> ArmEstimate:
    """AUC with DeLong's variance: the influence-function standard deviation in the same boundary."""
    if arm.score is None:
        raise ValueError("rocAuc needs scores")
    is_positive = arm.y_true == positive
    positives, negatives = arm.score[is_positive], arm.score[~is_positive]
    rows = len(arm.y_true)
    if len(positives) < 2 or len(negatives) < 2:
        return ArmEstimate(math.nan, Interval(0.0, 1.0), rows)
    auc = roc_auc_score(is_positive, arm.score)
    # DeLong: placement values of each positive among negatives and vice versa
    order = np.sort(negatives)
    v10 = (np.searchsorted(order, positives, "left") + np.searchsorted(order, positives, "right")) / (2 * len(order))
    order = np.sort(positives)
    v01 = 1 - (np.searchsorted(order, negatives, "left") + np.searchsorted(order, negatives, "right")) / (
        2 * len(order)
    )
    variance = v10.var(ddof=1) / len(positives) + v01.var(ddof=1) / len(negatives)
    sd = math.sqrt(max(variance, 1.0 / (4 * rows * rows)) * rows)
    width = half_width(sd, rows, alpha, mixture_rho(n_star, alpha))
    return ArmEstimate(auc, Interval(max(auc - width, 0.0), min(auc + width, 1.0)), rows)


def _r2_interval(arm: ArmData, *, alpha: float, n_star: int) -> ArmEstimate:
    """r2 = 1 − MSE/Var(y): decreasing in the MSE, increasing in the variance; each mean at α/2."""
    truth, rows = arm.y_true, len(arm.y_true)
    if rows < 3:
        return ArmEstimate(math.nan, Interval(-math.inf, 1.0), rows)
    share = alpha / 2
    rho = mixture_rho(n_star, share)
    mse, mse_interval = mean_interval((truth - arm.y_pred) ** 2, alpha=share, rho=rho)
    spread, spread_interval = mean_interval((truth - truth.mean()) ** 2, alpha=share, rho=rho)
    if spread <= 0:
        return ArmEstimate(math.nan, Interval(-math.inf, 1.0), rows)
    low = 1 - max(mse_interval.high, 0.0) / spread_interval.low if spread_interval.low > 0 else -math.inf
    high = 1 - max(mse_interval.low, 0.0) / spread_interval.high
    return ArmEstimate(1 - mse / spread, Interval(low, min(high, 1.0)), rows)


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
    interval = Interval(cand.interval.low - base.interval.high, cand.interval.high - base.interval.low)
    return Comparison(
        metric=str(metric),
        higher_is_better=METRICS[metric].higher_is_better,
        baseline=base,
        candidate=cand,
        difference=cand.value - base.value,
        interval=interval,
        alpha=alpha,
        method=METHOD,
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
