"""The fairness metrics: each cross-checked by hand from scikit-learn's confusion matrices and against fairlearn,
and the bootstrap interval's coverage over seeds."""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.fairness import TRUTH, rolled_back_at, window
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from numpy.typing import NDArray
from sklearn.metrics import confusion_matrix, precision_score

from modelmonitor.api.fairness import FAIRNESS_METRICS, FairnessMetricName
from modelmonitor.api.vocabulary import module_names, snake_case
from modelmonitor.engine import fairness

Rows = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]


def _rows(seed: int, rows: int = 3000) -> Rows:
    """Groups (0 privileged, 1 not), labels (-1 not yet, else 0/1) and predictions, the unprivileged served worse."""
    rng = np.random.default_rng(seed)
    group = (rng.random(rows) < 0.4).astype(np.int64)
    label = (rng.random(rows) < np.where(group == 1, 0.35, 0.5)).astype(np.int64)
    right = rng.random(rows) < np.where(group == 1, 0.7, 0.85)
    prediction = np.where(right, label, 1 - label)
    label = np.where(rng.random(rows) < 0.2, -1, label)  # a fifth not labelled yet
    return group, label, prediction


def _counts(group: NDArray[np.int64], label: NDArray[np.int64], prediction: NDArray[np.int64]) -> NDArray[np.int64]:
    counts = np.zeros(fairness.OUTCOMES, dtype=np.int64)
    np.add.at(counts, (group, prediction, label + 1), 1)  # label -1, 0, 1 are UNLABELED, UNFAVORABLE, FAVORABLE
    return counts


def _by_hand(name: str, group: NDArray[np.int64], label: NDArray[np.int64], prediction: NDArray[np.int64]) -> float:
    """The metric from each group's confusion matrix (scikit-learn's), the unprivileged group's rate first."""
    rates = []
    for member in (1, 0):
        mine = group == member
        selection = prediction[mine].mean()
        labeled = mine & (label >= 0)
        (tn, fp), (fn, tp) = confusion_matrix(label[labeled], prediction[labeled], labels=[0, 1])
        rate = {
            "statisticalParityDifference": selection,
            "disparateImpactRatio": selection,
            "equalOpportunityDifference": tp / (tp + fn),
            "averageOddsDifference": (tp / (tp + fn) + fp / (fp + tn)) / 2,
            "predictiveParityDifference": tp / (tp + fp),
        }[name]
        rates.append(rate)
    return rates[0] / rates[1] if name == "disparateImpactRatio" else rates[0] - rates[1]


def test_each_metric_the_spec_names_has_its_module_and_no_module_is_without_a_metric() -> None:
    assert sorted(module_names("modelmonitor.engine.fairness_formulas")) == sorted(
        snake_case(str(name)) for name in FairnessMetricName
    )
    assert set(fairness.FORMULAS) == set(FAIRNESS_METRICS)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("name", list(FairnessMetricName))
def test_every_metric_is_the_hand_computation_from_scikit_learns_confusion_matrices(name, seed) -> None:
    group, label, prediction = _rows(seed)
    measured = fairness.measure(name, _counts(group, label, prediction))
    assert measured.value == pytest.approx(_by_hand(str(name), group, label, prediction), abs=1e-12)
    assert measured.lower is not None and measured.upper is not None
    assert measured.lower < measured.value < measured.upper


def test_the_group_rates_are_fairlearns() -> None:
    group, label, prediction = _rows(7)
    labeled = label >= 0
    frame = MetricFrame(
        metrics={
            "selection": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "precision": precision_score,
        },
        y_true=label[labeled],
        y_pred=prediction[labeled],
        sensitive_features=group[labeled],
    )
    counts = _counts(group, label, prediction)
    by_group = frame.by_group
    for proportions, column in (
        (fairness.true_positives, "tpr"),
        (fairness.false_positives, "fpr"),
        (fairness.precision, "precision"),
    ):
        [(numerator, denominator)] = proportions(counts)
        assert numerator / denominator == pytest.approx(by_group[column].to_numpy(), abs=1e-12)
    # the selection rate counts every predicted row, labelled or not
    everyone = MetricFrame(metrics=selection_rate, y_true=prediction, y_pred=prediction, sensitive_features=group)
    [(selected, rows)] = fairness.selection(counts)
    assert selected / rows == pytest.approx(everyone.by_group.to_numpy(), abs=1e-12)


