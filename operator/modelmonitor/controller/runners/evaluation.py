"""One run's evaluation, as a MonitorRun status; shared by the inline runner and the Job."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.errors import ModelMonitorError
from modelmonitor.times import iso, parse_iso, precise_iso

if TYPE_CHECKING:
    from modelmonitor.checks.executors import Measurer

TERMINAL_PHASES = frozenset({"Succeeded", "Error"})
_log = logging.getLogger(__name__)


def succeeded_condition(status: str, reason: str, message: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "Succeeded",
            "status": status,
            "reason": reason,
            "message": message[:1000],
            "lastTransitionTime": iso(datetime.now(UTC)),
        }
    ]


def error_status(reason: str, message: str, *, started_at: str | None = None) -> dict[str, Any]:
    now = iso(datetime.now(UTC))
    return {
        "phase": "Error",
        "reason": reason,
        "message": message[:2000],
        "completedAt": now,
        "startedAt": started_at or now,
        "conditions": succeeded_condition("False", reason, message),
    }


def evaluate(
    monitor: str,
    spec: ModelMonitorSpec,
    run_spec: Mapping[str, Any],
    env: Mapping[str, str] | None,
    measurer: Measurer | None = None,
) -> dict[str, Any]:
    """Run the checks for a MonitorRun and return its final status; never raises for bad data."""
    from modelmonitor.checks import run_checks  # here: the operator's own process never loads the checks

    started, clock = iso(datetime.now(UTC)), time.monotonic()
    try:
        results = run_checks(spec, now=parse_iso(run_spec["evaluateAt"]), name=monitor, env=env, measurer=measurer)
    except ModelMonitorError as error:
        return error_status(error.reason, str(error), started_at=started)
    except Exception as error:  # a bug must end the run as an Error, not loop the operator
        _log.exception("run of %s failed", monitor)
        return error_status("InternalError", f"{type(error).__name__}: {error}", started_at=started)
    document = results.to_document()
    return {
        "phase": "Succeeded",
        "startedAt": started,
        "completedAt": precise_iso(datetime.now(UTC)),
        "durationSeconds": round(time.monotonic() - clock, 3),
        "reason": "Evaluated",
        "message": f"verdict {document['verdict']}",
        "results": document,
        "conditions": succeeded_condition("True", "Evaluated", f"verdict {document['verdict']}"),
    }
