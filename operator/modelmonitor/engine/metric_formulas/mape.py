"""Mean absolute percentage error, as a fraction (scikit-learn's): |error| / max(|truth|, eps)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from modelmonitor.engine.confidence_sequence import ArmData
from modelmonitor.engine.metric_definition import EPS, Combine, MetricFormula, Parts, only


def of_errors(truth: NDArray[np.float64], predicted: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.mean(np.abs(predicted - truth) / np.maximum(np.abs(truth), EPS), axis=-1)


def sequence_parts(arm: ArmData, n_classes: int, positive: int, average: str) -> tuple[Parts, Combine]:
    return [(np.abs(arm.y_true - arm.y_pred) / np.maximum(np.abs(arm.y_true), EPS), False)], only


FORMULA = MetricFormula(of_errors=of_errors, sequence_parts=sequence_parts, per_row=True)
