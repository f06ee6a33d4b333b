"""How far apart two numerical samples are: KS and normalised Wasserstein, exact or from bins.

Exact KS and Wasserstein come from one merged pass over the two sorted samples, in blocks,
so memory stays a small multiple of the column itself.  A column too large to sort arrives as
counts between shared bin edges (:class:`BinnedColumn`); each statistic then comes with the
largest possible difference from the exact one.  The drift methods in
``modelmonitor.engine.drift_methods`` are built from these.

Wasserstein is normalised by the reference's standard deviation; a constant reference has
none, so both samples' pooled one serves (zero only when every value is the same).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from modelmonitor.engine.distribution import finite_part

QUANTILE_BINS = 10
_BLOCK = 1 << 20
_EXACT_KS_MAX = 10_000  # up to here scipy's exact KS distribution; above it the asymptotic one
_OVERFLOWING = 1e150  # squares of larger values overflow a float


def merged_cdf_pass(reference: NDArray[np.float64], current: NDArray[np.float64]) -> tuple[float, float]:
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
    with np.errstate(invalid="ignore", over="ignore"):  # a distance over infinities, replaced by its caller
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


def sorted_ks_p_value(reference: NDArray[np.float64], current: NDArray[np.float64], statistic: float) -> float:
    """The p-value of a KS statistic of two sorted samples: scipy's exact one up to 10,000 values a side."""
    if max(reference.size, current.size) <= _EXACT_KS_MAX:
        return float(stats.ks_2samp(reference, current).pvalue)
    return ks_p_value(statistic, reference.size, current.size)


def normalised_wasserstein(reference: NDArray[np.float64], current: NDArray[np.float64], area: float) -> float:
    """Wasserstein-1 distance of two sorted samples in units of the reference's spread.

    ``area`` is :func:`merged_cdf_pass`'s distance over the whole samples, used as it is when
    every value is finite and small enough.  A distance has no way to measure infinities: it
    takes the finite values (NaN, undefined, when either side has none).
    """
    finite_ref, finite_cur = finite_part(reference), finite_part(current)
    if not (finite_ref.size and finite_cur.size):
        return math.nan
    unit = max(abs(finite_ref[0]), abs(finite_ref[-1]), abs(finite_cur[0]), abs(finite_cur[-1]))
    if unit > _OVERFLOWING:  # values near the float limit: measured in their own unit, the ratio is the same
        finite_ref, finite_cur = finite_ref / unit, finite_cur / unit
    if finite_ref.size < reference.size or finite_cur.size < current.size or unit > _OVERFLOWING:
        area = merged_cdf_pass(finite_ref, finite_cur)[1]
    scale = wasserstein_scale(
        (finite_ref.size, float(np.mean(finite_ref)), float(np.std(finite_ref))),
        (finite_cur.size, float(np.mean(finite_cur)), float(np.std(finite_cur))),
    )
    return _normalised(area, scale)


def wasserstein_scale(reference: tuple[int, float, float], current: tuple[int, float, float]) -> float:
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


def quantile_bin_counts(
    reference: NDArray[np.float64], current: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Counts of two sorted samples in the reference's deciles (the bins of PSI and its kin)."""
    edges = np.unique(reference[np.linspace(0, reference.size - 1, QUANTILE_BINS + 1).astype(np.int64)][1:-1])
    bounds_ref = np.searchsorted(reference, edges, side="right")
    bounds_cur = np.searchsorted(current, edges, side="right")
    ref_counts = np.diff(np.concatenate([[0], bounds_ref, [reference.size]]))
    cur_counts = np.diff(np.concatenate([[0], bounds_cur, [current.size]]))
    return ref_counts.astype(np.float64), cur_counts.astype(np.float64)


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

    @property
    def shares(self) -> NDArray[np.float64]:
        return self.counts / self.size

    def finite_counts(self) -> NDArray[np.float64]:
        counts = self.counts.astype(np.float64, copy=True)
        counts[0] -= self.negative_infinite
        counts[-1] -= self.positive_infinite
        return counts


def binned_ks(reference: BinnedColumn, current: BinnedColumn) -> tuple[float, float]:
    """KS read at the bin edges, and its largest possible error.

    Read at the edges, KS can only be underestimated, by at most the largest share of either
    sample in one bin.  Infinities count in the outer bins, ranked like any value.
    """
    ref_share, cur_share = reference.shares, current.shares
    gap = np.abs(np.cumsum(ref_share)[:-1] - np.cumsum(cur_share)[:-1])
    return float(gap.max(initial=0.0)), float(max(ref_share.max(), cur_share.max()))


def binned_normalised_wasserstein(
    edges: NDArray[np.float64], reference: BinnedColumn, current: BinnedColumn
) -> tuple[float, float | None]:
    """Normalised Wasserstein from the CDF gap between edges, and its largest possible error.

    The outer bins are bounded by the observed minimum and maximum; the error is bounded by
    the bin widths times the larger share in each.  With bins at reference quantiles, it
    shrinks as bins are added.  Of the finite values: NaN (and no error) without them on both sides.
    """
    finite_ref, finite_cur = reference.finite_counts(), current.finite_counts()
    if not (finite_ref.sum() and finite_cur.sum()):
        return math.nan, None
    ref_finite_share, cur_finite_share = finite_ref / finite_ref.sum(), finite_cur / finite_cur.sum()
    finite_gap = np.abs(np.cumsum(ref_finite_share)[:-1] - np.cumsum(cur_finite_share)[:-1])
    low, high = min(reference.low, current.low), max(reference.high, current.high)
    bounds = np.concatenate([[low], edges, [high]])
    gaps = np.concatenate([[0.0], finite_gap, [0.0]])  # both CDFs are 0 at the minimum and 1 at the maximum
    widths = np.diff(bounds)
    wasserstein = float(np.sum((gaps[:-1] + gaps[1:]) / 2 * widths))
    error = float(np.dot(np.maximum(ref_finite_share, cur_finite_share), widths))
    scale = wasserstein_scale(
        (int(finite_ref.sum()), reference.mean, reference.std), (int(finite_cur.sum()), current.mean, current.std)
    )
    return _normalised(wasserstein, scale), error / scale if scale > 0 and math.isfinite(error) else None


def binned_decile_counts(
    reference: BinnedColumn, current: BinnedColumn
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Both columns' counts with the bins grouped at the reference's deciles (as :func:`quantile_bin_counts`)."""
    ref_share = reference.shares
    deciles = np.searchsorted(np.cumsum(ref_share), np.linspace(0.1, 0.9, 9))
    groups = np.split(np.arange(ref_share.size), np.unique(deciles + 1))
    expected = np.array([reference.counts[g].sum() for g in groups if g.size])
    actual = np.array([current.counts[g].sum() for g in groups if g.size])
    return expected, actual
