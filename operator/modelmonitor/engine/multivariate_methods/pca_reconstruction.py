"""PCA reconstruction error (NannyML's data reconstruction drift, with a test in place of its 3-sigma band).

Fit on one half of the reference sample: the encoding (``engine.multivariate.Encoder``), then the
principal components that explain ``varianceExplained`` of its variance. A row's error is the
Euclidean distance between its standardised values and their reconstruction from those
components. Features that keep their marginals but change how they move together leave the
components' subspace, and their error grows; a column stuck at one value shrinks it.

The other half of the reference gives the errors' sampling distribution (rows the fit did not
see, so their error is not flattered). The window's mean error is compared with it by Welch's
t-test, two-sided (Welch 1947): the threshold is the band's edge the mean crossed, or the upper
one. NannyML (``DataReconstructionDriftCalculator``) fits on the whole reference and alerts
outside the mean of its chunks' errors ± 3 standard deviations.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.decomposition import PCA

from modelmonitor.engine.multivariate import (
    Encoder,
    Frame,
    MultivariateMeasured,
    MultivariateMethodDefinition,
    MultivariateSettings,
)


def _halves(frame: Frame, seed: int) -> tuple[Frame, Frame]:
    order = np.random.default_rng(seed).permutation(frame.rows)
    fit, held = np.sort(order[: frame.rows // 2]), np.sort(order[frame.rows // 2 :])
    return tuple(  # type: ignore[return-value]
        Frame(
            {name: values[rows] for name, values in frame.numbers.items()},
            {name: values[rows] for name, values in frame.categories.items()},
        )
        for rows in (fit, held)
    )


def measure(reference: Frame, current: Frame, settings: MultivariateSettings) -> MultivariateMeasured:
    if len(reference.columns) < 2:
        raise ValueError("reconstruction needs two features or more: one is its own reconstruction")
    if min(reference.rows, 2 * current.rows) < 40:
        raise ValueError(f"too few rows to fit and test ({reference.rows} reference, {current.rows} current)")
    fit, held = _halves(reference, settings.seed)
    encoder = Encoder.fitted(fit)
    pca = PCA(n_components=settings.variance_explained, svd_solver="full").fit(encoder.encoded(fit))

    def errors(frame: Frame) -> np.ndarray:
        encoded = encoder.encoded(frame)
        return np.linalg.norm(encoded - pca.inverse_transform(pca.transform(encoded)), axis=1)

    expected, found = errors(held), errors(current)
    test = stats.ttest_ind(found, expected, equal_var=False)
    p_value = float(test.pvalue) if np.isfinite(test.pvalue) else 1.0
    spread = np.sqrt(expected.var(ddof=1) / len(expected) + found.var(ddof=1) / len(found))
    edge = float(stats.t.ppf(1 - settings.alpha / 2, df=float(test.df)) * spread) if spread > 0 else 0.0
    low, high = float(expected.mean()) - edge, float(expected.mean()) + edge
    statistic = float(found.mean())
    drifted = p_value < settings.alpha
    threshold = low if statistic < low else high
    side = "below" if statistic < expected.mean() else "above"
    reason = (
        f"mean reconstruction error {statistic:.4g} {side} the reference's {expected.mean():.4g} "
        f"(band {low:.4g} to {high:.4g}, p={p_value:.3g} {'<' if drifted else '>='} {settings.alpha}; "
        f"{pca.n_components_} of {len(reference.columns)} components kept)"
    )
    details = {
        "referenceError": float(expected.mean()),
        "lower": low,
        "upper": high,
        "components": int(pca.n_components_),
        "varianceExplained": float(pca.explained_variance_ratio_.sum()),
        "referenceRows": reference.rows,
        "currentRows": current.rows,
    }
    return MultivariateMeasured(statistic, threshold, drifted, reason, p_value, details)


METHOD = MultivariateMethodDefinition(
    measure=measure,
    citation="NannyML data reconstruction drift (PCA); Welch, Biometrika 34 (1947)",
)
