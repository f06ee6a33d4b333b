"""Judging a value against thresholds (the verdicts themselves are in ``modelmonitor.api.verdict``)."""

from __future__ import annotations

from scipy import stats

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


def breach_p_value(
    value: float, standard_error: float, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    """The one-sided p-value of "the true value keeps its bounds", from a normal approximation.

    Small when the value is past a bound by many standard errors; above 0.5 when it keeps them.
    With both bounds, the smaller p-value, doubled (Bonferroni). No bound: 1.

    >>> round(breach_p_value(0.70, 0.02, minimum=0.75), 4)
    0.0062
    """
    sides = []
    if minimum is not None:
        sides.append((value - minimum, standard_error))
    if maximum is not None:
        sides.append((maximum - value, standard_error))
    if not sides:
        return 1.0
    p_values = [
        float(stats.norm.cdf(margin / error)) if error > 0 else (0.0 if margin < 0 else 1.0) for margin, error in sides
    ]
    return min(1.0, len(p_values) * min(p_values))
