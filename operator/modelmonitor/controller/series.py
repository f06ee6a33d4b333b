"""The operator's Prometheus registry, and the series each monitor (or rollout) has set, so they can be replaced.

A monitor's series are remembered under its key: a new run replaces the series of the last, and
a deleted monitor's disappear, however many features, metrics or segments they named.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from prometheus_client import CollectorRegistry

REGISTRY = CollectorRegistry(auto_describe=True)
MONITOR_LABELS = ("namespace", "monitor", "model")

LOCK = threading.Lock()
SERIES_BY_MONITOR: dict[tuple[str, str], set[tuple[Any, tuple[str, ...]]]] = {}


def remember(key: tuple[str, str], metric: Any, labels: tuple[str, ...]) -> Any:
    SERIES_BY_MONITOR.setdefault(key, set()).add((metric, labels))
    return metric.labels(*labels)


def forget(key: tuple[str, str], doomed: tuple[Any, ...]) -> None:
    kept = set()
    for metric, labels in SERIES_BY_MONITOR.get(key, set()):
        if metric in doomed:
            metric.remove(*labels)
        else:
            kept.add((metric, labels))
    SERIES_BY_MONITOR[key] = kept


def restore(key: tuple[str, str], metric: Any, value: float | bool | None) -> None:
    """A value known from the status, set unless this process has already seen a fresher one."""
    if value is not None and (metric, key) not in SERIES_BY_MONITOR.get(key, set()):
        remember(key, metric, key).set(value)


def set_value(key: tuple[str, str], metric: Any, labels: tuple[str, ...], value: float | bool | None) -> None:
    """A series set to a value; none for a value that is unknown (None or NaN): a gap, not a made-up number."""
    if value is not None and not (isinstance(value, float) and math.isnan(value)):
        remember(key, metric, labels).set(value)
