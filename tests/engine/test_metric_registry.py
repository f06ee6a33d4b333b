"""The metrics' registry: one module of formulas per metric of the spec's table, and the forms each takes."""

from __future__ import annotations

import pkgutil

import numpy as np
import pytest

from modelmonitor.api.metrics import METRICS, MetricName
from modelmonitor.engine import metric_formulas
from modelmonitor.engine.metric_definition import ClassCounts, MetricFormula
from modelmonitor.engine.metrics import FORMULAS, label_metric, module_name, resampled_score_metric
from modelmonitor.engine.sequential import ArmData, metric_interval


def test_every_metric_of_the_table_has_its_module_and_back() -> None:
    modules = {module.name for module in pkgutil.iter_modules(metric_formulas.__path__)}
    assert modules == {module_name(metric) for metric in MetricName}
    assert set(FORMULAS) == set(METRICS)
    assert module_name(MetricName.ROC_AUC) == "roc_auc" and module_name(MetricName.R2) == "r2"


@pytest.mark.parametrize("metric", list(MetricName), ids=str)
def test_a_metric_is_computed_from_what_its_row_says_it_needs(metric: MetricName) -> None:
    facts, formula = METRICS[metric], FORMULAS[metric]
    assert (formula.of_errors is not None) == facts.regression
    assert (formula.of_scores is not None) == (formula.of_labelings is not None) == facts.needs_scores
    assert (formula.of_counts is not None) == (not facts.regression and not facts.needs_scores)
    if facts.averaged:
        assert formula.of_counts is not None


def test_a_formula_must_be_whole() -> None:
    def values(counts: ClassCounts, average: str, positive: int) -> np.ndarray:
        return np.zeros(1)

    def interval(*args: object, **kwargs: object) -> object:
        raise AssertionError

    with pytest.raises(ValueError, match="exactly one"):
        MetricFormula(sequence_interval=interval)
    with pytest.raises(ValueError, match="exactly one"):
        MetricFormula(of_counts=values, of_errors=lambda t, p: t, sequence_interval=interval)
    with pytest.raises(ValueError, match="parts or its whole interval"):
        MetricFormula(of_counts=values)
    with pytest.raises(ValueError, match="resampled and an estimated form"):
        MetricFormula(of_scores=lambda y, s: 0.0, sequence_interval=interval)
    with pytest.raises(ValueError, match="ranks"):
        MetricFormula(of_counts=values, ranked=True, sequence_interval=interval)
    with pytest.raises(ValueError, match="own test reads what the metric is computed from"):
        MetricFormula(of_counts=values, compare_errors=lambda b, c: None, sequence_interval=interval)  # type: ignore[arg-type, return-value]


def test_only_roc_auc_reads_the_scores_ranks_when_estimated() -> None:
    """Performance estimation ranks a window's scores (a pass over the window) only for such a metric."""
    assert [metric for metric, formula in FORMULAS.items() if formula.ranked] == [MetricName.ROC_AUC]


def test_the_dispatch_refuses_a_form_a_metric_does_not_take() -> None:
    with pytest.raises(ValueError, match="not computed from labels alone"):
        label_metric(MetricName.MAE, np.eye(2, dtype=np.int64))
    with pytest.raises(ValueError, match="not computed from scores"):
        resampled_score_metric(MetricName.ACCURACY, np.array([True, False]), np.array([0.3, 0.6]))


@pytest.mark.parametrize("metric", [m for m in MetricName if not METRICS[m].regression], ids=str)
def test_each_classification_metric_has_an_always_valid_interval_around_its_value(metric: MetricName) -> None:
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 2, 2000)
    predicted = np.where(rng.random(2000) < 0.8, truth, 1 - truth)
    score = np.clip(0.5 * predicted + 0.5 * rng.random(2000), 0, 1)
    estimate = metric_interval(
        metric, ArmData(truth.astype(float), predicted.astype(float), score), alpha=0.05, n_star=500
    )
    assert estimate.interval.low < estimate.value < estimate.interval.high and estimate.rows == 2000
