"""A recorded run's results written where the monitor's ``spec.export`` says, beside its status.

An export that fails is told (an ``ExportFailed`` Event, the reconcile-error counter) and the
run is recorded all the same: a tool that cannot be reached never holds a monitor's history.
The writers are ``modelmonitor.exports``; they run in a check process (``offload``), as the
checks do, so the operator's process never loads the science stack they bring.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from modelmonitor.api.results import Results
from modelmonitor.controller import metrics
from modelmonitor.controller.offload import CheckProcessDied
from modelmonitor.controller.runners.work import write_tensorboard
from modelmonitor.controller.runtime import STATE, accept, credentials
from modelmonitor.errors import ModelMonitorError, SpecError

_log = logging.getLogger(__name__)


async def export_to_tensorboard(monitor: dict[str, Any], run: str, results: Results) -> str | None:
    """Write the run as TensorBoard scalars into ``spec.export.tensorboard.logDir``; where it went, or None."""
    namespace, name = monitor["metadata"]["namespace"], monitor["metadata"]["name"]
    try:
        spec = accept(monitor)
    except SpecError:
        return None  # nothing is exported while the spec is invalid; its condition says why
    if spec.export is None or spec.export.tensorboard is None:
        return None
    log_dir = spec.export.tensorboard.log_dir
    try:
        env = await credentials(spec, namespace)
        written = await STATE.checks.call(write_tensorboard, results, log_dir, run, env)
    except (ModelMonitorError, CheckProcessDied) as error:  # the writer, the storage, the credentials
        metrics.count_reconcile_error(namespace, name, "tensorboard")
        told = f"spec.export.tensorboard: {error}"[:1000]
        _log.warning("exporting %s of %s/%s failed: %s", run, namespace, name, told)
        kopf.warn(monitor, reason="ExportFailed", message=told)
        return None
    _log.info("exported %s of %s/%s to %s", run, namespace, name, written)
    return written
