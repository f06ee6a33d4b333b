"""Balanced accuracy: the mean recall over the classes present among the labels."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from modelmonitor.engine.confidence_sequence import ArmData
from modelmonitor.engine.metric_definition import (
    ClassCounts,
    MetricFormula,
    Parts,
    average_classes,
    class_hits,
    divide,
    mean_of_parts,
)


def of_counts(counts: ClassCounts, average: str, positive: int) -> NDArray[np.float64]:
    recall = divide(counts.true_positives, counts.support.astype(np.float64))
    present = counts.support > 0
    return np.where(present.any(axis=-1), average_classes(recall, counts.support, present, "macro", positive), np.nan)


def parts(arm: ArmData, n_classes: int, positive: int, average: str) -> Parts:
    """Correctness over the rows truly in each class, whatever the average."""
    return class_hits(arm, arm.y_true, range(n_classes))


FORMULA = MetricFormula(of_counts=of_counts, sequence_parts=mean_of_parts(parts))
