"""A recorded run's results written where the monitor says, beside its status: ``spec.export`` (TensorBoard)
and ``model.mlflow`` (an MLflow run per MonitorRun).

An export that fails is told (an ``ExportFailed`` Event, the reconcile-error counter) and the
run is recorded all the same: a tool that cannot be reached never holds a monitor's history.
The writers are ``modelmonitor.exports``. TensorBoard's runs in a check process (``offload``), as
the checks do, so the operator's process never loads the science stack it brings; MLflow's is
plain HTTP and runs on a thread.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.api.results import Results
from modelmonitor.controller import metrics
from modelmonitor.controller.offload import CheckProcessDied
from modelmonitor.controller.runners.work import write_tensorboard
from modelmonitor.controller.runtime import STATE, accept, credentials, mlflow_server
from modelmonitor.errors import ModelMonitorError, SpecError
from modelmonitor.exports.mlflow_runs import log_results

_log = logging.getLogger(__name__)


async def export_to_tensorboard(monitor: dict[str, Any], run: str, results: Results) -> str | None:
    """Write the run as TensorBoard scalars into ``spec.export.tensorboard.logDir``; where it went, or None."""
    namespace = monitor["metadata"]["namespace"]
    spec = _spec(monitor)
    if spec is None or spec.export is None or spec.export.tensorboard is None:
        return None
    log_dir = spec.export.tensorboard.log_dir
    try:
        env = await credentials(spec, namespace)
        written = await STATE.checks.call(write_tensorboard, results, log_dir, run, env)
    except (ModelMonitorError, CheckProcessDied) as error:  # the writer, the storage, the credentials
        _failed(monitor, run, "tensorboard", f"spec.export.tensorboard: {error}")
        return None
    _log.info("exported %s of %s/%s to %s", run, namespace, monitor["metadata"]["name"], written)
    return written


async def export_to_mlflow(monitor: dict[str, Any], run: str, results: Results) -> str | None:
    """Log the run as an MLflow run of the monitor's experiment (``model.mlflow``); its MLflow run id, or None."""
    namespace, name = monitor["metadata"]["namespace"], monitor["metadata"]["name"]
    spec = _spec(monitor)
    if spec is None or spec.model.mlflow is None or not spec.model.mlflow.log_runs:
        return None
    try:
        server = await mlflow_server(spec, namespace)
        run_id, logged = await asyncio.to_thread(log_results, server, namespace, name, run, results)
    except ModelMonitorError as error:
        _failed(monitor, run, "mlflow", f"model.mlflow: {error}")
        return None
    if logged:
        _log.info("logged %s of %s/%s to MLflow as run %s", run, namespace, name, run_id)
    return run_id


def _spec(monitor: dict[str, Any]) -> ModelMonitorSpec | None:
    try:
        return accept(monitor)
    except SpecError:
        return None  # nothing is exported while the spec is invalid; its condition says why


def _failed(monitor: dict[str, Any], run: str, stage: str, told: str) -> None:
    namespace, name = monitor["metadata"]["namespace"], monitor["metadata"]["name"]
    metrics.count_reconcile_error(namespace, name, stage)
    _log.warning("exporting %s of %s/%s failed: %s", run, namespace, name, told)
    kopf.warn(monitor, reason="ExportFailed", message=told[:1000])
