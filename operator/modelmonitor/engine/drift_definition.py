"""What a data-drift method is: the column kinds it measures, its default threshold, and its forms.

A method takes up to three forms, by how its column arrives:

* ``exact``: a numerical column read whole, as two sorted arrays of floats without nulls;
* ``binned``: a numerical column too large to sort, as counts between shared bin edges
  (:class:`~modelmonitor.engine.numerical_distance.BinnedColumn`), with the error bound that costs;
* ``counts``: a column counted by value (categorical, binary, or numerical with few values).

A method with no ``counts`` form reads values only (KS, Wasserstein): it is never handed
counts.  A method with only a ``counts`` form (chi², z-test) is never handed values.  Each
method is one module of ``modelmonitor.engine.drift_methods`` ending in its ``METHOD``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from modelmonitor.engine.numerical_distance import BinnedColumn, binned_decile_counts, quantile_bin_counts


class ColumnKind(StrEnum):
    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"
    BINARY = "binary"


@dataclass(frozen=True)
class Measured:
    """What one form of a method measured; the registry adds the method, kind and threshold.

    ``effect_size`` and ``effect_floor``: a significant test drifts only when the effect
    reaches the floor.  ``approximation_error``: the largest possible difference between
    a statistic computed from bins and the exact one.
    """

    statistic: float
    p_value: float | None = None
    effect_size: float | None = None
    effect_floor: float | None = None
    approximation_error: float | None = None


Counts = NDArray[np.float64]
ExactForm = Callable[[NDArray[np.float64], NDArray[np.float64]], Measured]
BinnedForm = Callable[[NDArray[np.float64], BinnedColumn, BinnedColumn], Measured]
CountsForm = Callable[[Counts, Counts, ColumnKind], Measured]


@dataclass(frozen=True)
class DriftMethodDefinition:
    """One data-drift method, as its module declares it.

    ``default_threshold``: a significance level for a method that reports a p-value, else
    the distance at which a column drifts.  ``counted_kinds``: the kinds of column its
    ``counts`` form accepts.
    """

    default_threshold: float
    exact: ExactForm | None = None
    binned: BinnedForm | None = None
    counts: CountsForm | None = None
    counted_kinds: frozenset[ColumnKind] = frozenset()

    def __post_init__(self) -> None:
        if (self.exact is None) != (self.binned is None):
            raise ValueError("a method reading values reads them both whole (exact) and streamed (binned)")
        if (self.counts is None) != (not self.counted_kinds):
            raise ValueError("a method reading counts names the kinds of column it counts, and only then")
        if self.exact is None and self.counts is None:
            raise ValueError("a method reads values, counts or both")

    @property
    def reads_values_only(self) -> bool:
        """Never handed counts: a numerical column is sorted (or binned) for it, however few its values."""
        return self.counts is None

    @property
    def reads_counts_only(self) -> bool:
        """Never handed values: a numerical column is counted by value for it."""
        return self.exact is None


def distance_method(distance: Callable[[Counts, Counts], float]) -> DriftMethodDefinition:
    """A distance between two distributions' shares, taken over counts or over the reference's deciles.

    Threshold 0.1.  Streamed, the bins are grouped at the reference's deciles, as near as their edges allow.
    """

    def exact(reference: NDArray[np.float64], current: NDArray[np.float64]) -> Measured:
        return Measured(distance(*quantile_bin_counts(reference, current)))

    def binned(edges: NDArray[np.float64], reference: BinnedColumn, current: BinnedColumn) -> Measured:
        return Measured(distance(*binned_decile_counts(reference, current)))

    def counts(expected: Counts, actual: Counts, kind: ColumnKind) -> Measured:
        return Measured(distance(expected, actual))

    return DriftMethodDefinition(
        default_threshold=0.1,
        exact=exact,
        binned=binned,
        counts=counts,
        counted_kinds=frozenset(ColumnKind),
    )
