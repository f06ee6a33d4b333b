"""Multivariate drift in the engine: the shared encoding, and PCA reconstruction's detection and false alarms.

The shift the univariate tests cannot see: two features keep their marginals (standard normal)
while their correlation flips from +0.8 to -0.8. PCA reconstruction must flag it in every seed,
the Kolmogorov-Smirnov test per feature (Benjamini-Hochberg across them, as the monitor
corrects) must stay at its false-alarm rate, and with no shift PCA reconstruction's own false
alarms must stay within alpha's binomial band over 200 seeds. ``benchmarks/multivariate_drift.py``
prints the figures.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from modelmonitor.api.drift import Correction
from modelmonitor.engine.drift import adjust_p_values
from modelmonitor.engine.multivariate import Encoder, Frame, MultivariateSettings, method

SEEDS = 200
ALPHA = 0.05


def correlated(rows: int, correlation: float, generator: np.random.Generator) -> Frame:
    """Two correlated standard normals, an independent one, and a category."""
    pair = generator.multivariate_normal([0, 0], [[1, correlation], [correlation, 1]], rows)
    return Frame(
        {"a": pair[:, 0], "b": pair[:, 1], "c": generator.normal(0, 1, rows)},
        {"d": generator.choice(["x", "y", "z"], rows, p=[0.5, 0.3, 0.2]).astype(object)},
    )


def test_the_encoding_is_the_references_frequencies_means_and_scales() -> None:
    reference = Frame({"n": np.array([1.0, np.nan, 3.0, 5.0])}, {"k": np.array(["a", "a", "b", None], dtype=object)})
    encoder = Encoder.fitted(reference)
    raw = np.array([[1.0, 2 / 3], [3.0, 2 / 3], [3.0, 1 / 3], [5.0, 0.0]])  # NaN as the mean 3; a by 2 of 3 present
    expected = StandardScaler().fit(raw)
    assert np.allclose(encoder.encoded(reference), expected.transform(raw))
    unseen = Frame({"n": np.array([np.nan])}, {"k": np.array(["never"], dtype=object)})
    assert np.allclose(encoder.encoded(unseen), expected.transform([[3.0, 0.0]]))


def test_the_reconstruction_error_is_scikit_learns_pca_on_the_encoded_rows() -> None:
    generator = np.random.default_rng(3)
    reference, current = correlated(4000, 0.8, generator), correlated(1000, -0.8, generator)
    found = method("pcaReconstruction").measure(reference, current, MultivariateSettings(seed=3))
    order = np.random.default_rng(3).permutation(reference.rows)
    fit = Frame(
        {k: v[np.sort(order[:2000])] for k, v in reference.numbers.items()},
        {k: v[np.sort(order[:2000])] for k, v in reference.categories.items()},
    )
    encoder = Encoder.fitted(fit)
    pca = PCA(n_components=0.65, svd_solver="full").fit(encoder.encoded(fit))
    encoded = encoder.encoded(current)
    by_hand = np.linalg.norm(encoded - pca.inverse_transform(pca.transform(encoded)), axis=1).mean()
    assert found.statistic == pytest.approx(by_hand) and found.details["components"] == pca.n_components_
    assert found.drifted and found.statistic > found.threshold == found.details["upper"]


def test_a_flipped_correlation_is_flagged_in_every_seed_while_each_feature_alone_looks_unchanged() -> None:
    pca = method("pcaReconstruction")
    flagged = univariate = 0
    for seed in range(SEEDS // 4):
        generator = np.random.default_rng(seed)
        reference, current = correlated(5000, 0.8, generator), correlated(2000, -0.8, generator)
        flagged += pca.measure(reference, current, MultivariateSettings(seed=seed)).drifted
        p_values = [stats.ks_2samp(reference.numbers[c], current.numbers[c]).pvalue for c in "abc"]
        univariate += any(p < ALPHA for p in adjust_p_values(p_values, Correction.FDR))
    assert flagged == SEEDS // 4
    assert univariate <= 0.15 * SEEDS // 4  # the marginals did not move: KS alarms at about its level


def test_with_no_shift_false_alarms_stay_within_alphas_band() -> None:
    pca = method("pcaReconstruction")
    alarms = 0
    for seed in range(SEEDS):
        generator = np.random.default_rng(1000 + seed)
        reference, current = correlated(3000, 0.8, generator), correlated(1000, 0.8, generator)
        alarms += pca.measure(reference, current, MultivariateSettings(alpha=ALPHA, seed=seed)).drifted
    band = ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / SEEDS)  # three binomial standard errors over alpha
    assert alarms / SEEDS <= band, alarms


def test_what_cannot_be_reconstructed_is_refused_in_words() -> None:
    generator = np.random.default_rng(0)
    one = Frame({"a": generator.normal(size=500)})
    with pytest.raises(ValueError, match="two features or more"):
        method("pcaReconstruction").measure(one, one, MultivariateSettings())
    few = correlated(30, 0.8, generator)
    with pytest.raises(ValueError, match="too few rows"):
        method("pcaReconstruction").measure(few, few, MultivariateSettings())


def test_the_domain_classifiers_auc_is_scikit_learns_on_the_held_out_half() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    generator = np.random.default_rng(4)
    reference, current = correlated(2000, 0.8, generator), correlated(1000, -0.8, generator)
    found = method("domainClassifier").measure(reference, current, MultivariateSettings(seed=4))
    encoder = Encoder.fitted(reference)
    rows = np.vstack([encoder.encoded(reference), encoder.encoded(current)])
    sides = np.r_[np.zeros(2000, bool), np.ones(1000, bool)]
    trained, held = train_test_split(np.arange(3000), test_size=0.5, stratify=sides, random_state=4)
    model = HistGradientBoostingClassifier(max_iter=100, random_state=4).fit(rows[trained], sides[trained])
    by_hand = roc_auc_score(sides[held], model.predict_proba(rows[held])[:, 1])
    assert found.statistic == pytest.approx(by_hand)
    assert found.details["lower"] < found.statistic < found.details["upper"]
    # where the difference is: the pair whose correlation flipped separates the samples, not c or d
    assert {entry["feature"] for entry in found.details["separatingFeatures"][:2]} == {"a", "b"}
    assert found.drifted and found.p_value is not None and found.p_value < 0.01


def test_the_domain_classifier_flags_the_flip_and_names_a_shifted_feature_first() -> None:
    classifier = method("domainClassifier")
    for seed in range(5):
        generator = np.random.default_rng(seed)
        reference, current = correlated(2000, 0.8, generator), correlated(1000, -0.8, generator)
        assert classifier.measure(reference, current, MultivariateSettings(seed=seed)).drifted
    generator = np.random.default_rng(9)
    reference, current = correlated(2000, 0.8, generator), correlated(1000, 0.8, generator)
    current.numbers["c"] += 0.5  # one feature moved
    found = classifier.measure(reference, current, MultivariateSettings(seed=9))
    assert found.drifted and found.details["separatingFeatures"][0]["feature"] == "c"


def test_with_no_shift_the_domain_classifiers_false_alarms_stay_within_alphas_band() -> None:
    """40 seeds here (each fit costs about a second); benchmarks/multivariate_drift.py prints 200."""
    classifier = method("domainClassifier")
    seeds, alarms = 40, 0
    for seed in range(seeds):
        generator = np.random.default_rng(2000 + seed)
        reference, current = correlated(1500, 0.8, generator), correlated(750, 0.8, generator)
        alarms += classifier.measure(reference, current, MultivariateSettings(alpha=ALPHA, seed=seed)).drifted
    assert alarms / seeds <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / seeds), alarms
