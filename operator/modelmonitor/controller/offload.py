"""Checks in worker processes: the operator's own process stays small and its event loop keeps the GIL.

One small inline check held the GIL for about 20 ms: at a thousand monitors on a minute
that was a quarter of the one core an operator process gets, and importing the science
stack (pandas, pyarrow, scipy, scikit-learn) took 190 MB of its memory. Here the checks
run in a pool of worker processes, started on the first call and kept. Each call holds a
slot, so no call waits inside the pool: a worker that dies (the kernel's OOM killer, a
crash in a native library) breaks only the calls running then. Those are tried once more
in a fresh pool, and a call that breaks two pools raises ``CheckProcessDied``.

The workers come from a fork server (the operator has threads: it must not fork itself)
that imports the science stack once, before it forks them: the pages it filled are shared
by every worker until one writes to them (``preloaded``). At 1,000 monitors the operator's
pod held 469 MB this way against 560 MB when each worker imported the stack itself
(spawned; docs/performance.md), and a replacement starts without importing anything.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
# what every check imports, loaded by the fork server and shared by the workers it forks
PRELOADED = ["modelmonitor.controller.preloaded"]
_log = logging.getLogger(__name__)


class CheckProcessDied(RuntimeError):
    """A call's worker process ended abruptly twice (killed, out of memory, or crashed)."""


class CheckProcesses:
    """``await call(fn, *args)`` runs ``fn(*args)`` in a worker process; at most ``processes`` at once."""

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1, not {processes}")
        self.processes = processes
        self._slots = asyncio.Semaphore(processes)
        self._pool: ProcessPoolExecutor | None = None

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        async with self._slots:
            for _ in range(2):
                pool, future = self._submit(fn, args)
                try:
                    return await asyncio.wrap_future(future)
                except BrokenProcessPool:
                    _log.warning("a check process ended abruptly while running %s; starting a fresh one", fn.__name__)
                    self._discard(pool)
            raise CheckProcessDied(
                f"the process running the check ({fn.__name__}) ended abruptly twice: killed, out of memory, "
                "or crashed; see the operator's log and its memory limit"
            )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _submit(self, fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[ProcessPoolExecutor, Future[T]]:
        for _ in range(2):
            pool = self._current()
            try:
                return pool, pool.submit(fn, *args)
            except BrokenProcessPool:  # broken by another call's worker before this one was sent
                self._discard(pool)
        raise CheckProcessDied("the check processes cannot be started; see the operator's log")

    def _current(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOADED)
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=context,
                initializer=_start_worker,
                initargs=(os.getpid(), _started(os.getpid()), logging.getLogger("modelmonitor").getEffectiveLevel()),
            )
        return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)


def _start_worker(operator_pid: int, operator_started: str | None, level: int) -> None:
    logging.basicConfig(level=level, format="[%(asctime)s] %(name)-20.20s [%(levelname)-8.8s] %(message)s")
    # A worker outliving a SIGKILLed operator would hold its memory for nothing. Not its
    # parent's end: that is the fork server, which lives until every worker has let go of
    # the pipe that tells it the operator is gone.
    watch = threading.Thread(
        target=_exit_with, args=(operator_pid, operator_started), daemon=True, name="exit-with-operator"
    )
    watch.start()


def _exit_with(operator_pid: int, operator_started: str | None) -> None:
    while _started(operator_pid) == operator_started:
        time.sleep(1.0)
    os._exit(0)


def _started(pid: int) -> str | None:
    """When the process started (in clock ticks since boot); None once it has ended, reaped or not.

    With the pid alone, a new process given the same number would pass for the operator.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return None if fields[0] in ("Z", "X") else fields[19]
