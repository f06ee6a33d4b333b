"""The performance metrics' formulas, one module each, named as the spec names the metric in snake case.

A module holds the metric's formula in each form and ends with ``FORMULA``, its
:class:`~modelmonitor.engine.metric_definition.MetricFormula`.  ``modelmonitor.engine.metrics``
imports the module of every ``MetricName`` and dispatches to them; the facts the spec checks
(direction, range, whether it needs scores, whether it is averaged) are the metric's row of
``modelmonitor.api.metrics``, which imports no statistics.

Adding a metric is that row, a module here, and its tests (``tests/engine/test_metric_registry.py``
holds the rows and the modules equal).
"""
