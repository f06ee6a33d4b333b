"""What a performance metric's module declares: its formula, in each form the engine needs.

A metric is computed from one of three things, by what it needs:

* ``of_counts``: a label metric, from a stack of confusion matrices (``..., n_classes, n_classes``),
  as :class:`ClassCounts`. Realized values, bootstrap resamples of counts and performance
  estimation's simulated labelings all go through it;
* ``of_errors``: a regression metric, from true and predicted values along the last axis (one
  set of rows, or a stack of resamples);
* ``of_scores``: a score metric, from whether each row is positive and its score; with
  ``resampled``, the same over bootstrap resamples of the rows, and ``of_labelings``, the same
  from the sums performance estimation keeps of each simulated labelling (:class:`LabelingSums`;
  ``ranked``: it needs the scores' ranks among the window's rows). A label metric is estimated
  through ``of_counts``, each labelling's confusion matrix.

A concept-drift detector compares a metric between two windows: label metrics by resampling
their confusion matrices, the others by the bootstrap, unless the metric has a test of its own,
``compare_counts`` (from the two confusion matrices) or ``compare_errors`` (from the two
windows' true and predicted values).

For a rollout's always-valid interval, a metric gives either ``sequence_parts``: the means it
is made of and the increasing function combining them (``modelmonitor.engine.sequential``
says how); or ``sequence_interval``, the whole interval, when it mixes directions or needs
another variance (r2, rocAuc). A metric that is the mean of one value per row (``per_row``:
accuracy, mae, mape, logLoss) can also be compared pair by pair, on two versions' answers to
the same requests (``modelmonitor.engine.paired``).  The facts the spec checks (direction, range, needs) are the
metric's row of ``modelmonitor.api.metrics``; each metric is one module of
``modelmonitor.engine.metric_formulas`` ending in its ``FORMULA``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from modelmonitor.api.comparison import ArmEstimate
from modelmonitor.engine.concept import PerformanceComparison
from modelmonitor.engine.confidence_sequence import ArmData

EPS = np.finfo(np.float64).eps
Parts = list[tuple[NDArray[np.float64], bool]]  # each mean's values, and whether they are 0/1
Combine = Callable[[Sequence[float]], float]
Window = tuple[NDArray[np.float64], NDArray[np.float64]]  # a window's true and predicted values
PartsOf = Callable[[ArmData, int, int, str], Parts]  # an arm, its classes, the positive one, the average
SequenceParts = Callable[[ArmData, int, int, str], tuple[Parts, Combine]]


@dataclass(frozen=True)
class ClassCounts:
    """Per class, from a stack of confusion matrices (true classes in rows): hits, predictions, support."""

    true_positives: NDArray[np.float64]
    predicted: NDArray[np.float64]
    support: NDArray[np.int64]

    @classmethod
    def of(cls, matrices: NDArray[np.int64]) -> ClassCounts:
        return cls(
            np.diagonal(matrices, axis1=-2, axis2=-1).astype(np.float64),
            matrices.sum(axis=-2).astype(np.float64),
            matrices.sum(axis=-1),
        )

    def averaged(self, per_class: NDArray[np.float64], average: str, positive: int) -> NDArray[np.float64]:
        """A per-class metric averaged as scikit-learn does without given labels: over the classes that occur
        among the labels or the predictions (macro), weighted by support, or the positive class's (binary)."""
        present = (self.support + self.predicted) > 0
        return average_classes(per_class, self.support, present, average, positive)


@dataclass(frozen=True)
class LabelingSums:
    """Sums over a binary model's rows of each simulated labelling (arrays: one value per labelling).

    ``positives``: rows labelled positive; ``log_odds``: of label x (log s - log(1 - s)), the
    scores clipped as in ``engine.cbpe``; ``ranks``: of label x the score's rank among the rows
    (when the metric is ``ranked``). ``rows`` and ``log_negatives`` (the sum of log(1 - s)) do not
    depend on the labelling.
    """

    positives: NDArray[np.float64]
    log_odds: NDArray[np.float64]
    ranks: NDArray[np.float64]
    rows: int
    log_negatives: float


