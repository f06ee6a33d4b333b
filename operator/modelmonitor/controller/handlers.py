"""Registers every handler with kopf: one module per resource, each thin, deciding with pure modules.

* ``runtime``: start-up, shared state, owners and Events;
* ``monitors``: ModelMonitor specs, schedule slots and run-now;
* ``runs``: MonitorRun execution (inline or Job) and recording on the monitor;
* ``retraining``: retraining objects started by what runs find, and their outcomes;
* ``rollouts``: ModelRollouts, which move traffic between two versions by their quality;
* ``webview``: the read-only pages on the HTTP port, from an index of the watched monitors.
"""

from modelmonitor.controller import monitors, retraining, runs, runtime, webview
from modelmonitor.controller.rollouts import handlers as rollouts

__all__ = ["monitors", "retraining", "rollouts", "runs", "runtime", "webview"]
