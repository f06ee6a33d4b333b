"""Registers every handler with kopf: one module per resource, each thin, deciding with pure modules.

* ``lifecycle``: start-up (kopf's settings, the shared state, the HTTP port and its routes) and clean-up;
* ``monitors``: ModelMonitor specs, schedule slots and run-now;
* ``runs``: MonitorRun execution (by its runner) and recording on the monitor;
* ``runners.job``: the run Jobs and their Pods, judged strictly;
* ``retraining``: retraining objects started by what runs find, and their outcomes;
* ``rollouts``: ModelRollouts, which move traffic between two versions by their quality;
* ``webview``: the read-only pages on the HTTP port, from an index of the watched monitors.
"""

from modelmonitor.controller import lifecycle, monitors, retraining, runs, webview
from modelmonitor.controller.rollouts import handlers as rollouts
from modelmonitor.controller.runners import job

__all__ = ["job", "lifecycle", "monitors", "retraining", "rollouts", "runs", "webview"]
