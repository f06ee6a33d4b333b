"""Rollouts whose labels come 24 hours late, decided on labels alone or on estimates too, on a simulated clock.

    python benchmarks/estimated_rollouts.py [--seeds 200]

Requests arrive at 2,000 an hour. Each version is a model of P(y = 1 | x) = expit(1.5 x):
its score is the truth's log odds plus noise (0: the truth itself; 1.05 costs about 0.05
accuracy), thresholded at 0.5. Each version is calibrated on 10,000 labelled validation rows
of its own. A request's label comes 24 hours after it. The rollout is the operator's: its
spec, parsed, and ``controller.rollouts.policy.decide`` on evidence from the engine's
comparisons (``engine.sequential`` on the labelled rows, ``engine.estimated_compare`` on every
row served, the residual guard on the labelled ones), looked at every 30 minutes, up to 72
hours. Steps: 10, 25, 50 % (each at least 2 h, at most 96 h: no step runs out of its budget while
its labels are on their way); margin δ = 0.01; α = 0.05; minSamplesPerArm 500.

Cases:

* equal: both versions noise 0.5;
* worse: the candidate 0.05 less accurate (noise 1.05 against 0);
* better: the candidate 0.05 more accurate (noise 0 against 1.05);
* adversarial: the candidate leans on a second input z that predicted the label when its
  validation data was drawn (log odds 1.5 x + 1.5 z) and no longer does in production (the
  relationship is 1.5 x): its calibration is wrong exactly where it errs, and its estimate
  says it is better while it is worse;
* shadow: the worse candidate, with a shadow step (mirror 100 %, 2 h) before 10 %: both
  versions answer the same requests, compared pair by pair.

Printed per case and method: the share of runs rolled back (and of those, in the first step
before any label came), and promoted, the median requests the candidate served to users
before the rollback (exposure; a shadow step's mirrored answers reach no user), the median
hours to the decision, the share decided by estimates, and (where the candidate is worse) the
share in which an estimate advanced it.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from modelmonitor.api.metrics import MetricName
from modelmonitor.api.parsing import parse_rollout_spec
from modelmonitor.api.rollout import ModelRolloutSpec
from modelmonitor.controller.rollouts.policy import ESTIMATES, Action, Bounds, Evidence, Position, decide
from modelmonitor.engine.cbpe import Calibration, calibrate
from modelmonitor.engine.confidence_sequence import ArmData
from modelmonitor.engine.estimated_compare import (
    Expectation,
    calibration_residual,
    estimated_compare,
    expected_values,
)
from modelmonitor.engine.paired import paired_compare
from modelmonitor.engine.sequential import compare

RATE, LOOK, HORIZON, DELAY = 2_000, 0.5, 72.0, 24.0  # requests an hour; hours
REFERENCE_ROWS, MARGIN, N_STAR = 10_000, 0.01, 500
START = datetime(2026, 12, 1, tzinfo=UTC)
ACCURACY = MetricName.ACCURACY


@dataclass(frozen=True)
class Version:
    """A model: its score's log odds are 1.5 x + lean x z plus noise; ``world`` is the truth's weight on z."""

    noise: float
    lean: float = 0.0

    def scores(self, rng: np.random.Generator, x: NDArray, z: NDArray) -> NDArray:
        return expit(1.5 * x + self.lean * z + self.noise * rng.normal(size=x.size))


def population(rng: np.random.Generator, rows: int, world: float) -> tuple[NDArray, NDArray, NDArray]:
    x, z = rng.normal(size=rows), rng.normal(size=rows)
    return x, z, rng.random(rows) < expit(1.5 * x + world * z)


@dataclass
class Arm:
    """One version's answers to a stream of requests, with what the engine needs, per row, computed once."""

    label: NDArray
    score: NDArray
    values: NDArray = field(init=False)  # expected correctness under the calibration
    bootstrap_values: NDArray = field(init=False)  # bootstraps x rows: the same under each bootstrap calibration
    correct: NDArray = field(init=False)

    def expect(self, calibration: Calibration) -> None:
        p = calibration.probability(self.score)
        arm = ArmData(np.full(self.score.size, np.nan), (self.score > 0.5).astype(float), self.score)
        self.values = expected_values(ACCURACY, np.column_stack([1 - p, p]), arm)
        per_bootstrap = [
            expected_values(ACCURACY, np.column_stack([1 - q, q]), arm)
            for q in calibration.resampled_probabilities(self.score)
        ]
        self.bootstrap_values = np.stack(per_bootstrap)
        self.correct = ((self.score > 0.5) == self.label).astype(float)

    def rows(self, chosen: NDArray) -> ArmData:
        return ArmData(self.label[chosen].astype(float), (self.score[chosen] > 0.5).astype(float), self.score[chosen])

    def expectation(self, chosen: NDArray) -> Expectation:
        """Over some requests: their expected values, and each bootstrap calibration's mean over them."""
        if chosen.size == 0:
            return Expectation(np.empty(0), np.empty(0))
        return Expectation(self.values[chosen], self.bootstrap_values[:, chosen].mean(axis=1))


