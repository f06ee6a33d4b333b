"""Fairness metrics from counts of outcomes per group, with a bootstrap interval.

A window's rows are tallied once into ``counts[group, predicted, label]``: the group
(privileged, unprivileged), whether the prediction was the favorable outcome, and the label
(none yet, unfavorable, favorable). Every metric is a rate per group (a favorable-outcome rate,
a true-positive rate, ...) of those twelve counts, compared between the groups as AIF360 does
(Bellamy et al., "AI Fairness 360", IBM J. Res. Dev. 63(4/5), 2019): the unprivileged group's
rate minus the privileged group's, or divided by it.

The interval is the percentile bootstrap of the rows (Efron & Tibshirani, "An Introduction to
the Bootstrap", 1993, ch. 13). Rows drawn with replacement fall into the twelve cells as one
multinomial draw, so each resample costs twelve numbers whatever the window's size.

A rollout compares the two versions' gaps from parity (|difference|, or |ratio − 1|) at every
look: each proportion behind a group's rate gets the confidence sequence ``engine.sequential``
uses (at an equal share of α), the gap's interval is the metric at those bounds, and the
versions' difference is ``[L_c − U_b, U_c − L_b]`` with each version at α/2.

Each metric's rate is one module of ``modelmonitor.engine.fairness_formulas``, named as the
spec names the metric in snake case and ending in its ``FORMULA``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from modelmonitor.api.comparison import ArmEstimate, Comparison, Interval, finite
from modelmonitor.api.fairness import FAIRNESS_METRICS, FairnessMetricName
from modelmonitor.api.vocabulary import snake_case
from modelmonitor.engine import fairness_formulas
from modelmonitor.engine.confidence_sequence import mixture_rho, proportion_interval

PRIVILEGED, UNPRIVILEGED = 0, 1  # the first axis
PREDICTED_UNFAVORABLE, PREDICTED_FAVORABLE = 0, 1  # the second
UNLABELED, LABEL_UNFAVORABLE, LABEL_FAVORABLE = 0, 1, 2  # the third
OUTCOMES = (2, 2, 3)
RESAMPLES = 2000
SEED = 20_261_207  # a fixed seed: a run repeated gives the same interval

Counts = NDArray[np.int64]  # (..., 2, 2, 3): a stack of tallies, one per resample
Rates = NDArray[np.float64]  # (..., 2): one rate per group


Proportion = tuple[NDArray[np.int64], NDArray[np.int64]]  # a numerator and a denominator, one of each per group


def _ratio(numerator: NDArray[np.int64], denominator: NDArray[np.int64]) -> Rates:
    with np.errstate(invalid="ignore", divide="ignore"):
        return numerator / denominator.astype(np.float64)


@dataclass(frozen=True)
class FairnessFormula:
    """One metric: the proportions whose mean is a group's rate, and each group's rows that rate is taken over."""

    proportions: Callable[[Counts], list[Proportion]]
    support: Callable[[Counts], NDArray[np.int64]]

    def group_rates(self, counts: Counts) -> Rates:
        parts = [_ratio(*proportion) for proportion in self.proportions(counts)]
        return parts[0] if len(parts) == 1 else np.mean(parts, axis=0)


@dataclass(frozen=True)
class FairnessMeasure:
    """A metric on one window: its value and interval (None where undefined), and each group's rate and support."""

    value: float | None
    lower: float | None
    upper: float | None
    rates: tuple[float | None, float | None]  # privileged, unprivileged
    support: tuple[int, int]


def _predicted_favorable(counts: Counts) -> NDArray[np.int64]:
    return counts[..., PREDICTED_FAVORABLE, :]


def group_rows(counts: Counts) -> NDArray[np.int64]:
    return counts.sum(axis=(-2, -1))


def labeled_with(counts: Counts, label: int) -> NDArray[np.int64]:
    """Each group's rows whose label is ``label``."""
    return counts[..., label].sum(axis=-1)


def labeled_favorable_predictions(counts: Counts) -> NDArray[np.int64]:
    """Each group's labeled rows predicted favorable: precision's denominator."""
    return _predicted_favorable(counts)[..., LABEL_UNFAVORABLE:].sum(axis=-1)


def selection(counts: Counts) -> list[Proportion]:
    """P(prediction favorable | group): the selection rate; labels play no part."""
    return [(_predicted_favorable(counts).sum(axis=-1), group_rows(counts))]


def true_positives(counts: Counts) -> list[Proportion]:
    """P(prediction favorable | label favorable, group)."""
    return [(_predicted_favorable(counts)[..., LABEL_FAVORABLE], labeled_with(counts, LABEL_FAVORABLE))]


def false_positives(counts: Counts) -> list[Proportion]:
    """P(prediction favorable | label unfavorable, group)."""
    return [(_predicted_favorable(counts)[..., LABEL_UNFAVORABLE], labeled_with(counts, LABEL_UNFAVORABLE))]


