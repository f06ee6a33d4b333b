"""The coefficient of determination, 1 − SSE/SST (1.0 for a perfect constant, as scikit-learn)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from modelmonitor.api.comparison import ArmEstimate, Interval
from modelmonitor.engine.confidence_sequence import ArmData, mean_interval, mixture_rho
from modelmonitor.engine.metric_definition import MetricFormula


def of_errors(truth: NDArray[np.float64], predicted: NDArray[np.float64]) -> NDArray[np.float64]:
    residual = np.sum((predicted - truth) ** 2, axis=-1)
    total = np.sum((truth - truth.mean(axis=-1, keepdims=True)) ** 2, axis=-1)
    constant = np.where(residual == 0, 1.0, 0.0)  # a perfect constant scores 1, any error 0
    return np.where(total == 0, constant, 1.0 - residual / np.where(total == 0, 1.0, total))


def sequence_interval(arm: ArmData, *, alpha: float, n_star: int, positive: int) -> ArmEstimate:
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


FORMULA = MetricFormula(of_errors=of_errors, sequence_interval=sequence_interval)
