"""Pearson's chi² test of homogeneity on the 2×k table of category counts.

Counts only: a numerical column is counted by value for it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from modelmonitor.engine.drift_definition import ColumnKind, DriftMethodDefinition, Measured


def chi2_test(expected: NDArray[np.float64], actual: NDArray[np.float64]) -> tuple[float, float]:
    """Chi² statistic and p-value (categories seen in neither sample dropped), as ``scipy.stats.chi2_contingency``."""
    table = np.vstack([expected, actual])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def counts(expected: NDArray[np.float64], actual: NDArray[np.float64], kind: ColumnKind) -> Measured:
    return Measured(*chi2_test(expected, actual))


METHOD = DriftMethodDefinition(default_threshold=0.05, counts=counts, counted_kinds=frozenset(ColumnKind))
