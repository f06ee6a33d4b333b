"""A domain classifier: how well a model tells the window's rows from the reference's, and by which features.

A gradient-boosted classifier (scikit-learn's ``HistGradientBoostingClassifier``) learns to tell
the two samples apart on half of each, and scores the other half. The statistic is the area under
the ROC curve of those held-out scores: 0.5 when the samples cannot be told apart, 1 when they
always can.

The p-value is a permutation test with no refit: under no drift a held-out row's features say
nothing of its side, and the model never saw it, so the sides of the held-out rows are
exchangeable given their scores. They are shuffled ``PERMUTATIONS`` times, and the p-value counts
the observed AUC among them (so it is never below 1 / (PERMUTATIONS + 1)); the window drifts when it
is at most alpha. The threshold shown is the (1 - alpha) quantile of the shuffled AUCs. One
split, not k folds: the folds' AUCs are correlated (each model trained on the others' rows), and
shuffling within folds gave a null too narrow, about three times alpha's false alarms in our
simulations. The interval is Hanley and McNeil's (1982) standard error of an AUC. The features
that separate the two most are found by permutation importance (Breiman 2001) on the held-out half.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split

from modelmonitor.engine.multivariate import (
    Encoder,
    Frame,
    MultivariateMeasured,
    MultivariateMethodDefinition,
    MultivariateSettings,
)

PERMUTATIONS = 500
SHOWN = 5  # the features named, the most separating first


def _auc(ranks: NDArray[np.float64], sides: NDArray[np.bool_]) -> float:
    """The Mann-Whitney form of the AUC from the scores' ranks: the chance a current row outscores a reference row."""
    current = int(sides.sum())
    reference = len(sides) - current
    return float((ranks[sides].sum() - current * (current + 1) / 2) / (current * reference))


def _shuffled_aucs(ranks: NDArray[np.float64], current: int, seed: int) -> NDArray[np.float64]:
    """The AUC with the held-out rows' sides shuffled: ``current`` of them drawn as the window's, each time."""
    generator = np.random.default_rng(seed)
    reference = len(ranks) - current
    found = np.empty(PERMUTATIONS)
    for index in range(PERMUTATIONS):
        chosen = generator.permutation(len(ranks))[:current]
        found[index] = (ranks[chosen].sum() - current * (current + 1) / 2) / (current * reference)
    return found


def _standard_error(auc: float, current: int, reference: int) -> float:
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (auc * (1 - auc) + (current - 1) * (q1 - auc**2) + (reference - 1) * (q2 - auc**2)) / (
        current * reference
    )
    return float(np.sqrt(max(variance, 0.0)))


def measure(reference: Frame, current: Frame, settings: MultivariateSettings) -> MultivariateMeasured:
    if min(reference.rows, current.rows) < 20:
        raise ValueError(f"too few rows to train and test ({reference.rows} reference, {current.rows} current)")
    encoder = Encoder.fitted(reference)
    rows = np.vstack([encoder.encoded(reference), encoder.encoded(current)])
    sides = np.r_[np.zeros(reference.rows, bool), np.ones(current.rows, bool)]
    trained, held = train_test_split(np.arange(len(sides)), test_size=0.5, stratify=sides, random_state=settings.seed)
    model = HistGradientBoostingClassifier(max_iter=100, random_state=settings.seed).fit(rows[trained], sides[trained])
    ranks = stats.rankdata(model.predict_proba(rows[held])[:, 1])
    held_sides = sides[held]
    auc = _auc(ranks, held_sides)
    shuffled = _shuffled_aucs(ranks, int(held_sides.sum()), settings.seed)
    p_value = float((1 + np.sum(shuffled >= auc)) / (1 + PERMUTATIONS))
    threshold = float(np.quantile(shuffled, 1 - settings.alpha))
    drifted = p_value <= settings.alpha  # the permutation test's own rule: valid at alpha, whatever the shuffles
    error = _standard_error(auc, int(held_sides.sum()), int((~held_sides).sum()))
    z = float(stats.norm.ppf(1 - settings.alpha / 2))
    importance = permutation_importance(
        model, rows[held], held_sides, scoring="roc_auc", n_repeats=3, random_state=settings.seed
    )
    ranked = sorted(
        zip(reference.columns, importance.importances_mean.tolist(), strict=True), key=lambda pair: -pair[1]
    )
    separating = [{"feature": name, "importance": round(value, 6)} for name, value in ranked[:SHOWN] if value > 0]
    named = ", ".join(f"{entry['feature']} ({entry['importance']:.3f})" for entry in separating[:3])
    reason = (
        f"AUC {auc:.3f} telling the window from the reference ({'>' if drifted else '<='} {threshold:.3f}, the "
        f"{1 - settings.alpha:.0%} quantile of shuffled sides; p={p_value:.3g})"
        + (f"; separated most by {named}" if drifted and named else "")
    )
    details = {
        "lower": max(0.0, auc - z * error),
        "upper": min(1.0, auc + z * error),
        "separatingFeatures": separating,
        "referenceRows": reference.rows,
        "currentRows": current.rows,
        "heldOutRows": len(held),
        "permutations": PERMUTATIONS,
    }
    return MultivariateMeasured(auc, threshold, drifted, reason, p_value, details)


METHOD = MultivariateMethodDefinition(
    measure=measure,
    citation="domain classifier (Rabanser et al., NeurIPS 2019); Hanley & McNeil (1982); Breiman (2001)",
)
