"""Confidence intervals for any metric, from a bootstrap of its rows.

A report draws each metric over time in small buckets of rows, with a band of how
uncertain each bucket's value is.  The metrics include ratios of counts (F1), rank
statistics (ROC AUC) and losses, so one method must serve them all: the bootstrap
standard error, and the normal interval ``value ± z·SE`` around the observed value.

A bucket can hold millions of rows; resampling all of them 50 times would cost more
than the check itself.  Above ``BOOTSTRAP_ROWS`` rows the resamples are drawn with
``m = BOOTSTRAP_ROWS`` rows and their spread rescaled by ``sqrt(m / n)``: the
m-out-of-n bootstrap (Bickel, Götze & van Zwet, Statistica Sinica 7, 1997), valid for
the √n-consistent metrics used here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy import stats

BOOTSTRAP_RESAMPLES = 50
BOOTSTRAP_ROWS = 5_000


def bootstrap_standard_error(
    metric: Callable[[NDArray[np.int64]], NDArray[np.float64]],
    rows: int,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    largest: int = BOOTSTRAP_ROWS,
    seed: int = 0,
) -> float | None:
    """The standard error of ``metric`` over ``rows`` rows.

    ``metric`` scores every resample at once: given row indices of shape ``(resamples,
    drawn)``, it returns one value per resample (NaN where undefined). ``None`` when the
    error cannot be told: fewer than two rows, or too few resamples on which the metric is
    defined (a resample with one class has no ROC AUC).
    """
    if rows < 2:
        return None
    drawn = min(rows, largest)
    draws = np.random.default_rng(seed).integers(0, rows, (resamples, drawn))
    return _rescaled_spread(np.asarray(metric(draws), dtype=np.float64), drawn, rows)


def counted_standard_error(
    metric: Callable[[NDArray[np.int64]], NDArray[np.float64]],
    counts: NDArray[np.int64],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    largest: int = BOOTSTRAP_ROWS,
    seed: int = 0,
) -> float | None:
    """:func:`bootstrap_standard_error` of a metric of counts (a confusion matrix), drawing counts, not rows.

    Rows drawn with replacement fall into the cells of ``counts`` as a multinomial draw with
    the observed cell shares, so drawing the counts directly is the same bootstrap, at a
    cost of the number of cells rather than of rows. ``metric`` scores a stack of count
    arrays (``resamples, *counts.shape``) at once.
    """
    rows = int(counts.sum())
    if rows < 2:
        return None
    drawn = min(rows, largest)
    shares = counts.ravel() / rows
    stack = np.random.default_rng(seed).multinomial(drawn, shares, size=resamples).reshape(resamples, *counts.shape)
    return _rescaled_spread(np.asarray(metric(stack), dtype=np.float64), drawn, rows)


def _rescaled_spread(values: NDArray[np.float64], drawn: int, rows: int) -> float | None:
    """The resampled values' spread, scaled from ``drawn`` rows to ``rows`` (m-out-of-n)."""
    resamples = values.size
    values = values[np.isfinite(values)]
    if values.size < resamples // 2:
        return None
    return float(values.std(ddof=1) * np.sqrt(drawn / rows))


@functools.cache
def _normal_quantile(probability: float) -> float:
    return float(stats.norm.ppf(probability))  # scipy's ppf costs ~80 µs: a check asks hundreds of times


def normal_interval(
    value: float, standard_error: float, *, confidence: float, low: float | None = None, high: float | None = None
) -> tuple[float, float]:
    """``value ± z·SE``, clipped to the metric's range [``low``, ``high``]."""
    half = _normal_quantile(0.5 + confidence / 2) * standard_error
    lower, upper = value - half, value + half
    return (lower if low is None else max(low, lower)), (upper if high is None else min(high, upper))
