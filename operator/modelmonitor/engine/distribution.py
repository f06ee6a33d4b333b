"""Compact pictures of a feature's two distributions, for reports: small, exact and bounded.

A numerical column becomes counts in ``DISPLAY_BINS`` equal-width bins over the range
both sides mostly cover (their 0.5 % to 99.5 % quantiles), plus how many values fell
below and above it: one outlier (or an infinity) cannot squash the picture into one bar.
A categorical column becomes the counts of its ``CATEGORIES_SHOWN`` largest categories
on either side, the rest summed, and which of them the reference never saw.  Either is a
few hundred bytes, whatever the number of rows, so 200 features fit a MonitorRun status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from modelmonitor.api.results import CategoryCounts, Histogram

DISPLAY_BINS = 20
CATEGORIES_SHOWN = 20
RANGE_QUANTILES = (0.005, 0.995)
_SIGNIFICANT = 6


def finite_part(sorted_values: NDArray[np.float64]) -> NDArray[np.float64]:
    """The finite values of a sorted array (a view: its infinities sit at either end)."""
    start = int(np.searchsorted(sorted_values, -np.inf, side="right"))
    return sorted_values[start : int(np.searchsorted(sorted_values, np.inf, side="left"))]


def _finite_quantile(sorted_values: NDArray[np.float64], level: float) -> float | None:
    finite = finite_part(sorted_values)
    if finite.size == 0:
        return None
    return float(finite[min(int(level * finite.size), finite.size - 1)])


def display_edges(*sorted_samples: NDArray[np.float64]) -> NDArray[np.float64]:
    """Equal-width bin edges over the range the sorted samples mostly cover (see the module)."""
    lows = [q for s in sorted_samples if (q := _finite_quantile(s, RANGE_QUANTILES[0])) is not None]
    highs = [q for s in sorted_samples if (q := _finite_quantile(s, RANGE_QUANTILES[1])) is not None]
    low, high = (min(lows), max(highs)) if lows else (0.0, 1.0)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    # by halves: the width of a range near ±1e308 overflows, its half does not
    edges = 2.0 * np.linspace(low / 2.0, high / 2.0, DISPLAY_BINS + 1)
    rounded = np.array([float(f"{edge:.{_SIGNIFICANT}g}") for edge in edges])
    return rounded if np.all(np.diff(rounded) > 0) else edges


@dataclass
class BinCounter:
    """Counts values into fixed display bins, a batch at a time."""

    edges: NDArray[np.float64]

    def __post_init__(self) -> None:
        self.counts = np.zeros(self.edges.size - 1, dtype=np.int64)
        self.below = self.above = 0

    def add(self, values: NDArray[np.float64]) -> None:
        """Count a batch of non-NaN values (infinities count as outside)."""
        self.below += int(np.count_nonzero(values < self.edges[0]))
        self.above += int(np.count_nonzero(values > self.edges[-1]))
        self.counts += np.histogram(values[np.isfinite(values)], bins=self.edges)[0]

    @property
    def outside(self) -> tuple[int, int]:
        return self.below, self.above


def histogram(reference: BinCounter, current: BinCounter) -> Histogram:
    return Histogram(
        reference.edges.tolist(),
        reference.counts.tolist(),
        current.counts.tolist(),
        reference.outside,
        current.outside,
    )


def sorted_histogram(reference: NDArray[np.float64], current: NDArray[np.float64]) -> Histogram:
    """The display histogram of two sorted NaN-free samples."""
    edges = display_edges(reference, current)
    counters = BinCounter(edges), BinCounter(edges)
    counters[0].add(reference)
    counters[1].add(current)
    return histogram(*counters)


def category_counts(
    reference: Mapping[Any, int], current: Mapping[Any, int], *, ordered: bool = False
) -> CategoryCounts:
    """The largest categories by their larger share on either side, in that order (by value if ``ordered``)."""
    reference_total, current_total = sum(reference.values()) or 1, sum(current.values()) or 1

    def weight(value: Any) -> float:
        return max(reference.get(value, 0) / reference_total, current.get(value, 0) / current_total)

    shown = sorted(set(reference) | set(current), key=lambda value: (-weight(value), str(value)))[:CATEGORIES_SHOWN]
    if ordered:
        shown.sort()
    return CategoryCounts(
        [str(value) for value in shown],
        [int(reference.get(value, 0)) for value in shown],
        [int(current.get(value, 0)) for value in shown],
        int(sum(reference.values()) - sum(reference.get(value, 0) for value in shown)),
        int(sum(current.values()) - sum(current.get(value, 0) for value in shown)),
        [str(value) for value in shown if not reference.get(value, 0)],
    )
