"""Accuracy: the share of rows whose predicted class is the true one."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from modelmonitor.engine.concept import PerformanceComparison, compare_error_rates
from modelmonitor.engine.confidence_sequence import ArmData
from modelmonitor.engine.metric_definition import ClassCounts, Combine, MetricFormula, Parts, correct, only


def of_counts(counts: ClassCounts, average: str, positive: int) -> NDArray[np.float64]:
    total = counts.support.sum(axis=-1)
    return np.where(total > 0, counts.true_positives.sum(axis=-1) / np.maximum(total, 1), np.nan)


def compare_counts(baseline: NDArray[np.int64], current: NDArray[np.int64]) -> PerformanceComparison:
    """The two windows' error rates, by the two-proportion z-test."""
    baseline_rows, current_rows = int(baseline.sum()), int(current.sum())
    return compare_error_rates(
        baseline_rows - int(np.trace(baseline)), baseline_rows, current_rows - int(np.trace(current)), current_rows
    )


def sequence_parts(arm: ArmData, n_classes: int, positive: int, average: str) -> tuple[Parts, Combine]:
    return [(correct(arm), True)], only


FORMULA = MetricFormula(of_counts=of_counts, compare_counts=compare_counts, sequence_parts=sequence_parts, per_row=True)
