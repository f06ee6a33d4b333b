"""Jensen-Shannon distance over category counts, or over the reference's deciles."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from modelmonitor.engine.drift_definition import distance_method


def jensen_shannon(expected: NDArray[np.float64], actual: NDArray[np.float64]) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]), as ``scipy.spatial.distance.jensenshannon``."""
    p = expected / expected.sum()
    q = actual / actual.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum()
    return float(np.sqrt(max((kl_p + kl_q) / 2, 0.0)))


METHOD = distance_method(jensen_shannon)
