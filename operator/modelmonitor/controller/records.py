"""What a finished run changes on its ModelMonitor: conditions, lastRun, and which runs to prune."""

from __future__ import annotations

from typing import Any

from modelmonitor.controller.execution import TERMINAL_PHASES


def run_order(run: dict[str, Any]) -> tuple[str, str]:
    """Creation time (whole seconds), then completion time (microseconds): a total order of runs.

    Never the name, which is a hash for run-now runs.
    """
    return (run["metadata"].get("creationTimestamp") or "", (run.get("status") or {}).get("completedAt") or "")


def last_run_summary(run: dict[str, Any], generation: int) -> dict[str, Any]:
    status, spec = run.get("status") or {}, run["spec"]
    results = status.get("results") or {}
    metrics = {m["name"]: m["value"] for m in results.get("metrics", []) if m.get("value") is not None}
    drift = results.get("drift")
    summary = " ".join(f"{name}={value:.4g}" for name, value in metrics.items())
    if drift:
        summary += f" drift={drift['driftedShare']:.0%}"
    return {
        "name": run["metadata"]["name"],
        "trigger": spec.get("trigger"),
        "runner": spec.get("runner"),
        "generation": spec.get("generation", generation),
        "createdAt": run["metadata"].get("creationTimestamp"),
        "evaluateAt": spec.get("evaluateAt"),
        "startedAt": status.get("startedAt"),
        "completedAt": status.get("completedAt"),
        "phase": status.get("phase"),
        "verdict": results.get("verdict", "Error"),
        "healthy": bool(results.get("healthy", False)),
        "reason": status.get("reason", ""),
        "message": status.get("message", ""),
        "summary": summary.strip() or status.get("reason", ""),
        "metrics": metrics,
        "driftedShare": drift["driftedShare"] if drift else None,
        "driftedFeatures": [f["feature"] for f in drift["features"] if f["drifted"]] if drift else [],
        "windowStart": (results.get("window") or {}).get("start"),
        "windowEnd": (results.get("window") or {}).get("end"),
    }


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
