"""Which drifted feature explains a drop in a metric: the metric on current rows reweighted to the reference.

If a feature's shift caused the loss, the current rows, weighted so that this feature is
distributed as in the reference, score about as well as before: the loss is "explained" by
the difference between the reweighted and the plain metric. A feature that drifted without
harm leaves the metric where it is. The weights are importance weights by binning
(Sugiyama, Krauledat & Müller, "Covariate shift adaptation by importance weighted cross
validation", JMLR 8, 2007): for a row in bin b, w = P_reference(b) / P_current(b).

The bins are those the drift check already drew for the report (``engine.distribution``):
20 equal-width bins with a bin below and above for a number, the 20 largest categories and
the rest for a category. So the reference is not read again. A missing value is a bin of its
own that keeps its weight of 1 (the pictures count no nulls). A metric that adds up over
rows reweights exactly from per-bin sums: a confusion matrix per bin for label metrics, error
sums per bin for ``mae``, ``rmse`` and ``mape``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from modelmonitor.api.results import CategoryCounts, Histogram

# per-row sums a regression metric is made of, in this order
ABSOLUTE_ERROR, SQUARED_ERROR, ABSOLUTE_PERCENTAGE_ERROR = 0, 1, 2
REGRESSION_SUMS = 3


@dataclass(frozen=True)
class Bins:
    """How one feature's values fall into the drift picture's bins, the last one for missing values."""

    edges: NDArray[np.float64] | None  # numbers: below, the bins, above
    categories: tuple[str, ...] | None  # categories: those shown, then the rest
    reference_shares: NDArray[np.float64]  # of each bin but the missing one

    @property
    def size(self) -> int:
        """How many bins, the missing one included."""
        return len(self.reference_shares) + 1

    @classmethod
    def of_histogram(cls, histogram: Histogram) -> Bins:
        below, above = histogram.reference_outside
        counts = np.array([below, *histogram.reference, above], dtype=np.float64)
        return cls(np.asarray(histogram.edges, dtype=np.float64), None, counts / max(counts.sum(), 1.0))

    @classmethod
    def of_categories(cls, categories: CategoryCounts) -> Bins:
        counts = np.array([*categories.reference, categories.reference_other], dtype=np.float64)
        return cls(None, tuple(categories.categories), counts / max(counts.sum(), 1.0))

    def codes_of_numbers(self, values: NDArray[np.float64]) -> NDArray[np.int64]:
        """Each number's bin: 0 below the first edge, then one per bin, then above; NaN is the missing bin."""
        assert self.edges is not None
        inner = len(self.edges) - 1
        codes = np.searchsorted(self.edges, values, side="right").astype(np.int64)  # 0 below, 1..inner, inner+1 above
        codes[values == self.edges[-1]] = inner  # the last bin holds its upper edge, as numpy's histogram does
        codes[np.isnan(values)] = self.size - 1
        return codes

    def codes_of_text(self, values: list[str | None]) -> NDArray[np.int64]:
        """Each category's bin: its place among those shown, else the rest; None is the missing bin."""
        assert self.categories is not None
        place = {category: index for index, category in enumerate(self.categories)}
        rest, missing = len(self.categories), self.size - 1
        return np.array([missing if value is None else place.get(value, rest) for value in values], dtype=np.int64)


def bin_weights(rows_per_bin: NDArray[np.int64], reference_shares: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each bin's importance weight: its reference share over its current share, the missing bin (last) kept at 1.

    Bins the current rows never reach cannot be given weight; the reference's shares are
    renormalised over the bins they do reach, so the weighted rows add up to the rows there are.
    """
    rows = rows_per_bin.astype(np.float64)
    present, missing = rows[:-1], rows[-1]
    reached = reference_shares * (present > 0)
    weights = np.ones_like(rows)
    if reached.sum() == 0 or present.sum() == 0:
        return weights
    target = reached / reached.sum() * present.sum()  # the reference's mix of the rows that have a value
    with np.errstate(invalid="ignore", divide="ignore"):
        weights[:-1] = np.where(present > 0, target / present, 0.0)
    weights[-1] = 1.0 if missing else 0.0
    return weights


def reweighted(per_bin: NDArray[np.float64], rows_per_bin: NDArray[np.int64], bins: Bins) -> NDArray[np.float64]:
    """The per-bin sums (bins first) added up with each bin's weight: the current rows as the reference mixes them."""
    weights = bin_weights(rows_per_bin, bins.reference_shares)
    return np.tensordot(weights, per_bin.astype(np.float64), axes=1)


def regression_value(metric: str, sums: NDArray[np.float64], rows: float) -> float:
    """mae, rmse or mape from (weighted) per-row sums over (weighted) rows."""
    if rows <= 0:
        return float("nan")
    if metric == "mae":
        return float(sums[ABSOLUTE_ERROR] / rows)
    if metric == "rmse":
        return float(np.sqrt(sums[SQUARED_ERROR] / rows))
    if metric == "mape":
        return float(sums[ABSOLUTE_PERCENTAGE_ERROR] / rows)
    raise ValueError(f"{metric} is not a sum over rows: it cannot be reweighted by bins")


def regression_sums(y_true: NDArray[np.float64], y_pred: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each row's absolute, squared and absolute percentage error (percentage as scikit-learn's mape: ε-guarded)."""
    error = y_pred - y_true
    epsilon = np.finfo(np.float64).eps
    return np.stack([np.abs(error), error**2, np.abs(error) / np.maximum(np.abs(y_true), epsilon)], axis=1)