def divide(numerator: NDArray[np.float64], denominator: NDArray[np.float64]) -> NDArray[np.float64]:
    """Element-wise, 0 where the denominator is: scikit-learn's ``zero_division=0``."""
    out = np.zeros_like(numerator, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def average_classes(
    per_class: NDArray[np.float64], support: NDArray[np.int64], present: NDArray[np.bool_], average: str, positive: int
) -> NDArray[np.float64]:
    if average == "binary":
        return per_class[..., positive]
    if average == "weighted":
        return divide((per_class * support).sum(axis=-1), support.sum(axis=-1).astype(np.float64))
    return divide((per_class * present).sum(axis=-1), present.sum(axis=-1).astype(np.float64))


def correct(arm: ArmData) -> NDArray[np.float64]:
    """1.0 where an arm's prediction is its label."""
    return (arm.y_true == arm.y_pred).astype(np.float64)


def averaged_classes(n_classes: int, positive: int, average: str) -> list[int]:
    """The classes a per-class metric's confidence sequence runs over: the positive one, or all (macro)."""
    return [positive] if average == "binary" else list(range(n_classes))


def class_hits(arm: ArmData, classes_of_rows: NDArray[np.float64], classes: Sequence[int]) -> Parts:
    """Correctness over the rows of each class, the rows' classes being their labels or their predictions."""
    hits = correct(arm)
    return [(hits[classes_of_rows == k], True) for k in classes]


def mean_of(means: Sequence[float]) -> float:
    return float(np.mean(means))


def mean_of_parts(parts: PartsOf) -> SequenceParts:
    """A confidence sequence's parts, combined by their mean (a macro average, or a single class)."""

    def sequence_parts(arm: ArmData, n_classes: int, positive: int, average: str) -> tuple[Parts, Combine]:
        return parts(arm, n_classes, positive, average), mean_of

    return sequence_parts


def only(means: Sequence[float]) -> float:
    return means[0]


@dataclass(frozen=True)
class MetricFormula:
    """One metric's formula in each form it takes (see the module's docstring); the forms it lacks are None."""

    of_counts: Callable[[ClassCounts, str, int], NDArray[np.float64]] | None = None
    of_errors: Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]] | None = None
    of_scores: Callable[[NDArray[np.bool_], NDArray[np.float64]], float] | None = None
    resampled: (
        Callable[[NDArray[np.bool_], NDArray[np.float64]], Callable[[NDArray[np.int64]], NDArray[np.float64]]] | None
    ) = None
    of_labelings: Callable[[LabelingSums], NDArray[np.float64]] | None = None
    ranked: bool = False
    compare_counts: Callable[[NDArray[np.int64], NDArray[np.int64]], PerformanceComparison] | None = None
    compare_errors: Callable[[Window, Window], PerformanceComparison] | None = None
    sequence_parts: SequenceParts | None = None
    sequence_interval: Callable[..., ArmEstimate] | None = None
    # its one sequence part holds a value for every row, the metric their mean: two versions' answers to the
    # same requests compare pair by pair (``engine.paired``)
    per_row: bool = False

    def __post_init__(self) -> None:
        inputs = [form for form in (self.of_counts, self.of_errors, self.of_scores) if form is not None]
        if len(inputs) != 1:
            raise ValueError("a metric is computed from counts, errors or scores: exactly one of them")
        if (self.sequence_parts is None) == (self.sequence_interval is None):
            raise ValueError("a metric's confidence sequence is either its parts or its whole interval")
        if self.per_row and self.sequence_parts is None:
            raise ValueError("a metric compared pair by pair is the mean of its one sequence part")
        if not (self.of_scores is None) == (self.resampled is None) == (self.of_labelings is None):
            raise ValueError("a score metric has a resampled and an estimated form, and only a score metric needs them")
        if self.ranked and self.of_labelings is None:
            raise ValueError("only an estimated score metric reads the scores' ranks")
        if (self.compare_counts is not None and self.of_counts is None) or (
            self.compare_errors is not None and self.of_errors is None
        ):
            raise ValueError("a metric's own test reads what the metric is computed from")
