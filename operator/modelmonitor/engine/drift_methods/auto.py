"""The ``auto`` rule: a test by column kind, and an effect large enough to matter.

The test is KS (numerical), chi² (categorical) or a two-proportion z-test (binary), judged at
the threshold (default 0.05) after the multiple-testing correction.  A column drifts only
when the test is significant **and** the effect reaches its floor: normalised Wasserstein
≥ 0.05 (numerical), Jensen-Shannon distance ≥ 0.03 (categorical), Cohen's h ≥ 0.05
(binary).  The floor is what keeps KS from flagging every column on millions of rows, where
any difference is significant.  See the README for the reasoning.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from modelmonitor.engine.drift_definition import ColumnKind, DriftMethodDefinition, Measured
from modelmonitor.engine.drift_methods.chi2 import chi2_test
from modelmonitor.engine.drift_methods.jensenshannon import jensen_shannon
from modelmonitor.engine.drift_methods.ztest import proportions_ztest
from modelmonitor.engine.numerical_distance import (
    BinnedColumn,
    binned_ks,
    binned_normalised_wasserstein,
    ks_p_value,
    merged_cdf_pass,
    normalised_wasserstein,
    sorted_ks_p_value,
)

EFFECT_FLOORS = {
    ColumnKind.NUMERICAL: 0.05,  # normalised Wasserstein
    ColumnKind.CATEGORICAL: 0.03,  # Jensen-Shannon distance, base 2
    ColumnKind.BINARY: 0.05,  # Cohen's h
}


def cohens_h(p1: float, p2: float) -> float:
    return float(abs(2 * np.arcsin(np.sqrt(p2)) - 2 * np.arcsin(np.sqrt(p1))))


def exact(reference: NDArray[np.float64], current: NDArray[np.float64]) -> Measured:
    statistic, area = merged_cdf_pass(reference, current)
    p_value = sorted_ks_p_value(reference, current, statistic)
    effect = normalised_wasserstein(reference, current, area)
    return Measured(statistic, p_value, effect, EFFECT_FLOORS[ColumnKind.NUMERICAL])


def binned(edges: NDArray[np.float64], reference: BinnedColumn, current: BinnedColumn) -> Measured:
    statistic, error = binned_ks(reference, current)
    p_value = ks_p_value(statistic, reference.size, current.size)
    effect = binned_normalised_wasserstein(edges, reference, current)[0]
    return Measured(statistic, p_value, effect, EFFECT_FLOORS[ColumnKind.NUMERICAL], approximation_error=error)


def counts(expected: NDArray[np.float64], actual: NDArray[np.float64], kind: ColumnKind) -> Measured:
    if kind is ColumnKind.BINARY:
        z, p_value = proportions_ztest((expected[-1], actual[-1]), (expected.sum(), actual.sum()))
        effect = cohens_h(expected[-1] / expected.sum(), actual[-1] / actual.sum())
        return Measured(z, p_value, effect, EFFECT_FLOORS[kind])
    statistic, p_value = chi2_test(expected, actual)
    return Measured(statistic, p_value, jensen_shannon(expected, actual), EFFECT_FLOORS[kind])


METHOD = DriftMethodDefinition(
    default_threshold=0.05, exact=exact, binned=binned, counts=counts, counted_kinds=frozenset(ColumnKind)
)
