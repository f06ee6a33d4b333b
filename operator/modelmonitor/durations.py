"""Go-style durations as Kubernetes users write them: ``90s``, ``5m``, ``1h30m``, ``7d``."""

from __future__ import annotations

import re
from datetime import timedelta

DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d|w))+$"
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as ``1h30m``.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    """
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"invalid duration {text!r}: use a number and a unit (ms, s, m, h, d, w), e.g. 90s, 1h30m, 7d")
    return timedelta(seconds=sum(float(n) * _SECONDS[unit] for n, unit in _PART.findall(text)))
