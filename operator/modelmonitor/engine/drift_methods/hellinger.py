"""Hellinger distance over category counts, or over the reference's deciles."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from modelmonitor.engine.drift_definition import distance_method


def hellinger(expected: NDArray[np.float64], actual: NDArray[np.float64]) -> float:
    """Hellinger distance (in [0, 1]) between the two count vectors' shares."""
    p = expected / expected.sum()
    q = actual / actual.sum()
    return float(np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)))


METHOD = distance_method(hellinger)
