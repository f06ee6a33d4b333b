"""Judging a value against thresholds (the verdicts themselves are in ``modelmonitor.api.verdict``)."""

from __future__ import annotations

from modelmonitor.api.verdict import Verdict


def judge(value: float, *, minimum: float | None = None, maximum: float | None = None) -> Verdict:
    """``Failed`` when a value breaks a bound, else ``Passed``; no bound always passes.

    >>> judge(0.8, minimum=0.9)
    <Verdict.FAILED: 'Failed'>
    """
    if minimum is not None and value < minimum:
        return Verdict.FAILED
    if maximum is not None and value > maximum:
        return Verdict.FAILED
    return Verdict.PASSED


def judge_interval(
    value: float, lower: float, upper: float, *, minimum: float | None = None, maximum: float | None = None
) -> Verdict:
    """An estimate's verdict: ``Failed`` only when its whole interval is past a bound.

    ``Inconclusive`` when the value is past a bound but the interval still reaches it.

    >>> judge_interval(0.85, 0.82, 0.88, minimum=0.9), judge_interval(0.88, 0.85, 0.91, minimum=0.9)
    (<Verdict.FAILED: 'Failed'>, <Verdict.INCONCLUSIVE: 'Inconclusive'>)
    """
    if (minimum is not None and upper < minimum) or (maximum is not None and lower > maximum):
        return Verdict.FAILED
    if judge(value, minimum=minimum, maximum=maximum) is Verdict.FAILED:
        return Verdict.INCONCLUSIVE
    return Verdict.PASSED


def describe_bounds(value: float, *, minimum: float | None, maximum: float | None) -> str:
    """A sentence a person can read: ``0.8123 < min 0.9``."""
    if minimum is not None and value < minimum:
        return f"{value:.4g} < min {minimum:g}"
    if maximum is not None and value > maximum:
        return f"{value:.4g} > max {maximum:g}"
    bounds = [f"min {minimum:g}" if minimum is not None else "", f"max {maximum:g}" if maximum is not None else ""]
    return f"{value:.4g} within " + " and ".join(bound for bound in bounds if bound) if any(bounds) else f"{value:.4g}"
