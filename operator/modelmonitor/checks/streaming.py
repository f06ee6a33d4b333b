"""Numerical drift for columns too large to sort in memory: two streaming passes.

Pass one reads both sides a batch at a time for their exact moments, extremes and null
counts, and keeps an evenly strided sample of the reference.  Pass two counts both sides
into the bins between the sample's 10,000 quantiles.  The engine then measures drift from
the histograms and says how far from exact each statistic can be.  Memory: one batch,
the sample, and the bins.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from modelmonitor.checks.context import CheckContext
from modelmonitor.engine.distribution import (
    BinCounter,
    CategoryCounts,
    Histogram,
    category_counts,
    display_edges,
    histogram,
)
from modelmonitor.engine.drift import (
    DISCRETE_MAX_VALUES,
    BinnedColumn,
    DriftMeasurement,
    binned_numerical_drift,
    categorical_drift,
    check_method,
    column_kind,
)
from modelmonitor.spec import DriftMethod

SAMPLE_SIZE = 1_000_000
CURRENT_SAMPLE_SIZE = 100_000  # only places the report's histogram bins
BINS = 10_000


def _floats(values: pa.Array) -> NDArray[np.float64]:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)  # nulls become NaN


@dataclass
class RowCounts:
    """How many rows a side had, and how many of them were null."""

    rows: int = 0
    nulls: int = 0

    @property
    def count(self) -> int:
        return self.rows - self.nulls

    @property
    def null_rate(self) -> float:
        return self.nulls / self.rows if self.rows else 0.0


@dataclass
class ColumnScan(RowCounts):
    """One side's exact moments (Chan's parallel update), extremes and null count."""

    mean: float = 0.0
    squares: float = 0.0  # the sum of squared deviations from the mean
    low: float = np.inf
    high: float = -np.inf

    @property
    def std(self) -> float:
        return float(np.sqrt(self.squares / self.count)) if self.count else 0.0

    def add(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """Account for a batch; return its non-null values."""
        self.rows += values.size
        valid = values[~np.isnan(values)]
        self.nulls += values.size - valid.size
        if valid.size:
            before = self.count - valid.size
            batch_mean = float(valid.mean())
            delta = batch_mean - self.mean
            self.mean += delta * valid.size / self.count
            self.squares += float(((valid - batch_mean) ** 2).sum()) + delta**2 * before * valid.size / self.count
            self.low, self.high = min(self.low, float(valid.min())), max(self.high, float(valid.max()))
        return valid


@dataclass
class NumericScan:
    """Both sides of one numerical feature, after the first pass."""

    context: CheckContext
    feature: str
    reference: ColumnScan = field(default_factory=ColumnScan)
    current: ColumnScan = field(default_factory=ColumnScan)
    sample: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    current_sample: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    histogram: Histogram | None = None  # the report's pictures, filled by the second pass
    categories: CategoryCounts | None = None

    @classmethod
    def first_pass(cls, context: CheckContext, feature: str) -> NumericScan:
        scan = cls(context, feature)
        scan.sample = scan._strided_sample(reference=True, size=SAMPLE_SIZE)
        scan.current_sample = scan._strided_sample(reference=False, size=CURRENT_SAMPLE_SIZE)
        return scan

    def _strided_sample(self, *, reference: bool, size: int) -> NDArray[np.float64]:
        """Scan one side for its moments, keeping an evenly strided sorted sample of about ``size`` values."""
        side = self.reference if reference else self.current
        expected = self.context.side(reference).count(self.context.side_rows(reference))
        stride = max(1, expected // size)
        kept: list[NDArray[np.float64]] = []
        for batch in self._batches(reference=reference):
            seen = side.count
            valid = side.add(_floats(batch))
            kept.append(valid[(-seen) % stride :: stride].copy())  # a view would keep the whole batch alive
        return np.sort(np.concatenate(kept)) if kept else np.empty(0)

    def _batches(self, *, reference: bool) -> Iterator[pa.Array]:
        return self.context.side(reference).batches(self.feature, self.context.side_rows(reference))

    def _counts(self, edges: NDArray[np.float64], shown: BinCounter, *, reference: bool) -> NDArray[np.float64]:
        counts = np.zeros(edges.size + 1, dtype=np.float64)
        for batch in self._batches(reference=reference):
            values = _floats(batch)
            values = values[~np.isnan(values)]
            counts += np.bincount(np.searchsorted(edges, values), minlength=edges.size + 1)
            shown.add(values)
        return counts

    def _value_counts(self, *, reference: bool) -> dict[float, int]:
        counts: dict[float, int] = {}
        for batch in self._batches(reference=reference):
            values = _floats(batch)
            distinct, numbers = np.unique(values[~np.isnan(values)], return_counts=True)
            for value, number in zip(distinct.tolist(), numbers.tolist(), strict=True):
                counts[value] = counts.get(value, 0) + number
        return counts

    def measure(self, method: DriftMethod, threshold: float | None) -> DriftMeasurement:
        """The second pass, and the drift measurement."""
        if np.unique(self.sample).size <= DISCRETE_MAX_VALUES and method not in (
            DriftMethod.KS,
            DriftMethod.WASSERSTEIN,
        ):
            reference, current = self._value_counts(reference=True), self._value_counts(reference=False)
            self.categories = category_counts(reference, current, ordered=True)
            kind = column_kind(
                numeric=True, declared_categorical=False, distinct_values=len(set(reference) | set(current))
            )
            check_method(method, kind)
            return categorical_drift(reference, current, method=method, threshold=threshold, kind=kind)
        levels = np.linspace(0.0, 1.0, BINS + 1)[1:-1]
        edges = np.unique(self.sample[np.minimum((levels * self.sample.size).astype(np.int64), self.sample.size - 1)])
        shown = display_edges(self.sample, self.current_sample)
        reference_shown, current_shown = BinCounter(shown), BinCounter(shown)
        reference = BinnedColumn(
            self._counts(edges, reference_shown, reference=True),
            self.reference.mean,
            self.reference.std,
            self.reference.low,
            self.reference.high,
        )
        current = BinnedColumn(
            self._counts(edges, current_shown, reference=False),
            self.current.mean,
            self.current.std,
            self.current.low,
            self.current.high,
        )
        self.histogram = histogram(reference_shown, current_shown)
        return binned_numerical_drift(edges, reference, current, method=method, threshold=threshold)
