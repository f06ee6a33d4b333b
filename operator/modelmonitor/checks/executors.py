"""Where a check's work runs: stage functions, the tasks made of them, and the measurers that run tasks.

A stage is ``function(context, *args)``; an :class:`Executor` runs it where the check's
data can be read and returns a handle that later stages take as an argument. A
:class:`Task` submits its stages (a map over partitions and a merge, or one function) and
returns the handle of its result. A :class:`Measurer` runs a check's tasks, here on this
process's threads, or on a Dask cluster (``modelmonitor.distributed.DaskMeasurer``), and
says where they ran.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from modelmonitor.api.results import RanOn
from modelmonitor.checks.context import CheckContext


class Executor(Protocol):
    """Runs stage functions ``function(context, *args)`` where the check's data can be read.

    Returns a handle to the result; handles may be passed (also inside lists) as arguments
    of later stages, which then receive the results.
    """

    def submit(self, function: Callable[..., Any], *args: Any) -> Any: ...


class InProcess:
    """Runs each stage at once, in this process: a handle is the result itself."""

    def __init__(self, context: CheckContext) -> None:
        self.context = context

    def submit(self, function: Callable[..., Any], *args: Any) -> Any:
        return function(self.context, *args)


class Task(Protocol):
    """Some of a check's work: its stages, submitted to an executor."""

    def submit(self, context: CheckContext, executor: Executor) -> Any:
        """The handle of the task's result."""
        ...


class Measurer(Protocol):
    """Runs a check's tasks, in this process or elsewhere, and says where they ran."""

    def measure(self, context: CheckContext, tasks: Sequence[Task]) -> list[Any]:
        """The results, in the tasks' order."""
        ...

    def ran_on(self) -> RanOn: ...


class LocalMeasurer:
    """Two threads of this process (the column reads and sorts release the GIL)."""

    def __init__(self) -> None:
        self.threads = min(2, os.cpu_count() or 1)

    def measure(self, context: CheckContext, tasks: Sequence[Task]) -> list[Any]:
        executor = InProcess(context)
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            return list(pool.map(lambda task: task.submit(context, executor), tasks))

    def ran_on(self) -> RanOn:
        return RanOn("local", workers=self.threads)
