"""The confidence sequence of one mean, which every metric's always-valid interval is built from.

Robbins' normal-mixture boundary with a plug-in standard deviation, as in the asymptotic
confidence sequences of Waudby-Smith, Arnold, Wu, Howard and Ramdas (2024, Annals of
Statistics 52(6)); ``modelmonitor.engine.sequential`` says how a metric's interval and a
comparison of two arms are made of these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from modelmonitor.api.comparison import Interval


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
    if binary:
        return proportion_interval(float(values.sum()), n, alpha=alpha, rho=rho)
    if n == 0:
        return math.nan, Interval(-math.inf, math.inf)
    mean = float(values.mean())
    sd = float(values.std(ddof=1)) if n > 1 else math.inf
    width = half_width(sd, n, alpha, rho)
    return mean, Interval(mean - width, mean + width)


def proportion_interval(successes: float, n: int, *, alpha: float, rho: float) -> tuple[float, Interval]:
    """The share of ``n`` 0/1 outcomes that are 1, and its CS (clipped to [0, 1]; see :func:`mean_interval`)."""
    if n == 0:
        return math.nan, Interval(0.0, 1.0)
    mean = successes / n
    shrunk = (successes + 1) / (n + 2)
    width = half_width(math.sqrt(shrunk * (1 - shrunk)), n, alpha, rho)
    return mean, Interval(max(mean - width, 0.0), min(mean + width, 1.0))


@dataclass(frozen=True)
class ArmData:
    """One arm's labelled rows: class codes (classification) or values (regression), and scores."""

    y_true: NDArray[np.float64]
    y_pred: NDArray[np.float64]
    score: NDArray[np.float64] | None = None
