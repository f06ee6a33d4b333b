"""Capped exponential backoff per key: how long to leave a failing piece of work before trying it again."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

K = TypeVar("K")


@dataclass
class Backoff(Generic[K]):
    """After the n-th failure in a row, wait ``first * 2**(n-1)``, at most ``cap``; a success forgets the key.

    >>> from datetime import UTC
    >>> backoff, t0 = Backoff[str](), datetime(2026, 1, 1, tzinfo=UTC)
    >>> [(backoff.failed("run", t0) - t0).total_seconds() for _ in range(8)]
    [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]
    """

    first: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(minutes=5)
    _failures: dict[K, tuple[int, datetime]] = field(default_factory=dict)

    def failed(self, key: K, now: datetime) -> datetime:
        """Count a failure; when the key may be tried again."""
        count = self._failures.get(key, (0, now))[0] + 1
        wait = min(self.first * 2 ** min(count - 1, 30), self.cap)
        self._failures[key] = (count, now + wait)
        return now + wait

    def succeeded(self, key: K) -> None:
        self._failures.pop(key, None)

    def retry_at(self, key: K) -> datetime | None:
        """When a failing key may be tried again; None for one that is not failing."""
        failure = self._failures.get(key)
        return None if failure is None else failure[1]

    def ready(self, key: K, now: datetime) -> bool:
        at = self.retry_at(key)
        return at is None or now >= at

    def failures(self, key: K) -> int:
        return self._failures.get(key, (0, None))[0]
