"""Small helpers that several test modules share."""

from __future__ import annotations

import copy
import math
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


def rounded_alike(left: Any, right: Any, rel_tol: float = 1e-12) -> bool:
    """Two documents equal but for floating-point rounding: numbers summed in another order (rows read in other
    partitions) may differ in their last bits."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(rounded_alike(left[k], right[k], rel_tol) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(rounded_alike(a, b, rel_tol) for a, b in zip(left, right, strict=True))
    if isinstance(left, float) and isinstance(right, float | int) and not isinstance(right, bool):
        return math.isclose(left, right, rel_tol=rel_tol) or (math.isnan(left) and math.isnan(right))
    return left == right
