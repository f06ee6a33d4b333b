"""Average odds difference: the mean of the groups' false-positive-rate and true-positive-rate gaps.

Both gaps are differences of rates, so their mean is the difference of each group's mean rate.
Its support is each group's smaller class of labels: both rates must be measured.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from modelmonitor.engine.fairness import (
    LABEL_FAVORABLE,
    LABEL_UNFAVORABLE,
    Counts,
    FairnessFormula,
    Proportion,
    false_positives,
    labeled_with,
    true_positives,
)


def both_rates(counts: Counts) -> list[Proportion]:
    return false_positives(counts) + true_positives(counts)


def both_labels(counts: Counts) -> NDArray[np.int64]:
    return np.minimum(labeled_with(counts, LABEL_FAVORABLE), labeled_with(counts, LABEL_UNFAVORABLE))


FORMULA = FairnessFormula(proportions=both_rates, support=both_labels)
