"""Data-drift statistics for one column, and the ``auto`` rule.

Numerical columns arrive as 1-D float arrays without nulls; categorical columns as
category counts.  Exact KS and Wasserstein come from one merged pass over the two
sorted samples, in blocks, so memory stays a small multiple of the column itself.

The ``auto`` rule (see the README for the reasoning):

* a column is **binary** when reference and current together hold two distinct values,
  **categorical** when it is declared so, is not numeric, or is numeric with at most
  ``DISCRETE_MAX_VALUES`` distinct reference values, and **numerical** otherwise;
* the test is KS (numerical), chi² (categorical) or a two-proportion z-test (binary),
  judged at the threshold (default 0.05) after the multiple-testing correction;
* a column drifts only when the test is significant **and** the effect is large enough
  to matter: normalised Wasserstein ≥ 0.05 (numerical), Jensen-Shannon distance ≥ 0.03
  (categorical), Cohen's h ≥ 0.05 (binary).  The effect floor is what keeps KS from
  flagging every column on millions of rows, where any difference is significant.

Wasserstein is normalised by the reference's standard deviation; a constant reference has
none, so both samples' pooled one serves (zero only when every value is the same).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from modelmonitor.engine.distribution import finite_part
from modelmonitor.spec import Correction, DriftMethod

DISCRETE_MAX_VALUES = 10
QUANTILE_BINS = 10
_BLOCK = 1 << 20
_EXACT_KS_MAX = 10_000  # up to here scipy's exact KS distribution; above it the asymptotic one


class ColumnKind(StrEnum):
    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"
    BINARY = "binary"


DEFAULT_THRESHOLDS = {
    DriftMethod.AUTO: 0.05,
    DriftMethod.KS: 0.05,
    DriftMethod.CHI2: 0.05,
    DriftMethod.ZTEST: 0.05,
    DriftMethod.PSI: 0.1,
    DriftMethod.WASSERSTEIN: 0.1,
    DriftMethod.JENSEN_SHANNON: 0.1,
    DriftMethod.HELLINGER: 0.1,
}

AUTO_EFFECT_FLOORS = {
    ColumnKind.NUMERICAL: 0.05,  # normalised Wasserstein
    ColumnKind.CATEGORICAL: 0.03,  # Jensen-Shannon distance, base 2
    ColumnKind.BINARY: 0.05,  # Cohen's h
}

_METHODS_BY_KIND = {
    ColumnKind.NUMERICAL: frozenset(DriftMethod) - {DriftMethod.ZTEST},
    ColumnKind.CATEGORICAL: frozenset(
        {DriftMethod.AUTO, DriftMethod.CHI2, DriftMethod.PSI, DriftMethod.JENSEN_SHANNON, DriftMethod.HELLINGER}
    ),
    ColumnKind.BINARY: frozenset(DriftMethod) - {DriftMethod.KS, DriftMethod.WASSERSTEIN},
}


@dataclass(frozen=True)
class DriftMeasurement:
    """What one method measured on one column, before any multiple-testing correction.

    ``approximation_error`` is set for statistics computed from histograms: the largest
    possible difference between the reported statistic and the exact one.
    """

    method: DriftMethod
    kind: ColumnKind
    statistic: float
    p_value: float | None
    threshold: float
    effect_size: float | None = None
    effect_floor: float | None = None
    approximation_error: float | None = None

    def drifted(self, adjusted_p_value: float | None = None) -> bool:
        if self.p_value is None:
            return self.statistic >= self.threshold
        p_value = self.p_value if adjusted_p_value is None else adjusted_p_value
        significant = p_value < self.threshold
        if self.effect_floor is None or self.effect_size is None or math.isnan(self.effect_size):
            return significant  # no effect to weigh (infinite values): a NaN must never hide a clear drift
        return significant and self.effect_size >= self.effect_floor


def check_method(method: DriftMethod, kind: ColumnKind) -> None:
    if method not in _METHODS_BY_KIND[kind]:
        raise ValueError(f"method {method} does not apply to a {kind} column")


def column_kind(*, numeric: bool, declared_categorical: bool, distinct_values: int) -> ColumnKind:
    """Classify a column for the ``auto`` rule (see the module docstring)."""
    if distinct_values == 2:
        return ColumnKind.BINARY
    if declared_categorical or not numeric or distinct_values <= DISCRETE_MAX_VALUES:
        return ColumnKind.CATEGORICAL
    return ColumnKind.NUMERICAL


def _merged_cdf_pass(reference: NDArray[np.float64], current: NDArray[np.float64]) -> tuple[float, float]:
    """KS statistic and Wasserstein-1 distance of two *sorted* samples, exactly.

    One ``searchsorted`` places each reference value in the merged order (before equal
    current values); the current values fill the remaining slots in order.  Counting
    reference values along the merged order then gives both empirical CDFs, read only at
    the last of each run of equal values.  Memory: the merged values plus one block.
    """
    n_ref, n_cur = reference.size, current.size
    total = n_ref + n_cur
    positions = np.searchsorted(current, reference, side="left")
    positions += np.arange(n_ref)
    from_reference = np.zeros(total, dtype=bool)
    from_reference[positions] = True
    del positions
    merged = np.empty(total, dtype=np.float64)
    merged[from_reference] = reference
    merged[~from_reference] = current
    ks, area, seen_ref = 0.0, 0.0, 0
    for start in range(0, total, _BLOCK):
        stop = min(start + _BLOCK, total)
        counts_ref = np.cumsum(from_reference[start:stop], dtype=np.int64) + seen_ref
        seen_ref = int(counts_ref[-1])
        counts_cur = np.arange(start + 1, stop + 1, dtype=np.int64) - counts_ref
        gap = np.abs(counts_ref / n_ref - counts_cur / n_cur)
        following = merged[start + 1 : stop + 1]
        widths = following - merged[start : start + following.size]
        if following.size < gap.size:  # the very last point: the CDFs are both 1 there
            widths = np.append(widths, 0.0)
        run_ends = widths != 0
        run_ends[-1] |= stop == total
        if run_ends.any():
            ks = max(ks, float(gap[run_ends].max()))
        area += float(np.dot(gap, widths))
    return ks, area


def ks_p_value(statistic: float, n_ref: int, n_cur: int) -> float:
    """Two-sided p-value of the two-sample KS statistic, as ``scipy.stats.ks_2samp``'s asymptotic method."""
    effective_n = round(n_ref * n_cur / (n_ref + n_cur))
    return float(np.clip(stats.kstwo.sf(statistic, effective_n), 0.0, 1.0))


