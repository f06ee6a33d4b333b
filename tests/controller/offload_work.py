"""Functions the check-process tests send to workers (importable by a spawned process, unlike a test's locals)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def pid_plus(value: int) -> tuple[int, int]:
    return os.getpid(), value


def fail_with(message: str) -> None:
    from modelmonitor.errors import DataError

    raise DataError(message)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def die_once(marker: str) -> tuple[int, str]:
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        die()
    return os.getpid(), "survived"


def sleep_span(seconds: float) -> tuple[float, float]:
    start = time.time()
    time.sleep(seconds)
    return start, time.time()


def missing_file(uri: str) -> None:
    from modelmonitor.errors import SourceError

    raise SourceError(uri, "no such file or directory")


def parent_and_loaded(modules: list[str]) -> tuple[int, list[str]]:
    """The worker's parent and which of ``modules`` it holds before it runs anything of them."""
    import sys

    return os.getppid(), [name for name in modules if name in sys.modules]


def frozen_objects() -> int:
    import gc

    return gc.get_freeze_count()