@dataclass(frozen=True)
class Case:
    name: str
    baseline: Version
    candidate: Version
    world: float = 0.0  # the truth's weight on z in production (validation data: ``validation_world``)
    validation_world: float = 0.0
    shadow: bool = False

    @property
    def candidate_worse(self) -> bool:
        return self.name in ("worse", "adversarial", "shadow")


CASES = (
    Case("equal", Version(0.5), Version(0.5)),
    Case("worse", Version(0.0), Version(1.05)),
    Case("better", Version(1.05), Version(0.0)),
    Case("adversarial", Version(0.0), Version(0.0, lean=1.5), world=0.0, validation_world=1.5),
    Case("shadow", Version(0.0), Version(1.05), shadow=True),
)


def spec(estimated: bool, shadow: bool) -> ModelRolloutSpec:
    # a budget beyond the horizon: no step is cut short while its labels are on their way
    steps = [{"weight": weight, "minDuration": "2h", "maxDuration": "96h"} for weight in (10, 25, 50)]
    if shadow:
        steps.insert(0, {"mirror": 100, "minDuration": "2h", "maxDuration": "96h"})
    return parse_rollout_spec(
        {
            "monitorRef": {"name": "credit-risk"},
            "baseline": {"version": "7", "backend": "v7"},
            "candidate": {"version": "8", "backend": "v8"},
            "trafficRouter": {"gatewayAPI": {"httpRoute": "credit-risk"}},
            "steps": steps,
            "analysis": {
                "metric": "accuracy",
                "nonInferiorityMargin": MARGIN,
                "minSamplesPerArm": N_STAR,
                "estimated": estimated,
            },
        }
    )


@dataclass(frozen=True)
class Outcome:
    action: str  # Rollback, Promote, or "" (undecided by the horizon)
    hours: float
    exposure: int  # candidate rows served to users
    by_estimates: bool
    estimate_advanced: bool  # an estimate advanced the candidate at least once
    step: int  # the step it was decided at (0: the first)


def simulate(case: Case, estimated: bool, seed: int) -> Outcome:
    rng = np.random.default_rng(seed)
    rollout = spec(estimated, case.shadow)
    calibrations = {}
    for role, version in (("baseline", case.baseline), ("candidate", case.candidate)):
        x, z, label = population(rng, REFERENCE_ROWS, case.validation_world)
        calibrations[role] = calibrate(version.scores(rng, x, z), label, seed=seed)
    capacity = int(RATE * HORIZON * 1.1)
    x, z, label = population(rng, capacity, case.world)  # the requests, in order of arrival
    arms = {
        "baseline": Arm(label, case.baseline.scores(rng, x, z)),
        "candidate": Arm(label, case.candidate.scores(rng, x, z)),  # its answer to each request, if asked
    }
    for role, arm in arms.items():
        arm.expect(calibrations[role])
    draw = rng.random(capacity)
    arrivals = np.cumsum(rng.exponential(1 / RATE, capacity))  # hours
    to_candidate = np.zeros(capacity, bool)  # served to a user by the candidate
    mirrored = np.zeros(capacity, bool)  # answered by the candidate too, for no user (a shadow step)
    step, started, advanced_by_estimate, now, count = 0, 0.0, False, 0.0, 0
    while now < HORIZON:
        now += LOOK
        arrived = int(np.searchsorted(arrivals, now, side="right"))
        current = rollout.steps[step]
        if current.shadow:
            mirrored[count:arrived] = True
        else:
            to_candidate[count:arrived] = draw[count:arrived] < (current.weight or 0) / 100
        count = arrived
        evidence = _evidence(rollout, arms, arrivals[:count], to_candidate[:count], mirrored[:count], now, step)
        position = Position(step, START + timedelta(hours=started), {"baseline": 100, "candidate": 0})
        verdict = decide(rollout, position, evidence, None, START + timedelta(hours=now))
        if verdict.action is Action.ADVANCE:
            advanced_by_estimate |= verdict.decided_by == ESTIMATES
            step, started = step + 1, now
        elif verdict.action in (Action.ROLLBACK, Action.PROMOTE, Action.INCONCLUSIVE):
            by = verdict.decided_by == ESTIMATES
            return Outcome(verdict.action.value, now, int(to_candidate.sum()), by, advanced_by_estimate, step)
    return Outcome("", HORIZON, int(to_candidate.sum()), False, advanced_by_estimate, step)


