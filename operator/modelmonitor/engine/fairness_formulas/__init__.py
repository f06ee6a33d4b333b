"""The fairness metrics' rates, one module each, named as the spec names the metric in snake case.

A module ends with ``FORMULA``, its :class:`~modelmonitor.engine.fairness.FairnessFormula`: the
rate each group is measured by, and the rows that rate is taken over. Whether the groups' rates
are compared by difference or by ratio, and whether the metric needs labels, is the metric's row
of ``modelmonitor.api.fairness``. Adding a metric is that row, a module here, and its tests
(``tests/engine/test_fairness.py`` holds the rows and the modules equal).
"""
