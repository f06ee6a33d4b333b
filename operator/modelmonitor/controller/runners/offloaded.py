"""A run evaluated in one of the operator's check processes: what runners inline and dask share."""

from __future__ import annotations

import asyncio
import logging

from modelmonitor.controller.offload import CheckProcessDied
from modelmonitor.controller.runners.base import Execution
from modelmonitor.controller.runners.evaluation import error_status
from modelmonitor.controller.runners.work import evaluate_run
from modelmonitor.controller.runtime import STATE, api, now
from modelmonitor.times import iso

# an evaluation quicker than this goes from Pending to its end in one status write: a fleet's
# quick inline runs would otherwise cost a write and a watch event more each
SHOW_RUNNING_AFTER = 2.0  # seconds
_log = logging.getLogger(__name__)


async def evaluate_offloaded(
    execution: Execution, *, runner: str, dask_scheduler: str | None, max_bytes: int | None
) -> None:
    """Evaluate in a check process, showing Running if it takes a while, and write the final status."""
    namespace, name = execution.namespace, execution.name
    started = execution.started_at or iso(now())
    _log.info("evaluating %s/%s (%s runner)", namespace, name, runner)
    evaluation = asyncio.ensure_future(
        STATE.checks.call(
            evaluate_run,
            execution.run["spec"]["monitor"],
            execution.spec,
            dict(execution.run["spec"]),
            execution.env,
            dask_scheduler,
            max_bytes,
        )
    )
    try:
        if not (await asyncio.wait({evaluation}, timeout=SHOW_RUNNING_AFTER))[0]:
            running = {"phase": "Running", "startedAt": started, "runner": runner}
            await api(STATE.kube.patch_run_status, namespace, name, running)
        final = await evaluation
    except CheckProcessDied as error:
        final = error_status("CheckProcessDied", str(error), started_at=started)
    finally:
        evaluation.cancel()  # when writing Running failed: the retry evaluates anew
    await api(STATE.kube.patch_run_status, namespace, name, {**final, "runner": runner})
    _log.info("evaluated %s/%s: %s", namespace, name, final["phase"])