def _quantile_bin_counts(
    reference: NDArray[np.float64], current: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    edges = np.unique(reference[np.linspace(0, reference.size - 1, QUANTILE_BINS + 1).astype(np.int64)][1:-1])
    bounds_ref = np.searchsorted(reference, edges, side="right")
    bounds_cur = np.searchsorted(current, edges, side="right")
    ref_counts = np.diff(np.concatenate([[0], bounds_ref, [reference.size]]))
    cur_counts = np.diff(np.concatenate([[0], bounds_cur, [current.size]]))
    return ref_counts.astype(np.float64), cur_counts.astype(np.float64)


def psi(expected: NDArray[np.float64], actual: NDArray[np.float64]) -> float:
    """Population stability index of two count vectors; empty bins get a tiny share."""
    p = np.maximum(expected / expected.sum(), 1e-4)
    q = np.maximum(actual / actual.sum(), 1e-4)
    return float(np.sum((q - p) * np.log(q / p)))


def jensen_shannon(expected: NDArray[np.float64], actual: NDArray[np.float64]) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]), as ``scipy.spatial.distance.jensenshannon``."""
    p = expected / expected.sum()
    q = actual / actual.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum()
    return float(np.sqrt(max((kl_p + kl_q) / 2, 0.0)))


def hellinger(expected: NDArray[np.float64], actual: NDArray[np.float64]) -> float:
    p = expected / expected.sum()
    q = actual / actual.sum()
    return float(np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)))


def chi2_test(expected: NDArray[np.float64], actual: NDArray[np.float64]) -> tuple[float, float]:
    """Chi² test of homogeneity on a 2×k table (categories seen in neither sample dropped)."""
    table = np.vstack([expected, actual])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def proportions_ztest(successes: tuple[float, float], totals: tuple[float, float]) -> tuple[float, float]:
    """Two-sided pooled z-test for equal proportions."""
    p1, p2 = successes[0] / totals[0], successes[1] / totals[1]
    pooled = (successes[0] + successes[1]) / (totals[0] + totals[1])
    spread = np.sqrt(pooled * (1 - pooled) * (1 / totals[0] + 1 / totals[1]))
    if spread == 0:
        return 0.0, 1.0
    z = (p2 - p1) / spread
    return float(z), float(2 * stats.norm.sf(abs(z)))


def cohens_h(p1: float, p2: float) -> float:
    return float(abs(2 * np.arcsin(np.sqrt(p2)) - 2 * np.arcsin(np.sqrt(p1))))


def numerical_drift(
    reference: NDArray[np.float64],
    current: NDArray[np.float64],
    *,
    method: DriftMethod = DriftMethod.AUTO,
    threshold: float | None = None,
    assume_sorted: bool = False,
) -> DriftMeasurement:
    """Measure drift of a numerical column.  Both arrays are sorted in place, unless
    ``assume_sorted`` says they already are.

    >>> rng = np.random.default_rng(0)
    >>> numerical_drift(rng.normal(size=5000), rng.normal(1.0, size=5000)).drifted()
    True
    """
    if reference.size == 0 or current.size == 0:
        raise ValueError("drift needs values in both the reference and the current data")
    if not assume_sorted:
        reference.sort()
        current.sort()
    threshold = DEFAULT_THRESHOLDS[method] if threshold is None else threshold
    kind = ColumnKind.NUMERICAL
    if method in (DriftMethod.PSI, DriftMethod.JENSEN_SHANNON, DriftMethod.HELLINGER):
        expected, actual = _quantile_bin_counts(reference, current)
        measure = {DriftMethod.PSI: psi, DriftMethod.JENSEN_SHANNON: jensen_shannon}.get(method, hellinger)
        return DriftMeasurement(method, kind, measure(expected, actual), None, threshold)
    with np.errstate(invalid="ignore", over="ignore"):  # a distance over infinities, replaced below
        ks, wasserstein = _merged_cdf_pass(reference, current)
    # KS ranks infinities like any value; a distance has no way to measure them: it takes the finite values
    finite_ref, finite_cur = finite_part(reference), finite_part(current)
    if not (finite_ref.size and finite_cur.size):
        normalised = math.nan  # undefined, which the outcome reports
    else:
        unit = max(abs(finite_ref[0]), abs(finite_ref[-1]), abs(finite_cur[0]), abs(finite_cur[-1]))
        if unit > _OVERFLOWING:  # values near the float limit: measured in their own unit, the ratio is the same
            finite_ref, finite_cur = finite_ref / unit, finite_cur / unit
        if finite_ref.size < reference.size or finite_cur.size < current.size or unit > _OVERFLOWING:
            wasserstein = _merged_cdf_pass(finite_ref, finite_cur)[1]
        scale = _wasserstein_scale(
            (finite_ref.size, float(np.mean(finite_ref)), float(np.std(finite_ref))),
            (finite_cur.size, float(np.mean(finite_cur)), float(np.std(finite_cur))),
        )
        normalised = _normalised(wasserstein, scale)
    if method is DriftMethod.WASSERSTEIN:
        return DriftMeasurement(method, kind, normalised, None, threshold)
    if max(reference.size, current.size) <= _EXACT_KS_MAX:
        p_value = float(stats.ks_2samp(reference, current).pvalue)
    else:
        p_value = ks_p_value(ks, reference.size, current.size)
    if method is DriftMethod.KS:
        return DriftMeasurement(method, kind, ks, p_value, threshold)
    return DriftMeasurement(method, kind, ks, p_value, threshold, normalised, AUTO_EFFECT_FLOORS[ColumnKind.NUMERICAL])


_OVERFLOWING = 1e150  # squares of larger values overflow a float


def _wasserstein_scale(reference: tuple[int, float, float], current: tuple[int, float, float]) -> float:
    """The unit of a normalised Wasserstein distance, from each side's (count, mean, standard deviation)."""
    (n_ref, mean_ref, std_ref), (n_cur, mean_cur, std_cur) = reference, current
    if std_ref > 0 or not math.isfinite(std_ref):
        return std_ref
    unit = max(abs(mean_ref), abs(mean_cur), std_cur)  # computed in this unit: values near 1e308 do not overflow
    if unit == 0 or not math.isfinite(unit):
        return unit
    mean_ref, mean_cur, std_cur = mean_ref / unit, mean_cur / unit, std_cur / unit
    mean = (n_ref * mean_ref + n_cur * mean_cur) / (n_ref + n_cur)
    spread = n_ref * (mean_ref - mean) ** 2 + n_cur * (std_cur**2 + (mean_cur - mean) ** 2)
    return unit * math.sqrt(spread / (n_ref + n_cur))


