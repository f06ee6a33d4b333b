"""Drift statistics against scipy, the auto rule, and statistical sanity over many seeds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon as scipy_jensenshannon

from modelmonitor.api.drift import Correction, DriftMethod
from modelmonitor.engine.drift import (
    adjust_p_values,
    binned_numerical_drift,
    categorical_drift,
    column_kind,
    numerical_drift,
)
from modelmonitor.engine.drift_definition import ColumnKind
from modelmonitor.engine.drift_methods.chi2 import chi2_test
from modelmonitor.engine.drift_methods.hellinger import hellinger
from modelmonitor.engine.drift_methods.jensenshannon import jensen_shannon
from modelmonitor.engine.drift_methods.psi import psi
from modelmonitor.engine.drift_methods.ztest import proportions_ztest
from modelmonitor.engine.numerical_distance import BinnedColumn


@pytest.mark.parametrize(("n_ref", "n_cur"), [(300, 500), (20_000, 15_000)])
@pytest.mark.parametrize("shift", [0.0, 0.1, 0.5])
def test_ks_matches_scipy(n_ref: int, n_cur: int, shift: float) -> None:
    rng = np.random.default_rng(1)
    reference, current = rng.normal(size=n_ref), rng.normal(shift, size=n_cur)
    method = "exact" if max(n_ref, n_cur) <= 10_000 else "asymp"
    expected = stats.ks_2samp(reference, current, method=method)
    measured = numerical_drift(reference.copy(), current.copy(), method=DriftMethod.KS)
    assert measured.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert measured.p_value == pytest.approx(expected.pvalue, rel=1e-6, abs=1e-300)


def test_ks_handles_ties_like_scipy_across_blocks() -> None:
    rng = np.random.default_rng(2)  # 2.7M values: the merged pass runs in three blocks
    reference, current = rng.integers(0, 50, 1_500_000).astype(float), rng.integers(2, 52, 1_200_000).astype(float)
    expected = stats.ks_2samp(reference, current, method="asymp")
    measured = numerical_drift(reference.copy(), current.copy(), method=DriftMethod.KS)
    assert measured.statistic == pytest.approx(expected.statistic, abs=1e-12)


@pytest.mark.parametrize("n", [1000, 3_000_000])
def test_wasserstein_is_scipys_distance_over_the_reference_std(n: int) -> None:
    rng = np.random.default_rng(3)
    reference, current = rng.normal(0, 2, n), rng.normal(0.3, 2.5, n // 2 + 7)
    expected = stats.wasserstein_distance(reference, current) / np.std(reference)
    measured = numerical_drift(reference.copy(), current.copy(), method=DriftMethod.WASSERSTEIN)
    assert measured.statistic == pytest.approx(expected, rel=1e-9)


def test_a_constant_reference_measures_wasserstein_in_the_pooled_spread() -> None:
    """It was an infinite distance (shown as null) with a Failed verdict; found by the hostile-data test."""
    reference, current = np.full(40, 1.0), np.array([0.0, 1.0, 2.0, 1.0, 0.5])
    expected = stats.wasserstein_distance(reference, current) / np.std(np.concatenate([reference, current]))
    measured = numerical_drift(reference.copy(), current.copy(), method=DriftMethod.WASSERSTEIN)
    assert measured.statistic == pytest.approx(expected, rel=1e-12) and np.isfinite(measured.statistic)
    edges = np.array([0.25, 0.75, 1.0, 1.5])
    binned = [
        BinnedColumn(
            np.histogram(side, np.concatenate([[-np.inf], edges, [np.inf]]))[0].astype(float),
            side.mean(),
            side.std(),
            side.min(),
            side.max(),
        )
        for side in (reference, current)
    ]
    streamed = binned_numerical_drift(edges, *binned, method=DriftMethod.WASSERSTEIN)
    assert abs(streamed.statistic - expected) <= streamed.approximation_error
    same = numerical_drift(np.full(9, 2.0), np.full(4, 2.0), method=DriftMethod.AUTO)
    assert (same.statistic, same.effect_size) == (0.0, 0.0)


def test_distances_on_counts_match_scipy_and_hand_values() -> None:
    p, q = np.array([40.0, 30, 20, 10]), np.array([30.0, 30, 25, 15])
    assert jensen_shannon(p, q) == pytest.approx(scipy_jensenshannon(p, q, base=2), abs=1e-12)
    shares_p, shares_q = p / p.sum(), q / q.sum()
    assert psi(p, q) == pytest.approx(np.sum((shares_q - shares_p) * np.log(shares_q / shares_p)), abs=1e-12)
    expected_hellinger = np.sqrt(0.5 * np.sum((np.sqrt(shares_p) - np.sqrt(shares_q)) ** 2))
    assert hellinger(p, q) == pytest.approx(expected_hellinger, abs=1e-12)
    assert jensen_shannon(p, p) == psi(p, p) == hellinger(p, p) == 0.0


def test_chi2_matches_scipy_contingency() -> None:
    p, q = np.array([400.0, 300, 200, 100]), np.array([310.0, 300, 250, 140])
    expected = stats.chi2_contingency(np.vstack([p, q]), correction=False)
    assert chi2_test(p, q) == pytest.approx((expected.statistic, expected.pvalue))


def test_ztest_matches_the_pooled_formula_and_chi2() -> None:
    z, p_value = proportions_ztest((120, 160), (1000, 1000))
    pooled = 280 / 2000
    expected_z = (0.16 - 0.12) / np.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert z == pytest.approx(expected_z)
    chi2 = stats.chi2_contingency([[120, 880], [160, 840]], correction=False)
    assert p_value == pytest.approx(chi2.pvalue)  # z² is chi² with one degree of freedom


def test_psi_on_a_numerical_column_uses_reference_deciles() -> None:
    rng = np.random.default_rng(4)
    reference = rng.normal(size=100_000)
    same = numerical_drift(reference.copy(), rng.normal(size=100_000), method=DriftMethod.PSI)
    shifted = numerical_drift(reference.copy(), rng.normal(0.5, size=100_000), method=DriftMethod.PSI)
    assert same.statistic < 0.01 and not same.drifted()
    assert shifted.statistic > 0.2 and shifted.drifted()


def test_adjusted_p_values_match_scipy() -> None:
    p_values = [0.001, 0.01, 0.02, 0.04, 0.3, 0.8]
    assert adjust_p_values(p_values, Correction.FDR) == pytest.approx(stats.false_discovery_control(p_values))
    assert adjust_p_values(p_values, Correction.BONFERRONI) == pytest.approx([0.006, 0.06, 0.12, 0.24, 1.0, 1.0])
    assert adjust_p_values(p_values, Correction.NONE) == p_values


@pytest.mark.parametrize(
    ("numeric", "declared", "distinct", "kind"),
    [
        (True, False, 2, ColumnKind.BINARY),
        (False, False, 2, ColumnKind.BINARY),
        (True, False, 7, ColumnKind.CATEGORICAL),
        (True, True, 500, ColumnKind.CATEGORICAL),
        (False, False, 500, ColumnKind.CATEGORICAL),
        (True, False, 11, ColumnKind.NUMERICAL),
    ],
)
def test_column_kind(numeric: bool, declared: bool, distinct: int, kind: ColumnKind) -> None:
    assert column_kind(numeric=numeric, declared_categorical=declared, distinct_values=distinct) is kind


def test_methods_that_do_not_fit_a_column_are_refused() -> None:
    with pytest.raises(ValueError, match="does not apply to a categorical column"):
        categorical_drift({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2, "c": 3}, method=DriftMethod.ZTEST)


def test_empty_samples_are_refused() -> None:
    with pytest.raises(ValueError, match="values in both"):
        numerical_drift(np.array([]), np.array([1.0, 2.0]))


def test_no_drift_flags_at_about_the_nominal_rate() -> None:
    flagged = 0
    for seed in range(300):
        rng = np.random.default_rng(seed)
        flagged += numerical_drift(rng.normal(size=400), rng.normal(size=400), method=DriftMethod.KS).drifted()
    assert 0.02 <= flagged / 300 <= 0.09


def test_categorical_no_drift_flags_at_about_the_nominal_rate() -> None:
    flagged = 0
    weights = [0.4, 0.3, 0.2, 0.1]
    for seed in range(300):
        rng = np.random.default_rng(seed)
        ref = dict(zip("abcd", rng.multinomial(1000, weights), strict=True))
        cur = dict(zip("abcd", rng.multinomial(1000, weights), strict=True))
        flagged += categorical_drift(ref, cur, method=DriftMethod.CHI2).drifted()
    assert 0.02 <= flagged / 300 <= 0.09


@pytest.mark.parametrize("seed", range(10))
def test_clear_shifts_are_caught(seed: int) -> None:
    rng = np.random.default_rng(seed)
    assert numerical_drift(rng.normal(size=2000), rng.normal(0.3, size=2000)).drifted()
    ref = dict(zip("abcd", rng.multinomial(5000, [0.4, 0.3, 0.2, 0.1]), strict=True))
    cur = dict(zip("abcd", rng.multinomial(5000, [0.3, 0.3, 0.25, 0.15]), strict=True))
    assert categorical_drift(ref, cur).drifted()
    assert categorical_drift({0: 900, 1: 100}, {0: 800, 1: 200}).drifted()


def test_auto_ignores_a_negligible_shift_that_ks_calls_significant_at_large_n() -> None:
    rng = np.random.default_rng(5)
    reference, current = rng.normal(size=2_000_000), rng.normal(0.02, size=2_000_000)
    ks = numerical_drift(reference.copy(), current.copy(), method=DriftMethod.KS)
    auto = numerical_drift(reference.copy(), current.copy(), method=DriftMethod.AUTO)
    assert ks.drifted()  # p-value tiny: any difference is significant on millions of rows
    assert not auto.drifted()  # the effect, 0.02 std, is below the floor
    assert auto.effect_size == pytest.approx(0.02, abs=0.005)
