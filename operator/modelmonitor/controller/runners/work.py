"""What the check processes run for runs (``offload``): entry points that import the checks only when called.

The operator's own process imports this module to name the functions; the science stack
(pandas, pyarrow, scipy, scikit-learn) loads in the worker processes alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.api.results import Results
from modelmonitor.controller.runners.evaluation import error_status, evaluate
from modelmonitor.errors import ModelMonitorError
from modelmonitor.times import parse_iso


def data_size(spec: ModelMonitorSpec, env: Mapping[str, str] | None, now: datetime | None = None) -> int | None:
    """How many bytes a run at ``now`` reads from the current and reference data, if known; raises
    ModelMonitorError when unreadable."""
    from modelmonitor.checks import data_bytes

    return data_bytes(spec, env, now)


def write_tensorboard(results: Results, log_dir: str, run: str, credentials: Mapping[str, str] | None) -> str:
    """Write a run as TensorBoard scalars into ``log_dir`` (the writer and the storage's client load
    here, not in the operator); where it went. Raises ModelMonitorError."""
    from modelmonitor.data.table import storage_options
    from modelmonitor.exports.tensorboard import write_run

    return write_run(results, log_dir, run, storage_options(log_dir, credentials))


def evaluate_run(
    monitor: str,
    spec: ModelMonitorSpec,
    run_spec: Mapping[str, Any],
    env: Mapping[str, str] | None,
    dask_scheduler: str | None,
    max_bytes: int | None = None,
) -> dict[str, Any]:
    """A run's final status; with ``dask_scheduler``, the feature work goes to that cluster's workers.

    With ``max_bytes`` (the inline limit), data larger than that is refused with an Error
    that says to use a Job, before any of it is read: here, not in a call of its own, so
    a run costs one round trip to a check process. A model in a registry is resolved
    first, once, and both the size and the checks read that version.
    """
    from modelmonitor.checks.model_registry import resolved

    now = parse_iso(run_spec["evaluateAt"])
    try:
        spec = resolved(spec, env)  # once: the size and the checks are of the same version, at one registry call
    except ModelMonitorError as error:
        return error_status(error.reason, str(error))
    if max_bytes is not None and (refusal := _over_limit(spec, env, max_bytes, now)) is not None:
        return refusal
    measurer = None
    if dask_scheduler is not None:
        from modelmonitor.distributed import DaskMeasurer

        measurer = DaskMeasurer(dask_scheduler, env=env)
    return evaluate(monitor, spec, run_spec, env, measurer)


def _over_limit(
    spec: ModelMonitorSpec, env: Mapping[str, str] | None, max_bytes: int, now: datetime
) -> dict[str, Any] | None:
    try:
        size = data_size(spec, env, now)
    except ModelMonitorError:
        return None  # the evaluation reports the unreadable data, naming the file
    if size is None or size <= max_bytes:
        return None
    message = (
        f"the data is {size / 2**20:.0f} MiB, over the inline limit of {max_bytes / 2**20:.0f} MiB: "
        "set spec.runner to job"
    )
    return error_status("InlineDataTooLarge", message)
