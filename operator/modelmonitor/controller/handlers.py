"""Registers every handler with kopf: one module per resource, each thin, deciding with pure modules.

* ``runtime``: start-up, shared state, owners and Events;
* ``monitors``: ModelMonitor specs, schedule slots and run-now;
* ``runs``: MonitorRun execution (inline or Job) and recording on the monitor;
* ``retraining``: retraining objects started by what runs find, and their outcomes.
"""

from modelmonitor.controller import monitors, retraining, runs, runtime

__all__ = ["monitors", "retraining", "runs", "runtime"]
