"""What a finished run changes on its ModelMonitor: conditions, lastRun, and which runs to prune."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from modelmonitor.api.results import Results
from modelmonitor.controller.runners.evaluation import TERMINAL_PHASES


def run_order(run: dict[str, Any]) -> tuple[str, str]:
    """Creation time (whole seconds), then completion time (microseconds): a total order of runs.

    Never the name, which is a hash for run-now runs.
    """
    return (run["metadata"].get("creationTimestamp") or "", (run.get("status") or {}).get("completedAt") or "")


def run_results(run: Mapping[str, Any]) -> Results | None:
    """The results a finished run stored in its status, typed; None when it stored none.

    Raises :class:`DocumentError` when they cannot be read (a value of the wrong kind).
    """
    document = (run.get("status") or {}).get("results")
    return Results.from_document(document) if document else None


def last_run_summary(run: dict[str, Any], generation: int, results: Results | None) -> dict[str, Any]:
    """What the monitor's status says of its last run; ``results`` as read by :func:`run_results`.

    A key without a value is None: :func:`replacing` leaves it out of the patch, or clears it.
    """
    status, spec = run.get("status") or {}, run["spec"]
    metrics = {m.name: m.value for m in results.metrics if not math.isnan(m.value or math.nan)} if results else {}
    drift = results.drift if results else None
    share = drift.drifted_share if drift and not math.isnan(drift.drifted_share) else None
    summary = " ".join(f"{name}={value:.4g}" for name, value in metrics.items())
    if share is not None:
        summary += f" drift={share:.0%}"
    found = {
        "name": run["metadata"]["name"],
        "trigger": spec.get("trigger"),
        "runner": spec.get("runner"),
        "generation": spec.get("generation", generation),
        "createdAt": run["metadata"].get("creationTimestamp"),
        "evaluateAt": spec.get("evaluateAt"),
        "startedAt": status.get("startedAt"),
        "completedAt": status.get("completedAt"),
        "phase": status.get("phase"),
        "verdict": results.verdict.value if results else "Error",
        "healthy": results.healthy if results else False,
        "reason": status.get("reason", ""),
        "message": status.get("message", ""),
        "summary": summary.strip() or status.get("reason", ""),
        "metrics": metrics,
        "driftedShare": share,
        "driftedFeatures": [f.feature for f in drift.features if f.drifted] if drift else [],
        "windowStart": results.window.start if results else None,
        "windowEnd": results.window.end if results else None,
        "modelVersion": results.model_version if results else None,  # a registry's alias, as resolved for the run
    }
    return found


def replacing(previous: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch that turns ``previous`` into ``new``, where a None in ``new`` means "no value".

    A merge patch merges objects key by key, so a summary written over the last one would
    keep the keys it no longer has (a metric that has no value this time would show last
    run's). Those keys are set to null on purpose, the one way to delete them; a key that
    has no value now and had none before is left out, never written as null.
    """
    before = previous or {}
    patch: dict[str, Any] = {key: None for key in before if new.get(key) is None}
    for key, value in new.items():
        if isinstance(value, Mapping):
            older = before.get(key)
            patch[key] = replacing(older if isinstance(older, Mapping) else None, value)
        elif value is not None:
            patch[key] = value
    return patch


def is_newer(run: dict[str, Any], last_run: dict[str, Any] | None) -> bool:
    """Whether a finished run should replace the recorded one: it comes later in ``run_order``."""
    if not last_run:
        return True
    return run_order(run) > (last_run.get("createdAt") or "", last_run.get("completedAt") or "")


def is_unrecorded(run: dict[str, Any], last_run: dict[str, Any] | None) -> bool:
    """Whether a finished run is still to be recorded: not the recorded one, and later than it."""
    return not (last_run and last_run.get("name") == run["metadata"]["name"]) and is_newer(run, last_run)


def runs_to_prune(runs: list[dict[str, Any]], *, keep_succeeded: int, keep_failed: int, protect: str) -> list[str]:
    """Names of finished runs beyond the history limits, oldest first kept out."""
    finished = sorted(
        (r for r in runs if (r.get("status") or {}).get("phase") in TERMINAL_PHASES), key=run_order, reverse=True
    )
    succeeded = [r for r in finished if r["status"]["phase"] == "Succeeded"]
    failed = [r for r in finished if r["status"]["phase"] != "Succeeded"]
    doomed = succeeded[keep_succeeded:] + failed[keep_failed:]
    return [r["metadata"]["name"] for r in doomed if r["metadata"]["name"] != protect]
