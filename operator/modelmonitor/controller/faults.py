"""Fault injection for restart-safety tests.

``MODELMONITOR_FAULT=<point>`` makes the operator die at that point as abruptly as a
SIGKILL would, so a test can prove that a restart neither loses nor repeats the step.
Unset (always, outside tests), it does nothing.
"""

from __future__ import annotations

import os

AFTER_RETRAINING_CREATED = "after-retraining-created"
BEFORE_ROUTER_PATCH = "before-router-patch"


def crash_point(point: str) -> None:
    if os.environ.get("MODELMONITOR_FAULT") == point:
        os._exit(137)
