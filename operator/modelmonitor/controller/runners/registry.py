"""The runners, registered in one place: the run handler picks one by name, and ``auto`` is decided here."""

from __future__ import annotations

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.api.runner import Runner
from modelmonitor.controller.config import CONFIG
from modelmonitor.controller.runners import dask, inline, job
from modelmonitor.controller.runners.base import RunExecutor
from modelmonitor.controller.runners.work import data_size
from modelmonitor.controller.runtime import STATE, credentials
from modelmonitor.errors import ModelMonitorError, SpecError

RUNNERS: dict[str, RunExecutor] = {runner.name: runner for runner in (inline.RUNNER, job.RUNNER, dask.RUNNER)}


def runner_for(name: str) -> RunExecutor:
    """The runner a MonitorRun's spec.runner names; a SpecError for a name no runner has."""
    try:
        return RUNNERS[name]
    except KeyError:
        raise SpecError(f"spec.runner: no runner {name!r}; one of {', '.join(sorted(RUNNERS))}") from None


async def choose_runner(spec: ModelMonitorSpec, namespace: str) -> str:
    """The runner of a new run: the spec's, or for ``auto`` inline while the data fits --inline-max-bytes."""
    if spec.runner is not Runner.AUTO:
        return str(spec.runner)
    try:
        env = await credentials(spec, namespace)
        size = await STATE.checks.call(data_size, spec, env)
    except ModelMonitorError:
        return inline.RUNNER.name  # the inline run reports the unreadable data at once
    return inline.RUNNER.name if size is not None and size <= CONFIG.inline_max_bytes else job.RUNNER.name
