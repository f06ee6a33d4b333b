"""F1: the harmonic mean of precision and recall, per class, averaged over classes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from modelmonitor.engine.confidence_sequence import ArmData
from modelmonitor.engine.metric_definition import ClassCounts, Combine, MetricFormula, Parts, divide
from modelmonitor.engine.metric_formulas import precision, recall


def of_counts(counts: ClassCounts, average: str, positive: int) -> NDArray[np.float64]:
    per_class = divide(2 * counts.true_positives, counts.predicted + counts.support)
    return counts.averaged(per_class, average, positive)


def _f1(precision_value: float, recall_value: float) -> float:
    total = precision_value + recall_value
    return 0.0 if total <= 0 else 2 * precision_value * recall_value / total


def sequence_parts(arm: ArmData, n_classes: int, positive: int, average: str) -> tuple[Parts, Combine]:
    """Each averaged class's precision and recall; f1 increases in both, so their bounds bound it."""
    precisions = precision.parts(arm, n_classes, positive, average)
    classes = len(precisions)

    def mean_f1(means: Sequence[float]) -> float:
        return float(np.mean([_f1(means[i], means[classes + i]) for i in range(classes)]))

    return precisions + recall.parts(arm, n_classes, positive, average), mean_f1


FORMULA = MetricFormula(of_counts=of_counts, sequence_parts=sequence_parts)
