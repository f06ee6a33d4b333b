"""One scheduler for every monitor: a queue of due times, and a loop that sleeps until the earliest.

A kopf timer per object wakes every few seconds whether anything is due or not: a
thousand monitors meant two hundred handler calls a second, each parsing its spec, to
start about seventeen runs a second. Here each monitor has one due time (its next slot,
its retraining's, or a backstop); the loop sleeps until the earliest, wakes early when
a watch event brings an earlier one, and ticks the due monitors, a bounded number at once
and never one monitor twice at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from modelmonitor.controller.backoff import Backoff

K = TypeVar("K", bound=Hashable)
_log = logging.getLogger(__name__)


class DueQueue(Generic[K]):
    """Each key's one due time; the earliest first. Setting a key again replaces its time."""

    def __init__(self) -> None:
        self._due: dict[K, datetime] = {}
        self._heap: list[tuple[datetime, int, K]] = []
        self._pushed = 0  # orders equal times, and keys need not be comparable

    def __len__(self) -> int:
        return len(self._due)

    def __contains__(self, key: object) -> bool:
        return key in self._due

    def get(self, key: K) -> datetime | None:
        return self._due.get(key)

    def set(self, key: K, when: datetime) -> None:
        self._due[key] = when
        self._pushed += 1
        heapq.heappush(self._heap, (when, self._pushed, key))
        if len(self._heap) > 4 * len(self._due) + 64:  # replaced times pile up: drop them now and then
            self._heap = [(when, order, key) for when, order, key in self._heap if self._due.get(key) == when]
            heapq.heapify(self._heap)

    def remove(self, key: K) -> None:
        self._due.pop(key, None)  # its heap entries are skipped when they surface

    def earliest(self) -> datetime | None:
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, moment: datetime) -> list[K]:
        """The keys due at or before ``moment``, earliest first, taken out of the queue."""
        due = []
        while (earliest := self.earliest()) is not None and earliest <= moment:
            _, _, key = heapq.heappop(self._heap)
            del self._due[key]
            due.append(key)
        return due

    def _drop_stale(self) -> None:
        while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)


Tick = Callable[[K], Awaitable[datetime | None]]


class Scheduler(Generic[K]):
    """Runs ``tick(key)`` when a key falls due; the tick returns the key's next due time, or None.

    A due time set while the key's tick runs (a watch event) is kept if earlier than the
    one the tick returns. A tick that raises is retried after ``retry``, then less and less
    often (doubling, at most every ``retry_cap``) while it keeps failing.
    """

    def __init__(
        self,
        tick: Tick[K],
        *,
        clock: Callable[[], datetime],
        concurrency: int = 16,
        retry: timedelta,
        retry_cap: timedelta = timedelta(minutes=5),
    ) -> None:
        self.queue: DueQueue[K] = DueQueue()
        self._tick, self._clock = tick, clock
        self._failing: Backoff[K] = Backoff(first=retry, cap=max(retry, retry_cap))
        self._slots = asyncio.Semaphore(concurrency)
        self._running: set[K] = set()
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def wake_at(self, key: K, when: datetime | None) -> None:
        """When ``key`` is next due (None: never, until set again)."""
        if when is None:
            self.queue.remove(key)
            return
        earliest = self.queue.earliest()
        self.queue.set(key, when)
        if earliest is None or when < earliest:
            self._changed.set()

    async def run(self) -> None:
        while True:
            for key in self.queue.pop_due(self._clock()):
                if key in self._running:  # its tick returns the next due time
                    continue
                self._running.add(key)
                task = asyncio.create_task(self._run_tick(key))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            earliest = self.queue.earliest()
            timeout = None if earliest is None else max(0.0, (earliest - self._clock()).total_seconds())
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)

    async def _run_tick(self, key: K) -> None:
        try:
            async with self._slots:
                following = await self._tick(key)
        except Exception as error:
            following = self._failing.failed(key, self._clock())
            if self._failing.failures(key) == 1:  # the traceback once; while it keeps failing, one line
                _log.exception("scheduling %s failed; retrying at %s", key, following)
            else:
                _log.error("scheduling %s failed again (%s); retrying at %s", key, error, following)
        else:
            self._failing.succeeded(key)
        finally:
            self._running.discard(key)
        meanwhile = self.queue.get(key)
        if following is not None and (meanwhile is None or following < meanwhile):
            self.wake_at(key, following)
