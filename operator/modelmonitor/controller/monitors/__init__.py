"""ModelMonitor handlers, each module registering its own with kopf when imported here.

* ``acceptance``: accept the spec (the Ready condition), and a run when the spec changes;
* ``scheduler``: track the watched monitors and wake each at its next slot, retraining or backstop;
* ``run_creation``: create a MonitorRun (for a slot, a spec change or run-now), and the index of runs.
"""

from modelmonitor.controller.monitors import acceptance, run_creation, scheduler

__all__ = ["acceptance", "run_creation", "scheduler"]
