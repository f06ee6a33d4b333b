"""MLflow runs of a monitor: one per MonitorRun, found again by its name, so a retried record logs once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelmonitor.errors import RegistryError
from modelmonitor.tracking.client import Mlflow

RUN_TAG = "modelmonitor.run"  # the MonitorRun's name
_METRICS_PER_BATCH, _TAGS_PER_BATCH = 1000, 100  # MLflow's limits for one log-batch request


@dataclass(frozen=True)
class RunEntry:
    """What one MonitorRun logs: its name, its window (ms since the epoch), its numbers and its tags."""

    name: str
    start_ms: int
    end_ms: int  # the window's end: every metric is timestamped so
    metrics: dict[str, float]
    tags: dict[str, str] = field(default_factory=dict)


def experiment_id(server: Mlflow, name: str) -> str:
    """The experiment's id, made if it does not exist (another writer making it first is fine)."""
    doing = f"experiment {name!r}"
    try:
        return server.call("GET", "experiments/get-by-name", query={"experiment_name": name}, doing=doing)[
            "experiment"
        ]["experiment_id"]
    except RegistryError as error:
        if error.code != "RESOURCE_DOES_NOT_EXIST":
            raise
    try:
        return server.call("POST", "experiments/create", body={"name": name}, doing=f"creating {doing}")[
            "experiment_id"
        ]
    except RegistryError as error:
        if error.code != "RESOURCE_ALREADY_EXISTS":
            raise
    return experiment_id(server, name)


def find_run(server: Mlflow, experiment: str, run: str) -> dict[str, Any] | None:
    """The MLflow run logged for MonitorRun ``run``, if any (its ``info``)."""
    quoted = run.replace("'", "")  # a MonitorRun's name is a DNS name: never a quote
    body = {"experiment_ids": [experiment], "filter": f"tags.`{RUN_TAG}` = '{quoted}'", "max_results": 1}
    found = server.call("POST", "runs/search", body=body, doing=f"the MLflow run of {run}").get("runs") or []
    return found[0]["info"] if found else None


def log_run(server: Mlflow, experiment: str, entry: RunEntry) -> tuple[str, bool]:
    """Log ``entry`` as an MLflow run of ``experiment``; its run id, and whether anything was logged now.

    A run already FINISHED for this MonitorRun is left as it is. One left unfinished (a crash
    in between) is completed: MLflow keeps a metric once per key, timestamp, step and value.
    """
    exp = experiment_id(server, experiment)
    existing = find_run(server, exp, entry.name)
    if existing is not None and existing.get("status") == "FINISHED":
        return existing["run_id"], False
    if existing is not None:
        run_id = existing["run_id"]
    else:
        body = {
            "experiment_id": exp,
            "run_name": entry.name,
            "start_time": entry.start_ms,
            "tags": [{"key": key, "value": value} for key, value in {**entry.tags, RUN_TAG: entry.name}.items()],
        }
        run_id = server.call("POST", "runs/create", body=body, doing=f"creating the MLflow run of {entry.name}")["run"][
            "info"
        ]["run_id"]
    metrics = [
        {"key": key, "value": value, "timestamp": entry.end_ms, "step": 0} for key, value in entry.metrics.items()
    ]
    tags = [{"key": key, "value": value} for key, value in entry.tags.items()]
    doing = f"logging {entry.name}"
    for first in range(0, len(metrics), _METRICS_PER_BATCH):
        batch = {"run_id": run_id, "metrics": metrics[first : first + _METRICS_PER_BATCH]}
        server.call("POST", "runs/log-batch", body=batch, doing=doing)
    for first in range(0, len(tags), _TAGS_PER_BATCH):
        server.call(
            "POST",
            "runs/log-batch",
            body={"run_id": run_id, "tags": tags[first : first + _TAGS_PER_BATCH]},
            doing=doing,
        )
    finish = {"run_id": run_id, "status": "FINISHED", "end_time": entry.end_ms}
    server.call("POST", "runs/update", body=finish, doing=f"finishing {entry.name}")
    return run_id, True
