"""Run a ModelMonitor's checks once: read through the data layer, judge with the engine.

This is the only place where the data layer and the engine meet; the CLI, the ``job``
runner and the operator's inline runner all call :func:`run_checks`.
"""

from modelmonitor.checks.run import data_bytes, run_checks

__all__ = ["data_bytes", "run_checks"]
