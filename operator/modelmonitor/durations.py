"""Go durations, as Kubernetes users write them: ``90s``, ``5m``, ``1h30m``, ``168h``.

Only Go's units (ms, s, m, h), so that the CRD's CEL rules can parse them with
``duration()`` exactly as this module does.
"""

from __future__ import annotations

import re
from datetime import timedelta

DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
# Ten years: past it a window or interval is a typo; Python's timedelta overflows near 2.7 million years
# and CEL's duration() near 290 years, each with an error no user can read.
LONGEST_TEXT = "87600h"
LONGEST = timedelta(hours=87600)


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as ``1h30m``.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    """
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"invalid duration {text!r}: use numbers with the units ms, s, m or h, e.g. 90s, 1h30m, 168h")
    seconds = sum(float(n) * _SECONDS[unit] for n, unit in _PART.findall(text))
    if seconds > LONGEST.total_seconds():
        raise ValueError(f"duration {text!r} is longer than {LONGEST_TEXT}, the longest allowed")
    return timedelta(seconds=seconds)
