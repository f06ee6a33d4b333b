"""Two-proportion z-test of a binary column: the share of its second value (in sorted order) on each side."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from modelmonitor.engine.drift_definition import ColumnKind, DriftMethodDefinition, Measured


def proportions_ztest(successes: tuple[float, float], totals: tuple[float, float]) -> tuple[float, float]:
    """Two-sided pooled z-test for equal proportions."""
    p1, p2 = successes[0] / totals[0], successes[1] / totals[1]
    pooled = (successes[0] + successes[1]) / (totals[0] + totals[1])
    spread = np.sqrt(pooled * (1 - pooled) * (1 / totals[0] + 1 / totals[1]))
    if spread == 0:
        return 0.0, 1.0
    z = (p2 - p1) / spread
    return float(z), float(2 * stats.norm.sf(abs(z)))


def counts(expected: NDArray[np.float64], actual: NDArray[np.float64], kind: ColumnKind) -> Measured:
    return Measured(*proportions_ztest((expected[-1], actual[-1]), (expected.sum(), actual.sum())))


METHOD = DriftMethodDefinition(default_threshold=0.05, counts=counts, counted_kinds=frozenset({ColumnKind.BINARY}))
