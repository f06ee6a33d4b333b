"""The verdict of a check, and its severity order: what every reader of results needs."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """The outcome of one check.  ``Inconclusive`` (too little data) never alerts."""

    PASSED = "Passed"
    INCONCLUSIVE = "Inconclusive"
    ERROR = "Error"
    FAILED = "Failed"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Verdict.PASSED: 0, Verdict.INCONCLUSIVE: 1, Verdict.ERROR: 2, Verdict.FAILED: 3}


def worst(*verdicts: Verdict) -> Verdict:
    """The most severe of some verdicts; ``Passed`` for none.

    >>> worst(Verdict.PASSED, Verdict.FAILED, Verdict.ERROR)
    <Verdict.FAILED: 'Failed'>
    """
    return max(verdicts, key=lambda verdict: verdict.severity, default=Verdict.PASSED)
