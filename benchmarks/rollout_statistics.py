"""Error rates and power of the rollout's always-valid comparison, when it looks at every step.

python benchmarks/rollout_statistics.py [SEEDS]

For accuracy 0.80 on the baseline, it looks every 100 labelled rows per arm from 500 to
20,000, as a rollout re-evaluating every interval would, and prints per scenario:
* how often the interval ever excluded the truth (A/A);
* how often a fixed-horizon 95% Wald interval did, peeked at as often;
* the promote and rollback rates;
* the median rows per arm at the decision.
"""

from __future__ import annotations

import sys

import numpy as np

from modelmonitor.api.metrics import MetricName
from modelmonitor.engine.sequential import ArmData, compare

ALPHA, DELTA, N_STAR = 0.05, 0.01, 500
LOOKS = np.arange(N_STAR, 20001, 100)


def arm(correct: np.ndarray) -> ArmData:
    return ArmData(np.ones(len(correct)), correct.astype(float))


def run(base_rate: float, cand_rate: float, seeds: int) -> dict[str, float]:
    promoted, rolled_back, excluded, wald, rows = 0, 0, 0, 0, []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        base, cand = rng.random(LOOKS[-1]) < base_rate, rng.random(LOOKS[-1]) < cand_rate
        truth = cand_rate - base_rate
        missed = wald_missed = False
        for n in LOOKS:
            result = compare(MetricName.ACCURACY, arm(base[:n]), arm(cand[:n]), alpha=ALPHA, n_star=N_STAR)
            missed |= not result.interval.low <= truth <= result.interval.high
            p_b, p_c = base[:n].mean(), cand[:n].mean()
            wald_missed |= abs(p_c - p_b - truth) > 1.96 * np.sqrt((p_b * (1 - p_b) + p_c * (1 - p_c)) / n)
            if result.improvement.high < -DELTA:
                rolled_back += 1
                rows.append(n)
                break
            if result.improvement.low > -DELTA:
                promoted += 1
                rows.append(n)
                break
        excluded += missed
        wald += wald_missed
    return {
        "promote": promoted / seeds,
        "rollback": rolled_back / seeds,
        "missed": excluded / seeds,
        "wald": wald / seeds,
        "rows": float(np.median(rows)) if rows else float("nan"),
    }


def main() -> None:
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    print(f"accuracy, alpha {ALPHA}, margin {DELTA}, a look every 100 rows per arm from {N_STAR} to {LOOKS[-1]}")
    print(f"{seeds} seeds per scenario")
    print(
        "| candidate vs 0.80 | promoted | rolled back | CS ever missed the truth | Wald (peeked) ever missed |", end=""
    )
    print(" median rows per arm at the decision |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, cand in (
        ("same (A/A)", 0.80),
        ("−δ (boundary)", 0.79),
        ("+0.03 (better)", 0.83),
        ("−0.05 (worse)", 0.75),
    ):
        r = run(0.80, cand, seeds)
        rates = f"{r['promote']:.3f} | {r['rollback']:.3f} | {r['missed']:.3f} | {r['wald']:.3f}"
        print(f"| {label} | {rates} | {r['rows']:.0f} |")


if __name__ == "__main__":
    main()
