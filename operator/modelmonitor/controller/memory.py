"""Give freed memory back to the system now and then (glibc's malloc_trim).

Each watch event decodes a whole object (a run's results and all) into short-lived
strings and dicts; glibc keeps the freed chunks, scattered between long-lived ones, and
the operator's RSS creeps up with the fleet's event rate though little of it is in use.
``malloc_trim(0)`` releases the free pages inside the heap, not only at its top.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging

_log = logging.getLogger(__name__)


def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim this way
        return None


async def trim_periodically(every: float = 60.0) -> None:
    trim = _malloc_trim()
    if trim is None:
        _log.info("no malloc_trim here: freed memory is left to the allocator")
        return
    while True:
        await asyncio.sleep(every)
        trim(0)
