"""Concept drift: the vectorised detectors against plain loops, and their behaviour on streams."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import f1_score
from statsmodels.stats.proportion import proportions_ztest

from modelmonitor.api.metrics import MetricName
from modelmonitor.engine.concept import (
    _exponential_histogram_sizes,
    adwin,
    bernoulli_change_point,
    bootstrap_comparison,
    compare_error_rates,
    compare_losses,
    counted_comparison,
    ddm,
    page_hinkley,
    page_hinkley_threshold,
)
from modelmonitor.engine.metrics import confusion_matrix, label_metric


def ddm_loop(errors: np.ndarray, warm_up: int) -> int | None:
    """Gama et al.'s DDM, transcribed as the paper states it."""
    p_min = s_min = math.inf
    mistakes = 0
    for index, error in enumerate(errors, start=1):
        mistakes += int(error)
        p = mistakes / index
        s = math.sqrt(p * (1 - p) / index)
        if index < warm_up:
            continue
        if p + s <= p_min + s_min and s > 0:
            p_min, s_min = p, s
        if p + s > p_min + 3 * s_min:
            return index - 1
    return None


@pytest.mark.parametrize("seed", range(20))
def test_ddm_matches_the_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    errors = np.r_[rng.random(1500) < 0.1, rng.random(1000) < rng.uniform(0.1, 0.3)]
    assert ddm(errors, warm_up=30).detected_at == ddm_loop(errors, 30)
    assert ddm(errors).detected_at == ddm_loop(errors, 500)


def test_ddm_finds_the_change_and_where_it_started() -> None:
    on_time, starts = 0, []
    for seed in range(50):
        rng = np.random.default_rng(seed)
        detection = ddm(np.r_[rng.random(3000) < 0.1, rng.random(2000) < 0.3])
        if detection.detected and 3000 <= detection.detected_at < 3500:
            on_time += 1
            starts.append(detection.started_at)
    assert on_time >= 40  # the rest are DDM's false alarms before the change (about 10 %)
    assert np.median(np.abs(np.array(starts) - 3000)) < 50


def test_ddm_false_alarms_are_rare_on_a_stable_stream() -> None:
    alarms = sum(ddm(np.random.default_rng(seed).random(5000) < 0.1).detected for seed in range(200))
    assert alarms / 200 < 0.15


def test_page_hinkley_finds_an_increase_in_mean_loss() -> None:
    rng = np.random.default_rng(1)
    losses = np.r_[rng.exponential(1.0, 2000), rng.exponential(2.0, 1000)]
    detection = page_hinkley(losses)
    assert detection.detected and detection.detected_at >= 2000
    assert abs(detection.started_at - 2000) < 150