def precision(counts: Counts) -> list[Proportion]:
    """P(label favorable | prediction favorable, group), over the labeled rows."""
    return [(_predicted_favorable(counts)[..., LABEL_FAVORABLE], labeled_favorable_predictions(counts))]


def _registered() -> dict[FairnessMetricName, FairnessFormula]:
    package = fairness_formulas.__name__
    return {name: importlib.import_module(f"{package}.{snake_case(str(name))}").FORMULA for name in FairnessMetricName}


FORMULAS = _registered()


def compared(name: FairnessMetricName, rates: Rates) -> NDArray[np.float64]:
    """The unprivileged group's rate against the privileged group's: their difference, or their ratio."""
    unprivileged, privileged = rates[..., UNPRIVILEGED], rates[..., PRIVILEGED]
    with np.errstate(invalid="ignore", divide="ignore"):
        return unprivileged / privileged if FAIRNESS_METRICS[name].ratio else unprivileged - privileged


def measure(name: FairnessMetricName, counts: Counts, *, confidence: float = 0.95, seed: int = SEED) -> FairnessMeasure:
    """The metric on one tally of ``OUTCOMES`` counts, with its percentile-bootstrap interval at ``confidence``.

    The interval is None when fewer than half the resamples define the metric (a group drawn empty).
    """
    counts = np.asarray(counts, dtype=np.int64)
    if counts.shape != OUTCOMES:
        raise ValueError(f"fairness counts have the shape {OUTCOMES}, not {counts.shape}")
    formula = FORMULAS[name]
    rates = formula.group_rates(counts)
    value = finite(float(compared(name, rates)))
    support = formula.support(counts)
    lower = upper = None
    rows = int(counts.sum())
    if value is not None and rows:
        draws = np.random.default_rng(seed).multinomial(rows, counts.ravel() / rows, size=RESAMPLES)
        resampled = compared(name, formula.group_rates(draws.reshape(RESAMPLES, *OUTCOMES)))
        defined = resampled[np.isfinite(resampled)]
        if len(defined) >= RESAMPLES / 2:
            tail = (1 - confidence) / 2
            lower, upper = (float(bound) for bound in np.quantile(defined, [tail, 1 - tail]))
    return FairnessMeasure(
        value,
        lower,
        upper,
        (finite(float(rates[PRIVILEGED])), finite(float(rates[UNPRIVILEGED]))),
        (int(support[PRIVILEGED]), int(support[UNPRIVILEGED])),
    )


FAIRNESS_METHOD = "gap from parity; asymptotic confidence sequences per group rate (Waudby-Smith et al. 2024)"


def _parity(name: FairnessMetricName) -> float:
    return 1.0 if FAIRNESS_METRICS[name].ratio else 0.0


def gap_estimate(name: FairnessMetricName, counts: Counts, *, alpha: float, n_star: int) -> ArmEstimate:
    """One version's gap from parity, |value − parity|, with an interval valid at every look at level ``alpha``."""
    formula = FORMULAS[name]
    proportions = formula.proportions(np.asarray(counts, dtype=np.int64))
    share = alpha / (2 * len(proportions))  # each proportion, in each group
    rho = mixture_rho(n_star, share)
    bounds = np.array(
        [
            [
                proportion_interval(float(numerator[group]), int(denominator[group]), alpha=share, rho=rho)[1]
                for group in (PRIVILEGED, UNPRIVILEGED)
            ]
            for numerator, denominator in proportions
        ]
    )  # (proportions, groups) of Intervals
    low = np.mean([[interval.low for interval in row] for row in bounds], axis=0)
    high = np.mean([[interval.high for interval in row] for row in bounds], axis=0)
    # the metric rises with the unprivileged group's rate and falls with the privileged group's
    lowest = float(compared(name, np.array([high[PRIVILEGED], low[UNPRIVILEGED]])))
    highest = float(compared(name, np.array([low[PRIVILEGED], high[UNPRIVILEGED]])))
    parity = _parity(name)
    gaps = sorted((abs(lowest - parity), abs(highest - parity)))
    gap_low = 0.0 if lowest <= parity <= highest else gaps[0]
    value = abs(float(compared(name, formula.group_rates(counts))) - parity)
    return ArmEstimate(value, Interval(gap_low, gaps[1]), int(formula.support(counts).sum()))


def compare_gaps(
    name: FairnessMetricName, baseline: Counts, candidate: Counts, *, alpha: float, n_star: int
) -> Comparison:
    """The candidate's gap from parity minus the baseline's (lower is better), valid at every look at ``alpha``."""
    base = gap_estimate(name, baseline, alpha=alpha / 2, n_star=n_star)
    cand = gap_estimate(name, candidate, alpha=alpha / 2, n_star=n_star)
    return Comparison(
        metric=str(name),
        higher_is_better=False,
        baseline=base,
        candidate=cand,
        difference=cand.value - base.value,
        interval=Interval(cand.interval.low - base.interval.high, cand.interval.high - base.interval.low),
        alpha=alpha,
        method=FAIRNESS_METHOD,
    )
