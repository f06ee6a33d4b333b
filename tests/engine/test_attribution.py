"""The importance weights by bin: codes that agree with numpy's histogram, and weights that give the reference's mix."""

from __future__ import annotations

import numpy as np
import pytest

from modelmonitor.api.results import CategoryCounts, Histogram
from modelmonitor.engine import attribution


def _bins() -> attribution.Bins:
    edges = [0.0, 1.0, 2.0, 3.0]
    return attribution.Bins.of_histogram(Histogram(edges, [10, 20, 30], [0, 0, 0], (5, 35), (0, 0)))


def test_numbers_fall_in_the_bins_numpys_histogram_puts_them_in_with_below_above_and_missing_apart() -> None:
    bins = _bins()
    values = np.array([-1.0, 0.0, 0.5, 1.0, 2.999, 3.0, 3.5, np.inf, -np.inf, np.nan])
    codes = bins.codes_of_numbers(values)
    assert codes.tolist() == [0, 1, 1, 2, 3, 3, 4, 4, 0, 5]
    inside = values[(values >= 0) & (values <= 3)]
    assert np.bincount(bins.codes_of_numbers(inside) - 1).tolist() == np.histogram(inside, [0, 1, 2, 3])[0].tolist()
    assert bins.reference_shares.tolist() == pytest.approx([0.05, 0.1, 0.2, 0.3, 0.35])


def test_categories_shown_the_rest_and_missing() -> None:
    bins = attribution.Bins.of_categories(CategoryCounts(["a", "b"], [30, 60], [0, 0], 10, 0, []))
    assert bins.codes_of_text(["a", "b", "z", None]).tolist() == [0, 1, 2, 3]
    assert bins.reference_shares.tolist() == pytest.approx([0.3, 0.6, 0.1])


def test_the_weighted_rows_have_the_reference_mix_and_the_rows_there_are() -> None:
    rows = np.array([100, 50, 25, 0, 25, 40])  # bin 3 never reached; 40 missing
    shares = np.array([0.1, 0.2, 0.3, 0.15, 0.25])
    weights = attribution.bin_weights(rows, shares)
    weighted = weights * rows
    assert weighted[-1] == 40 and weights[3] == 0  # missing kept as it is; an empty bin weighs nothing
    assert weighted[:-1].sum() == pytest.approx(rows[:-1].sum())
    reached = shares * (rows[:-1] > 0)
    assert weighted[:-1] / weighted[:-1].sum() == pytest.approx(reached / reached.sum())


def test_reweighting_a_confusion_matrix_per_bin_is_the_weighted_sum() -> None:
    per_bin = np.array([[[5, 1], [1, 3]], [[2, 2], [2, 2]], [[0, 0], [0, 0]]], dtype=float)  # two bins, missing
    bins = attribution.Bins(np.array([0.0, 1.0]), None, np.array([0.0, 0.5, 0.5]))  # below, the bin, above
    rows = np.array([10, 8, 0, 0])
    per_bin = np.concatenate([per_bin, np.zeros((1, 2, 2))])
    weights = attribution.bin_weights(rows, bins.reference_shares)
    assert attribution.reweighted(per_bin, rows, bins) == pytest.approx(np.tensordot(weights, per_bin, axes=1))
    assert weights[:3].tolist() == pytest.approx([0.0, 18 / 8, 0.0])  # all the reference's reached mass on bin 1


def test_a_regression_metric_that_is_not_a_sum_over_rows_is_refused() -> None:
    with pytest.raises(ValueError, match="r2 is not a sum over rows"):
        attribution.regression_value("r2", np.zeros(3), 10)
