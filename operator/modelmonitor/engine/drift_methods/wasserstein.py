"""Wasserstein-1 (earth mover's) distance in units of the reference's standard deviation.

Numerical values only.  Of the finite values (a distance cannot measure infinities); NaN
when either side has none.  Streamed, the CDF gap is integrated between the bin edges and
the error bound that costs is reported.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from modelmonitor.engine.drift_definition import DriftMethodDefinition, Measured
from modelmonitor.engine.numerical_distance import (
    BinnedColumn,
    binned_normalised_wasserstein,
    merged_cdf_pass,
    normalised_wasserstein,
)


def exact(reference: NDArray[np.float64], current: NDArray[np.float64]) -> Measured:
    return Measured(normalised_wasserstein(reference, current, merged_cdf_pass(reference, current)[1]))


def binned(edges: NDArray[np.float64], reference: BinnedColumn, current: BinnedColumn) -> Measured:
    distance, error = binned_normalised_wasserstein(edges, reference, current)
    return Measured(distance, approximation_error=error)


METHOD = DriftMethodDefinition(default_threshold=0.1, exact=exact, binned=binned)