def _errors(seed: int, rows: int, before: float, after: float) -> np.ndarray:
    """A 0/1 error stream whose rate changes half-way (the benchmark's scenarios)."""
    rng = np.random.default_rng(seed)
    return np.r_[rng.random(rows // 2) < before, rng.random(rows - rows // 2) < after]


def _share(detector, rows: int, before: float, after: float, seeds: int = 100) -> float:
    """Alarms on a stable stream, or detections after the change."""
    hits = 0
    for seed in range(seeds):
        found = detector(_errors(seed, rows, before, after))
        hits += found.detected and (before == after or found.detected_at >= rows // 2)
    return hits / seeds


def test_page_hinkley_stays_quiet_on_a_stable_stream() -> None:
    alarms = sum(page_hinkley(np.random.default_rng(seed).exponential(1.0, 3000)).detected for seed in range(200))
    assert alarms / 200 <= 0.05
    for rate in (0.1, 0.3):
        for rows in (5000, 50_000):
            assert _share(lambda s: page_hinkley(s * 1.0), rows, rate, rate, seeds=200) <= 0.05


def test_page_hinkley_threshold_follows_siegmunds_run_length() -> None:
    """ARL = exp(2 k h) / (2 k^2): the threshold makes rows / ARL the target false-alarm rate."""
    h = page_hinkley_threshold(5000, allowance=0.04, false_alarm=0.02)
    assert 5000 / (math.exp(2 * 0.04 * h) / (2 * 0.04**2)) == pytest.approx(0.02)
    assert page_hinkley_threshold(50_000) > page_hinkley_threshold(5000)  # longer streams, more chances


def test_page_hinkley_finds_small_shifts_as_river_does() -> None:
    """river 0.26's PageHinkley(mode="up") finds 0.1 -> 0.15 in 92 of these 100 seeds (benchmarks/)."""
    assert _share(lambda s: page_hinkley(s * 1.0), 5000, 0.1, 0.15) >= 0.92
    starts = [page_hinkley(_errors(seed, 5000, 0.1, 0.15) * 1.0).started_at for seed in range(100)]
    assert np.median([abs(start - 2500) for start in starts if start is not None]) < 100
    assert _share(lambda s: page_hinkley(s * 1.0), 50_000, 0.3, 0.35) >= 0.95


def test_bernoulli_change_point() -> None:
    rng = np.random.default_rng(2)
    stream = np.r_[rng.random(800) < 0.05, rng.random(400) < 0.4]
    assert abs(bernoulli_change_point(stream) - 800) < 30


def test_error_rate_comparison_is_a_one_sided_two_proportion_z_test() -> None:
    result = compare_error_rates(100, 1000, 150, 1000)
    pooled = 250 / 2000
    z = 0.05 / math.sqrt(pooled * (1 - pooled) * 2 / 1000)
    assert result.statistic == pytest.approx(z)
    assert result.p_value == pytest.approx(stats.norm.sf(z))
    assert (result.baseline, result.current) == (0.9, 0.85)
    z_statsmodels, p_statsmodels = proportions_ztest([150, 100], [1000, 1000], alternative="larger")
    assert (result.statistic, result.p_value) == (pytest.approx(z_statsmodels), pytest.approx(p_statsmodels))
    assert result.degraded(0.05)
    assert not compare_error_rates(150, 1000, 100, 1000).degraded(0.05)  # better is not a degradation


def test_loss_comparison_is_welchs_one_sided_t_test() -> None:
    rng = np.random.default_rng(3)
    baseline, current = rng.exponential(1.0, 500), rng.exponential(1.3, 400)
    expected = stats.ttest_ind(current, baseline, equal_var=False, alternative="greater")
    result = compare_losses(baseline, current)
    assert result.p_value == pytest.approx(expected.pvalue)


def test_bootstrap_detects_a_worse_metric_and_not_a_better_one() -> None:
    rng = np.random.default_rng(4)
    correct = np.r_[rng.random(600) < 0.9, rng.random(600) < 0.75]

    def accuracy(index: np.ndarray) -> float:
        return float(correct[index].mean())

    worse = bootstrap_comparison(accuracy, 600, 600, higher_is_better=True)
    assert worse.p_value < 0.01 and worse.current < worse.baseline
    flipped = np.r_[correct[600:], correct[:600]]
    better = bootstrap_comparison(lambda index: float(flipped[index].mean()), 600, 600, higher_is_better=True)
    assert better.p_value > 0.5


def _f1(matrices: np.ndarray) -> np.ndarray:
    return label_metric(MetricName.F1, matrices)


def test_a_bootstrap_of_counts_is_the_bootstrap_of_rows() -> None:
    """Drawing the confusion matrix from the multinomial is resampling rows: the p-values agree over seeds."""
    counted, by_rows = [], []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        label = rng.integers(0, 2, 1200)
        prediction = np.where(rng.random(1200) < np.r_[np.full(600, 0.85), np.full(600, 0.82)], label, 1 - label)
        before, after = (confusion_matrix(label[part], prediction[part], 2) for part in (slice(600), slice(600, None)))

        def f1_of_rows(index: np.ndarray, label: np.ndarray = label, prediction: np.ndarray = prediction) -> float:
            return float(_f1(confusion_matrix(label[index], prediction[index], 2)))

        counted.append(counted_comparison(_f1, before, after, higher_is_better=True, seed=seed).p_value)
        by_rows.append(bootstrap_comparison(f1_of_rows, 600, 600, higher_is_better=True, seed=seed).p_value)
    assert np.mean(counted) == pytest.approx(np.mean(by_rows), abs=0.02)
    assert np.corrcoef(counted, by_rows)[0, 1] > 0.9  # the same test on the same data, other random draws


def test_a_bootstrap_of_counts_tells_worse_from_better() -> None:
    before, after = np.array([[450, 50], [60, 440]]), np.array([[400, 100], [110, 390]])
    worse = counted_comparison(_f1, before, after, higher_is_better=True)
    assert worse.p_value < 0.01 and worse.current < worse.baseline
    assert counted_comparison(_f1, after, before, higher_is_better=True).p_value > 0.5
    y_true, y_pred = [0] * 500 + [1] * 500, [0] * 450 + [1] * 50 + [0] * 60 + [1] * 440
    assert worse.baseline == pytest.approx(f1_score(y_true, y_pred))


def test_adwin_finds_a_change_in_mean_and_where_it_started() -> None:
    found = []
    for seed in range(30):
        rng = np.random.default_rng(seed)
        detection = adwin(np.r_[rng.random(3000) < 0.1, rng.random(2000) < 0.2] * 1.0)
        assert detection.detected and detection.detected_at >= 3000
        found.append(detection.started_at)
    assert np.median(np.abs(np.array(found) - 3000)) < 60


def test_adwin_stays_quiet_on_stable_streams() -> None:
    for rate in (0.1, 0.3):
        assert _share(lambda s: adwin(s * 1.0), 5000, rate, rate, seeds=200) <= 0.05
    assert _share(lambda s: adwin(s * 1.0), 50_000, 0.3, 0.3) <= 0.05
    alarms = sum(adwin(np.random.default_rng(seed).exponential(1.0, 3000)).detected for seed in range(100))
    assert alarms / 100 <= 0.05


def test_adwin_is_at_least_as_powerful_as_rivers() -> None:
    """river 0.26's ADWIN() finds 0.1 -> 0.15 in 66 and 0.3 -> 0.35 in 29 of these 100 seeds (benchmarks/)."""
    assert _share(lambda s: adwin(s * 1.0), 5000, 0.1, 0.15) >= 0.66
    assert _share(lambda s: adwin(s * 1.0), 5000, 0.3, 0.35) >= 0.29


def test_adwin_tests_logarithmically_many_cuts() -> None:
    """ADWIN2's exponential histogram: a million-row window is cut at fewer than a hundred places per check."""
    sizes = _exponential_histogram_sizes(1_000_000)
    assert sizes.size < 100 and sizes[0] == 5 and sizes[-1] <= 1_000_000
    assert np.all(np.diff(sizes) > 0) and np.all(sizes[1:] / sizes[:-1] <= 1.25)


def test_ddm_keeps_its_false_alarms_low_on_long_streams() -> None:
    """A warm-up capped at 1,000 rows raised false alarms in 16 % of 50,000-row streams."""
    assert _share(ddm, 50_000, 0.1, 0.1) <= 0.10


def test_adwin_cut_matches_a_brute_force_search() -> None:
    """On a short stream, the reported cut is the split with the largest gap-to-threshold ratio."""
    rng = np.random.default_rng(5)
    stream = np.r_[rng.normal(0, 1, 400), rng.normal(1.5, 1, 200)]
    detection = adwin(stream, check_every=32)
    end = detection.detected_at + 1
    best, best_ratio = None, -1.0
    for split in range(1, end):
        older, newer = stream[:split], stream[split:end]
        m = 1 / (1 / older.size + 1 / newer.size)
        log_term = np.log(2 * np.log(end) / 0.002)
        epsilon = np.sqrt(2 * stream[:end].var() / m * log_term) + 2 / (3 * m) * log_term
        ratio = abs(older.mean() - newer.mean()) / epsilon
        if split >= 5 and end - split >= 5 and ratio > best_ratio:
            best, best_ratio = split, ratio
    assert abs(detection.started_at - best) <= 16
