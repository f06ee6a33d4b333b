"""Isotonic calibration curves refitted many times on one set of scores: sorted once, refitted on weights.

CBPE fits a calibration on the reference rows, two cross-fitted halves and 25 bootstrap
resamples: 28 fits of the same scores. scikit-learn's ``IsotonicRegression`` sorts the rows
again for each (4.2 s for a million rows; 1.4 s here, benchmarks/cbpe_calibration.py).
Here the scores are sorted once; a fit is a set of row weights (a half: 0 or 1; a
bootstrap resample: how often each row was drawn), summed per distinct score, and the
pool-adjacent-violators fit of scikit-learn's
``isotonic_regression`` on those sums. A resample drawn as row indices and the same rows
counted as weights give the same fit, since a fit merges equal scores by their weights.
The curve keeps only the ends of its flat stretches and predicts as
``IsotonicRegression(out_of_bounds="clip")`` does: linear between them, flat beyond the ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.isotonic import isotonic_regression


@dataclass(frozen=True)
class IsotonicCurve:
    """A non-decreasing fit: the distinct scores it saw and their fitted values."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]

    def predict(self, score: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.interp(score, self.x, self.y)


class SortedScores:
    """One set of scores, sorted once, to fit isotonic curves on any weighting of its rows."""

    def __init__(self, score: NDArray[np.float64]) -> None:
        self._order = np.argsort(score, kind="stable")
        self._distinct, self._starts = np.unique(score[self._order], return_index=True)
        self.rows = int(score.size)

    def fit(self, label: NDArray[np.bool_], weight: NDArray[np.float64] | None = None) -> IsotonicCurve:
        """The isotonic fit of ``label`` on the scores, each row counted ``weight`` times (default once)."""
        weight = np.ones(self.rows) if weight is None else np.asarray(weight, dtype=np.float64)
        weight = weight[self._order]
        total = np.add.reduceat(weight, self._starts)
        positive = np.add.reduceat(weight * label[self._order], self._starts)
        seen = total > 0  # a score no row of this weighting holds is not a point of its curve
        if not seen.any():
            raise ValueError("an isotonic fit needs at least one row of positive weight")
        fitted = isotonic_regression(
            positive[seen] / total[seen], sample_weight=total[seen], y_min=0.0, y_max=1.0, increasing=True
        )
        return _trimmed(self._distinct[seen], fitted)


def _trimmed(x: NDArray[np.float64], y: NDArray[np.float64]) -> IsotonicCurve:
    """Without the points inside a flat stretch, which interpolation does not need: a fit is mostly flat."""
    corner = np.ones(y.size, dtype=bool)
    corner[1:-1] = (y[1:-1] != y[:-2]) | (y[1:-1] != y[2:])
    return IsotonicCurve(x[corner], y[corner])
