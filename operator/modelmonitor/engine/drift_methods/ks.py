"""Kolmogorov-Smirnov: the largest gap between the two empirical CDFs, and its two-sided p-value.

Numerical values only: it ranks them.  The p-value is scipy's exact one up to 10,000 values a
side and the asymptotic one above (as ``scipy.stats.ks_2samp``).  Streamed, it is read at the
bin edges, which can only underestimate it, by at most the largest share of either sample in
one bin: that bound is reported.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from modelmonitor.engine.drift_definition import DriftMethodDefinition, Measured
from modelmonitor.engine.numerical_distance import (
    BinnedColumn,
    binned_ks,
    ks_p_value,
    merged_cdf_pass,
    sorted_ks_p_value,
)


def exact(reference: NDArray[np.float64], current: NDArray[np.float64]) -> Measured:
    statistic = merged_cdf_pass(reference, current)[0]
    return Measured(statistic, sorted_ks_p_value(reference, current, statistic))


def binned(edges: NDArray[np.float64], reference: BinnedColumn, current: BinnedColumn) -> Measured:
    statistic, error = binned_ks(reference, current)
    return Measured(statistic, ks_p_value(statistic, reference.size, current.size), approximation_error=error)


METHOD = DriftMethodDefinition(default_threshold=0.05, exact=exact, binned=binned)
