"""Root mean squared error."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from modelmonitor.engine.concept import PerformanceComparison, compare_losses
from modelmonitor.engine.confidence_sequence import ArmData
from modelmonitor.engine.metric_definition import Combine, MetricFormula, Parts, Window


def of_errors(truth: NDArray[np.float64], predicted: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.sqrt(np.mean((predicted - truth) ** 2, axis=-1))


def _root(means: Sequence[float]) -> float:
    return math.sqrt(max(means[0], 0.0))


def compare_errors(baseline: Window, current: Window) -> PerformanceComparison:
    """The two windows' squared errors, by Welch's t-test; the values reported as their roots."""
    compared = compare_losses(np.abs(baseline[1] - baseline[0]) ** 2, np.abs(current[1] - current[0]) ** 2)
    return PerformanceComparison(
        float(np.sqrt(compared.baseline)), float(np.sqrt(compared.current)), compared.statistic, compared.p_value
    )


def sequence_parts(arm: ArmData, n_classes: int, positive: int, average: str) -> tuple[Parts, Combine]:
    error = arm.y_true - arm.y_pred
    return [(error * error, False)], _root


FORMULA = MetricFormula(of_errors=of_errors, compare_errors=compare_errors, sequence_parts=sequence_parts)
