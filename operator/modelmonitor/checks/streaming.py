"""Drift of columns too large to hold in memory: a map step over partitions, and a merge.

Each side of a column is cut into partitions (files, row groups: see
``Source.partitions``) and each partition is read a batch at a time, so memory stays
one batch and the partitions can be read anywhere: one after the other in this process,
or all at once on a Dask cluster's workers.  Both run these same stage functions in the
same order of partitions, so their results are identical.

A numerical column gets two passes.  Pass one maps each partition to its exact moments
(merged by Chan et al.'s pairwise update), extremes, null count and every ``stride``-th
value; the merge sorts those into a sample of about ``SAMPLE_SIZE`` reference values.
Pass two maps each partition to its counts in the bins between the sample's ``BINS``
quantiles; the merge adds them up and the engine measures drift from the histograms,
saying how far from exact each statistic can be.  A column of few distinct values, or a
categorical one, is counted by value instead, which is exact.

Every stage is ``function(context, *args)``, run by a ``checks.executors.Executor``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from modelmonitor.api.drift import DriftMethod
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.executors import Executor
from modelmonitor.checks.outcome import (
    FeatureOutcome,
    Infinities,
    RowCounts,
    add_counts,
    distinct_at_most,
    infinite_findings,
    measure_counts,
)
from modelmonitor.data.source_definition import Partition
from modelmonitor.engine.distribution import BinCounter, display_edges, histogram
from modelmonitor.engine.drift import DISCRETE_MAX_VALUES, METHODS, DriftMeasurement, binned_numerical_drift
from modelmonitor.engine.numerical_distance import BinnedColumn
from modelmonitor.errors import DataError

SAMPLE_SIZE = 1_000_000
CURRENT_SAMPLE_SIZE = 100_000  # only places the report's histogram bins
BINS = 10_000
_SAMPLED = ((True, SAMPLE_SIZE), (False, CURRENT_SAMPLE_SIZE))


def _floats(values: pa.Array) -> NDArray[np.float64]:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)  # nulls become NaN


def _batches(context: CheckContext, feature: str, reference: bool, partition: Partition) -> Iterator[pa.Array]:
    return context.side(reference).batches(feature, context.side_rows(reference), partition=partition)


@dataclass
class ColumnScan(RowCounts):
    """One side's null and infinite counts, and the exact moments and extremes of its finite values.

    Infinities count as values (KS ranks them like the exact test does) but stay out of
    the moments and extremes: a distance cannot measure them, as in the exact path.
    """

    positive_infinite: int = 0
    negative_infinite: int = 0
    mean: float = 0.0
    squares: float = 0.0  # the sum of squared deviations of the finite values from their mean
    low: float = np.inf
    high: float = -np.inf

    @property
    def finite(self) -> int:
        return self.count - self.positive_infinite - self.negative_infinite

    @property
    def infinities(self) -> Infinities:
        return Infinities(self.positive_infinite, self.negative_infinite)

    @property
    def std(self) -> float:
        return float(np.sqrt(self.squares / self.finite)) if self.finite else 0.0

    def merge(self, other: ColumnScan) -> None:
        """Add another scan's values: Chan, Golub and LeVeque's pairwise update (1979)."""
        before, total = self.finite, self.finite + other.finite
        if other.finite:
            delta = other.mean - self.mean
            self.mean += delta * other.finite / total
            self.squares += other.squares + delta**2 * before * other.finite / total
            self.low, self.high = min(self.low, other.low), max(self.high, other.high)
        self.rows += other.rows
        self.nulls += other.nulls
        self.positive_infinite += other.positive_infinite
        self.negative_infinite += other.negative_infinite

    def add(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """Account for a batch; return its finite values."""
        valid = values[~np.isnan(values)]
        finite = valid[np.isfinite(valid)]
        positive = int(np.count_nonzero(valid == np.inf))
        batch = ColumnScan(
            rows=values.size,
            nulls=values.size - valid.size,
            positive_infinite=positive,
            negative_infinite=valid.size - finite.size - positive,
        )
        if finite.size:
            batch.mean = float(finite.mean())
            batch.squares = float(((finite - batch.mean) ** 2).sum())
            batch.low, batch.high = float(finite.min()), float(finite.max())
        self.merge(batch)
        return finite


def _merged(scans: list[ColumnScan]) -> ColumnScan:
    merged = ColumnScan()
    for scan in scans:
        merged.merge(scan)
    return merged


@dataclass
class PartitionScan:
    """Pass one over one partition: its scan and every ``stride``-th finite value."""

    scan: ColumnScan = field(default_factory=ColumnScan)
    sample: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    error: str = ""


def scan_partition(
    context: CheckContext, feature: str, reference: bool, partition: Partition, stride: int
) -> PartitionScan:
    result = PartitionScan()
    kept: list[NDArray[np.float64]] = []
    try:
        for batch in _batches(context, feature, reference, partition):
            seen = result.scan.finite
            finite = result.scan.add(_floats(batch))
            kept.append(finite[(-seen) % stride :: stride].copy())  # a view would keep the whole batch alive
    except DataError as error:
        result.error = str(error)
    if kept:
        result.sample = np.concatenate(kept)
    return result


@dataclass(frozen=True)
class BinPlan:
    """Where pass two counts: between the reference sample's quantiles, and into the report's bins."""

    edges: NDArray[np.float64]
    shown: NDArray[np.float64]


@dataclass
class FirstPass:
    """Both sides after pass one; with ``plan`` None a column ready to measure is counted by value."""

    outcome: FeatureOutcome
    reference: ColumnScan
    current: ColumnScan
    plan: BinPlan | None = None

    @property
    def proceed(self) -> bool:
        """Whether pass two has anything to measure: nothing has stopped the outcome yet."""
        return self.outcome.status is Verdict.PASSED


def merge_scans(
    context: CheckContext,
    feature: str,
    method: DriftMethod,
    reference_parts: list[PartitionScan],
    current_parts: list[PartitionScan],
) -> FirstPass:
    outcome = FeatureOutcome(feature, method)
    reference, current = _merged([p.scan for p in reference_parts]), _merged([p.scan for p in current_parts])
    if error := next((p.error for p in (*reference_parts, *current_parts) if p.error), ""):
        return FirstPass(outcome.unreadable(DataError(error)), reference, current)
    outcome.findings += infinite_findings(
        feature, reference.infinities, reference.count, current.infinities, current.count
    )
    if not outcome.ready(reference, current, context.min_samples):
        return FirstPass(outcome, reference, current)
    sample = np.sort(np.concatenate([p.sample for p in reference_parts]))
    if distinct_at_most(sample, DISCRETE_MAX_VALUES) and not METHODS[method].reads_values_only:
        return FirstPass(outcome, reference, current)
    levels = np.linspace(0.0, 1.0, BINS + 1)[1:-1]
    edges = np.unique(sample[np.minimum((levels * sample.size).astype(np.int64), sample.size - 1)])
    shown = display_edges(sample, np.sort(np.concatenate([p.sample for p in current_parts])))
    return FirstPass(outcome, reference, current, plan=BinPlan(edges, shown))


@dataclass
class PartitionCounts:
    """Pass two over one partition: counts per bin and per report bin, or per distinct value."""

    bins: NDArray[np.float64] | None = None
    shown: BinCounter | None = None
    values: dict[Any, int] = field(default_factory=dict)
    error: str = ""


def count_partition(
    context: CheckContext, feature: str, reference: bool, partition: Partition, first: FirstPass
) -> PartitionCounts:
    result = PartitionCounts()
    if not first.proceed:
        return result
    plan = first.plan
    if plan is not None:
        result.bins = np.zeros(plan.edges.size + 1, dtype=np.float64)
        result.shown = BinCounter(plan.shown)
    try:
        for batch in _batches(context, feature, reference, partition):
            values = _floats(batch)
            values = values[~np.isnan(values)]
            if plan is None:
                distinct, numbers = np.unique(values, return_counts=True)
                add_counts(result.values, distinct.tolist(), numbers.tolist())
                continue
            assert result.bins is not None and result.shown is not None
            result.bins += np.bincount(np.searchsorted(plan.edges, values), minlength=plan.edges.size + 1)
            result.shown.add(values)
    except DataError as error:
        result.error = str(error)
    return result


def _summed_values(parts: list[PartitionCounts]) -> dict[Any, int]:
    total: dict[Any, int] = {}
    for part in parts:
        add_counts(total, part.values.keys(), part.values.values())
    return total


def _summed_shown(plan: BinPlan, parts: list[PartitionCounts]) -> BinCounter:
    total = BinCounter(plan.shown)
    for part in parts:
        assert part.shown is not None
        total.counts += part.shown.counts
        total.below += part.shown.below
        total.above += part.shown.above
    return total


def finish_numeric(
    context: CheckContext,
    threshold: float | None,
    first: FirstPass,
    reference_parts: list[PartitionCounts],
    current_parts: list[PartitionCounts],
) -> FeatureOutcome:
    outcome, plan, method = first.outcome, first.plan, first.outcome.method
    if not first.proceed:
        return outcome
    if error := next((p.error for p in (*reference_parts, *current_parts) if p.error), ""):
        return outcome.unreadable(DataError(error))

    def by_value() -> DriftMeasurement:
        reference, current = _summed_values(reference_parts), _summed_values(current_parts)
        return measure_counts(
            reference, current, method, threshold, numeric=True, categorical=False, outcome=outcome, find_new=False
        )

    def binned() -> DriftMeasurement:
        assert plan is not None
        columns = [
            BinnedColumn(
                sum(p.bins for p in parts),  # type: ignore[arg-type]
                scan.mean,
                scan.std,
                scan.low,
                scan.high,
                negative_infinite=scan.negative_infinite,
                positive_infinite=scan.positive_infinite,
            )
            for parts, scan in ((reference_parts, first.reference), (current_parts, first.current))
        ]
        outcome.histogram = histogram(_summed_shown(plan, reference_parts), _summed_shown(plan, current_parts))
        return binned_numerical_drift(plan.edges, *columns, method=method, threshold=threshold)

    return outcome.measured(by_value if plan is None else binned)


def plan_numeric(
    executor: Executor, context: CheckContext, feature: str, method: DriftMethod, threshold: float | None
) -> Any:
    """Submit a numerical column's two passes; the handle of its outcome."""
    partitions = {reference: context.side_partitions(reference) for reference in (True, False)}
    strides = {reference: max(1, context.side_count(reference) // size) for reference, size in _SAMPLED}
    scans = {
        reference: [
            executor.submit(scan_partition, feature, reference, partition, strides[reference]) for partition in found
        ]
        for reference, found in partitions.items()
    }
    first = executor.submit(merge_scans, feature, method, scans[True], scans[False])
    counts = {
        reference: [executor.submit(count_partition, feature, reference, partition, first) for partition in found]
        for reference, found in partitions.items()
    }
    return executor.submit(finish_numeric, threshold, first, counts[True], counts[False])


@dataclass
class PartitionValues(RowCounts):
    """One partition of a column counted by value."""

    counts: dict[Any, int] = field(default_factory=dict)
    error: str = ""


def count_values(context: CheckContext, feature: str, reference: bool, partition: Partition) -> PartitionValues:
    result = PartitionValues()
    try:
        for batch in _batches(context, feature, reference, partition):
            if pa.types.is_floating(batch.type):
                batch = pc.if_else(pc.is_nan(batch), None, batch)
            result.rows += len(batch)
            result.nulls += batch.null_count
            if len(valid := batch.drop_null()):
                counted = pc.value_counts(valid)
                add_counts(result.counts, counted.field("values").to_pylist(), counted.field("counts").to_pylist())
    except DataError as error:
        result.error = str(error)
    return result


def finish_values(
    context: CheckContext,
    feature: str,
    method: DriftMethod,
    threshold: float | None,
    kind: tuple[bool, bool],
    reference_parts: list[PartitionValues],
    current_parts: list[PartitionValues],
) -> FeatureOutcome:
    """A column counted by value, ``kind`` being whether it is (numeric, declared categorical)."""
    outcome = FeatureOutcome(feature, method)
    if error := next((p.error for p in (*reference_parts, *current_parts) if p.error), ""):
        return outcome.unreadable(DataError(error))
    sides = []
    for parts in (reference_parts, current_parts):
        side = PartitionValues()
        for part in parts:
            side.rows, side.nulls = side.rows + part.rows, side.nulls + part.nulls
            add_counts(side.counts, part.counts.keys(), part.counts.values())
        sides.append(side)
    reference, current = sides
    if not outcome.ready(reference, current, context.min_samples):
        return outcome
    numeric, categorical = kind
    return outcome.measured(
        lambda: measure_counts(
            reference.counts,
            current.counts,
            method,
            threshold,
            numeric=numeric,
            categorical=categorical,
            outcome=outcome,
        )
    )


def plan_values(
    executor: Executor,
    context: CheckContext,
    feature: str,
    method: DriftMethod,
    threshold: float | None,
    kind: tuple[bool, bool],
) -> Any:
    """Submit a column's counts by value, partition by partition; the handle of its outcome."""
    counted = {
        reference: [
            executor.submit(count_values, feature, reference, partition)
            for partition in context.side_partitions(reference)
        ]
        for reference in (True, False)
    }
    return executor.submit(finish_values, feature, method, threshold, kind, counted[True], counted[False])
