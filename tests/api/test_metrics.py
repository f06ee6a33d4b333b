"""The metric table's facts, held against the formulas they describe."""

from __future__ import annotations

import numpy as np
import pytest

from modelmonitor.api.metrics import METRICS, MetricName
from modelmonitor.api.parsing import parse_spec
from modelmonitor.engine.metrics import classification_metric, regression_metric
from modelmonitor.errors import SpecError


def test_the_enum_is_the_table_in_its_order() -> None:
    assert [str(name) for name in MetricName] == [str(name) for name in METRICS]
    assert (MetricName.ROC_AUC, MetricName.BALANCED_ACCURACY, MetricName.R2) == ("rocAuc", "balancedAccuracy", "r2")


def _values(name: MetricName) -> tuple[float, float]:
    """The metric of good predictions, then of poor ones."""
    rng = np.random.default_rng(7)
    if METRICS[name].regression:
        truth = rng.normal(10.0, 2.0, 2000)
        return (
            regression_metric(name, truth, truth + rng.normal(0, 0.2, truth.size)),
            regression_metric(name, truth, truth + rng.normal(0, 3.0, truth.size)),
        )
    truth = rng.integers(0, 2, 2000)
    flipped = np.where(rng.random(truth.size) < 0.05, 1 - truth, truth)
    good_score = np.clip(0.15 + 0.7 * truth + rng.normal(0, 0.1, truth.size), 0, 1)
    common = {"n_classes": 2, "positive": 1, "average": "binary"}
    return (
        classification_metric(name, truth, flipped, score=good_score, **common),
        classification_metric(name, truth, rng.integers(0, 2, truth.size), score=rng.random(truth.size), **common),
    )


@pytest.mark.parametrize("name", list(MetricName), ids=str)
def test_direction_and_range_hold_for_the_formula(name: MetricName) -> None:
    facts = METRICS[name]
    good, poor = _values(name)
    assert (good > poor) == facts.higher_is_better
    for value in (good, poor):
        assert facts.low is None or value >= facts.low
        assert facts.high is None or value <= facts.high


@pytest.mark.parametrize("name", [name for name, facts in METRICS.items() if not facts.regression], ids=str)
def test_needs_scores_is_what_the_formula_needs(name: MetricName) -> None:
    labels = np.array([0, 1, 1, 0])
    compute = lambda: classification_metric(name, labels, labels, n_classes=2, positive=1, average="binary")  # noqa: E731
    if METRICS[name].needs_scores:
        with pytest.raises(ValueError, match="needs a score column"):
            compute()
    else:
        assert compute() == pytest.approx(0.0 if not METRICS[name].higher_is_better else 1.0)


@pytest.mark.parametrize("name", list(MetricName), ids=str)
def test_the_spec_takes_average_exactly_for_averaged_metrics(name: MetricName) -> None:
    facts = METRICS[name]
    spec = {
        "model": {"name": "m", "task": "regression" if facts.regression else "binaryClassification"},
        "schedule": {"interval": "1h"},
        "data": {
            "current": {"uri": "c.parquet"},
            "reference": {"uri": "r.parquet"},
            "columns": {"label": "y", "score": "s"} if not facts.regression else {"label": "y"},
        },
        "metrics": [{"name": str(name), "average": "macro"}],
    }
    if facts.averaged:
        assert parse_spec(spec).metrics[0].average == "macro"
    else:
        with pytest.raises(SpecError, match="average is for precision, recall and f1"):
            parse_spec(spec)
