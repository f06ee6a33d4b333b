"""A monitor's runs in MLflow: one MLflow run per MonitorRun, in the experiment ``modelmonitor/NAMESPACE/MONITOR``.

Its metrics are the run's numbers (``exports.scalars``, the names TensorBoard shows), each
timestamped at the window's end, so the MLflow UI plots production figures on the time the
data is from, beside the training runs' own. Its tags name the model version (as the
registry's alias resolved for the run) and the verdict. The MonitorRun's name is a tag too:
logging a run again (a retried record, the operator restarted) finds it and logs nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from modelmonitor.api.results import Results
from modelmonitor.exports.scalars import scalars
from modelmonitor.tracking.client import Mlflow
from modelmonitor.tracking.runs import RunEntry, log_run

PREFIX = "modelmonitor"


def experiment_name(namespace: str, monitor: str) -> str:
    return f"{PREFIX}/{namespace}/{monitor}"


def _ms(instant: str) -> int:
    return int(datetime.fromisoformat(instant).timestamp() * 1000)


def entry_of(results: Results, run: str, namespace: str, monitor: str) -> RunEntry:
    """What MonitorRun ``run`` logs: its scalars, its window, and tags for finding and filtering it."""
    end = _ms(results.window.end)
    tags = {
        "mlflow.source.name": "modelmonitor",
        f"{PREFIX}.namespace": namespace,
        f"{PREFIX}.monitor": monitor,
        f"{PREFIX}.model": results.model,
        f"{PREFIX}.model.version": results.model_version or "",
        f"{PREFIX}.verdict": results.verdict.value,
        f"{PREFIX}.healthy": str(results.healthy).lower(),
    }
    start = _ms(results.window.start) if results.window.start else end
    return RunEntry(name=run, start_ms=start, end_ms=end, metrics=scalars(results), tags=tags)


def log_results(server: Mlflow, namespace: str, monitor: str, run: str, results: Results) -> tuple[str, bool]:
    """Log MonitorRun ``run``'s results; the MLflow run's id, and whether it was logged now (not before)."""
    return log_run(server, experiment_name(namespace, monitor), entry_of(results, run, namespace, monitor))