def test_the_support_is_each_groups_denominator() -> None:
    group, label, prediction = _rows(3)
    counts = _counts(group, label, prediction)
    privileged = group == 0
    positives = (label == 1) & privileged
    negatives = (label == 0) & privileged
    supports = {
        FairnessMetricName.STATISTICAL_PARITY_DIFFERENCE: privileged.sum(),
        FairnessMetricName.EQUAL_OPPORTUNITY_DIFFERENCE: positives.sum(),
        FairnessMetricName.AVERAGE_ODDS_DIFFERENCE: min(positives.sum(), negatives.sum()),
        FairnessMetricName.PREDICTIVE_PARITY_DIFFERENCE: ((label >= 0) & (prediction == 1) & privileged).sum(),
    }
    for name, support in supports.items():
        assert fairness.measure(name, counts).support[fairness.PRIVILEGED] == support


def test_a_ratio_without_favorable_outcomes_in_the_privileged_group_is_undefined_not_infinite() -> None:
    counts = np.zeros(fairness.OUTCOMES, dtype=np.int64)
    counts[fairness.PRIVILEGED, fairness.PREDICTED_UNFAVORABLE, fairness.UNLABELED] = 100
    counts[fairness.UNPRIVILEGED, fairness.PREDICTED_FAVORABLE, fairness.UNLABELED] = 100
    measured = fairness.measure(FairnessMetricName.DISPARATE_IMPACT_RATIO, counts)
    assert (measured.value, measured.lower, measured.upper) == (None, None, None)
    difference = fairness.measure(FairnessMetricName.STATISTICAL_PARITY_DIFFERENCE, counts)
    assert difference.value == 1.0


def test_counts_of_another_shape_are_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        fairness.measure(FairnessMetricName.STATISTICAL_PARITY_DIFFERENCE, np.zeros((2, 2)))


@pytest.mark.parametrize("name", list(TRUTH))
def test_the_95_percent_interval_covers_the_true_value_in_about_95_percent_of_windows(name) -> None:
    """200 windows of 2,000 rows from one population (benchmarks/fairness.py): 95 % ± 3.1 % (2 SE) hold its value."""
    rng = np.random.default_rng(11)
    covered = 0
    for _ in range(200):
        measured = fairness.measure(name, window(rng, 2000), seed=int(rng.integers(1 << 31)))
        assert measured.lower is not None and measured.upper is not None
        covered += measured.lower <= TRUTH[name] <= measured.upper
    assert 0.95 - 0.031 <= covered / 200 <= 0.95 + 0.031


def test_a_fairness_guardrail_rolls_back_an_equally_fair_candidate_at_most_alpha_of_the_time_at_every_look() -> None:
    """A/A, both versions 0.1 apart from parity, 20 looks each: false rollbacks ≤ α (0.05) over 200 rollouts."""
    rng = np.random.default_rng(5)
    false_rollbacks = sum(rolled_back_at(rng, (0.1, 0.1)) is not None for _ in range(200))
    assert false_rollbacks / 200 <= 0.05


def test_a_fairness_guardrail_rolls_back_a_candidate_twice_as_far_from_parity() -> None:
    rng = np.random.default_rng(6)
    caught = sum(rolled_back_at(rng, (0.05, 0.20)) is not None for _ in range(50))
    assert caught / 50 >= 0.9


def test_the_gap_interval_holds_the_gap_and_straddling_parity_starts_at_zero() -> None:
    counts = np.zeros(fairness.OUTCOMES, dtype=np.int64)
    counts[:, fairness.PREDICTED_FAVORABLE, fairness.UNLABELED] = [300, 300]
    counts[:, fairness.PREDICTED_UNFAVORABLE, fairness.UNLABELED] = [300, 310]
    estimate = fairness.gap_estimate(FairnessMetricName.DISPARATE_IMPACT_RATIO, counts, alpha=0.05, n_star=500)
    assert estimate.interval.low == 0.0 < estimate.value < estimate.interval.high
    assert estimate.value == pytest.approx(abs((300 / 610) / (300 / 600) - 1))
