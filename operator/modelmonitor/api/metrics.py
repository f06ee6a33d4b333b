"""The performance metrics: what each one needs, where its values lie, and which way is better.

One table, ``METRICS``: the spec's ``MetricName`` (and so the CRD's enum), the spec's checks
of a metric against the task and columns, the CRD's CEL rules, the direction of every
comparison and interval, and the metrics performance estimation covers are all read from it.
Declared once, as scikit-learn's ``make_scorer(..., greater_is_better=False,
response_method="predict_proba")`` declares a scorer's direction and needs.  The formulas
live in ``modelmonitor.engine`` (pure numpy), keyed by these names.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelmonitor.api.vocabulary import vocabulary


@dataclass(frozen=True)
class MetricDefinition:
    """One metric's facts.

    ``needs_scores``: computed from a positive-class score per row (a binary task's
    ``data.columns.score``), not from predicted labels.  ``averaged``: a per-class metric
    that takes ``average`` (binary, macro or weighted).  ``low`` and ``high``: where its
    values lie (None: unbounded), so a threshold outside can never be met, or never broken.
    """

    regression: bool
    higher_is_better: bool
    low: float | None
    high: float | None
    needs_scores: bool = False
    averaged: bool = False


METRICS_BY_NAME: dict[str, MetricDefinition] = {
    # name: regression, higher is better, low, high
    "accuracy": MetricDefinition(False, True, 0.0, 1.0),
    "precision": MetricDefinition(False, True, 0.0, 1.0, averaged=True),
    "recall": MetricDefinition(False, True, 0.0, 1.0, averaged=True),
    "f1": MetricDefinition(False, True, 0.0, 1.0, averaged=True),
    "rocAuc": MetricDefinition(False, True, 0.0, 1.0, needs_scores=True),
    "logLoss": MetricDefinition(False, False, 0.0, None, needs_scores=True),
    "balancedAccuracy": MetricDefinition(False, True, 0.0, 1.0),
    "mae": MetricDefinition(True, False, 0.0, None),
    "rmse": MetricDefinition(True, False, 0.0, None),
    "mape": MetricDefinition(True, False, 0.0, None),  # a fraction, as scikit-learn's
    "r2": MetricDefinition(True, True, None, 1.0),
}


MetricName = vocabulary("MetricName", METRICS_BY_NAME, module=__name__)
METRICS: dict[MetricName, MetricDefinition] = {MetricName(name): facts for name, facts in METRICS_BY_NAME.items()}

# Views of the table, for the places that test membership (the spec's checks, the CRD's rules)
CLASSIFICATION_METRICS = frozenset(name for name, facts in METRICS.items() if not facts.regression)
REGRESSION_METRICS = frozenset(name for name, facts in METRICS.items() if facts.regression)
SCORE_METRICS = frozenset(name for name, facts in METRICS.items() if facts.needs_scores)
AVERAGED_METRICS = frozenset(name for name, facts in METRICS.items() if facts.averaged)
METRIC_RANGES = {name: (facts.low, facts.high) for name, facts in METRICS.items()}