def _evidence(
    rollout: ModelRolloutSpec,
    arms: dict[str, Arm],
    times: NDArray,
    to_candidate: NDArray,
    mirrored: NDArray,
    now: float,
    step: int,
) -> Evidence:
    """What the operator's comparison would find: each arm's rows since the start (as request indices), the
    labelled ones (24 h old), and the estimate on all of them."""
    alpha = rollout.comparison_alpha
    requests = np.arange(times.size)
    rows = {"baseline": requests[~to_candidate], "candidate": requests[to_candidate | mirrored]}
    labelled = {arm: chosen[times[chosen] <= now - DELAY] for arm, chosen in rows.items()}
    shadow = rollout.steps[step].shadow
    if shadow:  # every candidate row is a copy of a baseline request: pairs
        pairs = labelled["candidate"]
        base, cand = arms["baseline"].rows(pairs), arms["candidate"].rows(pairs)
        labelled_cmp = paired_compare(ACCURACY, base, cand, alpha=alpha, n_star=N_STAR)
        found = {arm: arms[arm].expectation(rows["candidate"]) for arm in rows}
    else:
        base, cand = (arms[arm].rows(labelled[arm]) for arm in ("baseline", "candidate"))
        labelled_cmp = compare(ACCURACY, base, cand, alpha=alpha, n_star=N_STAR)
        found = {arm: arms[arm].expectation(rows[arm]) for arm in rows}
    guessed = estimated_compare(
        ACCURACY, found["baseline"], found["candidate"], alpha=alpha, n_star=N_STAR, paired=shadow
    )
    disagree = [
        arm
        for arm in rows
        if calibration_residual(
            arms[arm].correct[labelled[arm]], arms[arm].expectation(labelled[arm]), alpha=alpha, n_star=N_STAR
        ).disagrees
    ]
    return Evidence(
        labeled_rows={arm: int(labelled_cmp.arm(arm).rows) for arm in rows},
        primary=_bounds(labelled_cmp),
        guardrails=[],
        srm_p_value=1.0,
        expected_shares=(),
        observed_shares=(),
        estimated=_bounds(guessed),
        estimated_rows={arm: found[arm].rows for arm in rows},
        unreliable="; ".join(f"{arm}'s labels disagree with its estimate" for arm in disagree),
    )


def _bounds(found) -> Bounds | None:
    low, high = found.improvement.low, found.improvement.high
    if not (np.isfinite(low) and np.isfinite(high)):
        return None
    return Bounds(found.metric, float(low), float(high), MARGIN)


def summary(case: Case, estimated: bool, outcomes: list[Outcome]) -> str:
    runs = len(outcomes)
    back = [o for o in outcomes if o.action == Action.ROLLBACK.value]
    promoted = [o for o in outcomes if o.action == Action.PROMOTE.value]

    def median(values: list[float], digits: int = 0) -> str:
        return f"{statistics.median(values):,.{digits}f}" if values else "-"

    hours = median([o.hours for o in back + promoted], 1)
    exposure = median([o.exposure for o in back])
    by_estimates = sum(o.by_estimates for o in outcomes) / runs
    early = sum(o.step == 0 and o.hours < DELAY for o in back) / runs  # in the first step, before any label
    wrong = sum(o.estimate_advanced for o in outcomes) / runs if case.candidate_worse else float("nan")
    method = "estimates and labels" if estimated else "labels only"
    return (
        f"| {case.name} | {method} | {len(back) / runs:.1%} | {early:.1%} | {len(promoted) / runs:.1%} | {exposure} "
        f"| {hours} | {by_estimates:.1%} | {'-' if np.isnan(wrong) else f'{wrong:.1%}'} |"
    )


def main(argv: list[str] | None = None, run: Callable[[Case, bool, int], Outcome] = simulate) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--cases", default=",".join(case.name for case in CASES))
    args = parser.parse_args(argv)
    print(
        "| case | method | rolled back | of which in the first step, before any label | promoted "
        "| median exposure at rollback | median hours to decide | decided by estimates "
        "| an estimate advanced a worse candidate |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for case in (case for case in CASES if case.name in args.cases.split(",")):
        for estimated in (False, True):
            outcomes = [run(case, estimated, seed) for seed in range(args.seeds)]
            print(summary(case, estimated, outcomes), flush=True)


if __name__ == "__main__":
    main()