def _normalised(wasserstein: float, scale: float) -> float:
    # a zero scale means every value on both sides is equal, so the distance is zero too
    return wasserstein / scale if scale > 0 else (0.0 if wasserstein == 0 else float("inf"))


@dataclass(frozen=True)
class BinnedColumn:
    """A numerical column as counts between shared bin edges, and its exact moments.

    ``counts`` has ``len(edges) + 1`` entries: values ``<= edges[0]``, then each
    ``(edges[i-1], edges[i]]``, then values above the last edge.
    """

    counts: NDArray[np.float64]
    mean: float  # mean, std, low and high are of the finite values
    std: float
    low: float
    high: float
    negative_infinite: int = 0  # counted in the first bin
    positive_infinite: int = 0  # counted in the last bin

    @property
    def size(self) -> int:
        return int(self.counts.sum())

    def finite_counts(self) -> NDArray[np.float64]:
        counts = self.counts.astype(np.float64, copy=True)
        counts[0] -= self.negative_infinite
        counts[-1] -= self.positive_infinite
        return counts


def binned_numerical_drift(
    edges: NDArray[np.float64],
    reference: BinnedColumn,
    current: BinnedColumn,
    *,
    method: DriftMethod = DriftMethod.AUTO,
    threshold: float | None = None,
) -> DriftMeasurement:
    """Drift of a numerical column too large to sort in memory, from shared-edge histograms.

    KS is read at the bin edges, which can only underestimate it, by at most the largest
    share of either sample in one bin: that bound is reported as ``approximation_error``.
    Wasserstein integrates the CDF gap between edges (the outer bins are bounded by the
    observed minimum and maximum); its error is bounded by the bin widths times the same
    shares.  With bins at reference quantiles, both errors shrink as bins are added.
    """
    if reference.size == 0 or current.size == 0:
        raise ValueError("drift needs values in both the reference and the current data")
    threshold = DEFAULT_THRESHOLDS[method] if threshold is None else threshold
    kind = ColumnKind.NUMERICAL
    ref_share = reference.counts / reference.size
    cur_share = current.counts / current.size
    gap = np.abs(np.cumsum(ref_share)[:-1] - np.cumsum(cur_share)[:-1])
    ks = float(gap.max(initial=0.0))
    largest_bin = float(max(ref_share.max(), cur_share.max()))
    if method in (DriftMethod.PSI, DriftMethod.JENSEN_SHANNON, DriftMethod.HELLINGER):
        deciles = np.searchsorted(np.cumsum(ref_share), np.linspace(0.1, 0.9, 9))
        groups = np.split(np.arange(ref_share.size), np.unique(deciles + 1))
        expected = np.array([reference.counts[g].sum() for g in groups if g.size])
        actual = np.array([current.counts[g].sum() for g in groups if g.size])
        measure = {DriftMethod.PSI: psi, DriftMethod.JENSEN_SHANNON: jensen_shannon}.get(method, hellinger)
        return DriftMeasurement(method, kind, measure(expected, actual), None, threshold)
    # KS ranks infinities like any value (in the outer bins); the distance takes the finite values
    finite_ref, finite_cur = reference.finite_counts(), current.finite_counts()
    normalised, error_w, scale = math.nan, math.nan, 0.0  # undefined without finite values on both sides
    if finite_ref.sum() and finite_cur.sum():
        ref_finite_share, cur_finite_share = finite_ref / finite_ref.sum(), finite_cur / finite_cur.sum()
        finite_gap = np.abs(np.cumsum(ref_finite_share)[:-1] - np.cumsum(cur_finite_share)[:-1])
        low, high = min(reference.low, current.low), max(reference.high, current.high)
        bounds = np.concatenate([[low], edges, [high]])
        gaps = np.concatenate([[0.0], finite_gap, [0.0]])  # both CDFs are 0 at the minimum and 1 at the maximum
        widths = np.diff(bounds)
        wasserstein = float(np.sum((gaps[:-1] + gaps[1:]) / 2 * widths))
        error_w = float(np.dot(np.maximum(ref_finite_share, cur_finite_share), widths))
        scale = _wasserstein_scale(
            (int(finite_ref.sum()), reference.mean, reference.std), (int(finite_cur.sum()), current.mean, current.std)
        )
        normalised = _normalised(wasserstein, scale)
    if method is DriftMethod.WASSERSTEIN:
        return DriftMeasurement(
            method,
            kind,
            normalised,
            None,
            threshold,
            approximation_error=error_w / scale if scale > 0 and math.isfinite(error_w) else None,
        )
    p_value = ks_p_value(ks, reference.size, current.size)
    floor = AUTO_EFFECT_FLOORS[ColumnKind.NUMERICAL] if method is DriftMethod.AUTO else None
    effect = normalised if method is DriftMethod.AUTO else None
    return DriftMeasurement(method, kind, ks, p_value, threshold, effect, floor, approximation_error=largest_bin)


