"""Runner inline: the checks run in one of the operator's check processes (see ``offload``).

Data over --inline-max-bytes is refused before any of it is read, with an Error that says
to use a Job.
"""

from __future__ import annotations

from modelmonitor.controller.config import CONFIG
from modelmonitor.controller.runners.base import Execution
from modelmonitor.controller.runners.offloaded import evaluate_offloaded


class InlineRunner:
    name = "inline"

    async def start(self, execution: Execution) -> None:
        await evaluate_offloaded(execution, runner=self.name, dask_scheduler=None, max_bytes=CONFIG.inline_max_bytes)


RUNNER = InlineRunner()
