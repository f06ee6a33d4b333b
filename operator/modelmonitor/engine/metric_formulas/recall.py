"""Recall: of the rows truly in a class, the share predicted in it; averaged over classes."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from modelmonitor.engine.confidence_sequence import ArmData
from modelmonitor.engine.metric_definition import (
    ClassCounts,
    MetricFormula,
    Parts,
    averaged_classes,
    class_hits,
    divide,
    mean_of_parts,
)


def of_counts(counts: ClassCounts, average: str, positive: int) -> NDArray[np.float64]:
    return counts.averaged(divide(counts.true_positives, counts.support.astype(np.float64)), average, positive)


def parts(arm: ArmData, n_classes: int, positive: int, average: str) -> Parts:
    """Correctness over the rows truly in each averaged class (f1 uses them too)."""
    return class_hits(arm, arm.y_true, averaged_classes(n_classes, positive, average))


FORMULA = MetricFormula(of_counts=of_counts, sequence_parts=mean_of_parts(parts))