def categorical_drift(
    reference_counts: Mapping[Any, int],
    current_counts: Mapping[Any, int],
    *,
    method: DriftMethod = DriftMethod.AUTO,
    threshold: float | None = None,
    kind: ColumnKind = ColumnKind.CATEGORICAL,
) -> DriftMeasurement:
    """Measure drift of a categorical (or binary) column from its category counts.

    >>> categorical_drift({"a": 500, "b": 500}, {"a": 800, "b": 200}).drifted()
    True
    """
    categories = sorted(set(reference_counts) | set(current_counts), key=repr)
    expected = np.array([reference_counts.get(c, 0) for c in categories], dtype=np.float64)
    actual = np.array([current_counts.get(c, 0) for c in categories], dtype=np.float64)
    if expected.sum() == 0 or actual.sum() == 0:
        raise ValueError("drift needs values in both the reference and the current data")
    if len(categories) == 2 and kind is ColumnKind.CATEGORICAL:
        kind = ColumnKind.BINARY
    check_method(method, kind)
    threshold = DEFAULT_THRESHOLDS[method] if threshold is None else threshold
    if method is DriftMethod.PSI:
        return DriftMeasurement(method, kind, psi(expected, actual), None, threshold)
    if method is DriftMethod.JENSEN_SHANNON:
        return DriftMeasurement(method, kind, jensen_shannon(expected, actual), None, threshold)
    if method is DriftMethod.HELLINGER:
        return DriftMeasurement(method, kind, hellinger(expected, actual), None, threshold)
    if method is DriftMethod.CHI2:
        return DriftMeasurement(method, kind, *chi2_test(expected, actual), threshold)
    if kind is ColumnKind.BINARY:
        z, p_value = proportions_ztest((expected[-1], actual[-1]), (expected.sum(), actual.sum()))
        if method is DriftMethod.ZTEST:
            return DriftMeasurement(method, kind, z, p_value, threshold)
        effect = cohens_h(expected[-1] / expected.sum(), actual[-1] / actual.sum())
        return DriftMeasurement(method, kind, z, p_value, threshold, effect, AUTO_EFFECT_FLOORS[kind])
    statistic, p_value = chi2_test(expected, actual)
    effect = jensen_shannon(expected, actual)
    return DriftMeasurement(method, kind, statistic, p_value, threshold, effect, AUTO_EFFECT_FLOORS[kind])


def adjust_p_values(p_values: list[float], correction: Correction) -> list[float]:
    """Bonferroni or Benjamini-Hochberg (false-discovery rate) adjusted p-values."""
    if not p_values or correction is Correction.NONE:
        return list(p_values)
    values = np.asarray(p_values, dtype=np.float64)
    if correction is Correction.BONFERRONI:
        return np.minimum(values * values.size, 1.0).tolist()
    return stats.false_discovery_control(values, method="bh").tolist()
