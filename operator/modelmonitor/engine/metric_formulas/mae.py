"""Mean absolute error."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from modelmonitor.engine.concept import PerformanceComparison, compare_losses
from modelmonitor.engine.confidence_sequence import ArmData
from modelmonitor.engine.metric_definition import Combine, MetricFormula, Parts, Window, only


def of_errors(truth: NDArray[np.float64], predicted: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.mean(np.abs(predicted - truth), axis=-1)


def compare_errors(baseline: Window, current: Window) -> PerformanceComparison:
    """The two windows' absolute errors, by Welch's t-test."""
    return compare_losses(np.abs(baseline[1] - baseline[0]), np.abs(current[1] - current[0]))


def sequence_parts(arm: ArmData, n_classes: int, positive: int, average: str) -> tuple[Parts, Combine]:
    return [(np.abs(arm.y_true - arm.y_pred), False)], only


FORMULA = MetricFormula(of_errors=of_errors, compare_errors=compare_errors, sequence_parts=sequence_parts, per_row=True)
