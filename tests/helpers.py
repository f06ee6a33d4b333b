"""Small helpers that several test modules share."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

DELETE = object()  # with_value(..., DELETE) removes the key


def with_value(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``document`` with the dotted ``path`` set (digits index lists)."""
    document = copy.deepcopy(document)
    *parents, last = path.split(".")
    target: Any = document
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is DELETE:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return document


def eventually(check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.25, what: str = "") -> Any:
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {what or check}")
        time.sleep(interval)
