"""A shadow step against a live 10 % step: false rollbacks, and the requests each needs to reject a worse candidate.

    python benchmarks/shadow_steps.py [--seeds 200]

Requests arrive one by one, labelled at once (the labels' delay is not what is compared here).
A shadow step mirrors every request to the candidate: each request is a pair, compared by the
paired confidence sequence (``engine.paired``). A live 10 % step sends a request to the
candidate with probability 0.1, else to the baseline: two independent arms
(``engine.sequential``). Both look every 500 requests, each at α = 0.05 and margin δ = 0.01,
with at least 500 labelled rows per arm (minSamplesPerArm). The candidate copies the
baseline's answer on 80 % of the requests. Printed for each case: the share of runs rolled
back, the median requests until then, and the median users served by the candidate.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from modelmonitor.api.metrics import MetricName
from modelmonitor.engine.confidence_sequence import ArmData
from modelmonitor.engine.paired import paired_compare
from modelmonitor.engine.sequential import compare

ALPHA, DELTA, N_STAR, EVERY, HORIZON, AGREE = 0.05, 0.01, 500, 500, 60_000, 0.8


def answers(rng: np.random.Generator, base: float, cand: float) -> tuple[np.ndarray, np.ndarray]:
    """Each request's correctness under each version (the candidate copies the baseline on AGREE of them)."""
    base_right = rng.random(HORIZON) < base
    own = (cand - AGREE * base) / (1 - AGREE)
    return base_right, np.where(rng.random(HORIZON) < AGREE, base_right, rng.random(HORIZON) < own)


def arm(right: np.ndarray) -> ArmData:
    truth = np.ones(right.size)
    return ArmData(truth, right.astype(np.float64))


def shadow(base_right: np.ndarray, cand_right: np.ndarray) -> tuple[int, int] | None:
    """Requests and candidate-served users until the rollback, or None."""
    for n in range(N_STAR, HORIZON + 1, EVERY):
        found = paired_compare(
            MetricName.ACCURACY, arm(base_right[:n]), arm(cand_right[:n]), alpha=ALPHA, n_star=N_STAR
        )
        if found.interval.high < -DELTA:
            return n, 0
    return None


def live(rng: np.random.Generator, base_right: np.ndarray, cand_right: np.ndarray) -> tuple[int, int] | None:
    to_candidate = rng.random(HORIZON) < 0.1
    for n in range(EVERY, HORIZON + 1, EVERY):
        served = to_candidate[:n]
        if served.sum() < N_STAR or (~served).sum() < N_STAR:
            continue
        found = compare(
            MetricName.ACCURACY,
            arm(base_right[:n][~served]),
            arm(cand_right[:n][served]),
            alpha=ALPHA,
            n_star=N_STAR,
        )
        if found.interval.high < -DELTA:
            return n, int(served.sum())
    return None


def run(seeds: int, base: float, cand: float) -> None:
    for name in ("shadow, 100 % mirrored", "live, 10 %"):
        found = []
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            base_right, cand_right = answers(rng, base, cand)
            found.append(
                shadow(base_right, cand_right) if name.startswith("shadow") else live(rng, base_right, cand_right)
            )
        decided = [item for item in found if item is not None]
        requests = statistics.median(n for n, _ in decided) if decided else float("nan")
        exposed = statistics.median(users for _, users in decided) if decided else float("nan")
        print(
            f"  {name:<24} rolled back {len(decided) / seeds:6.1%}; median requests {requests:>8,.0f}; "
            f"median users served by the candidate {exposed:>7,.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    seeds = parser.parse_args().seeds
    print(f"equal versions (accuracy 0.80 both), {seeds} runs of up to {HORIZON:,} requests: false rollbacks")
    run(seeds, 0.80, 0.80)
    print(f"a worse candidate (0.80 -> 0.75), {seeds} runs")
    run(seeds, 0.80, 0.75)


if __name__ == "__main__":
    main()
