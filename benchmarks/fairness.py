"""Fairness: the bootstrap interval's coverage, and the rollout guardrail's false rollbacks and detection.

    python benchmarks/fairness.py [--windows 1000] [--rollouts 1000]

Coverage: windows of 200 and 2,000 rows from one population (40 % unprivileged, labels
favorable half the time; true-positive rates 0.85 and 0.70, false-positive rates 0.25 and
0.10), each metric's 95 % interval checked against the population's value.

Guardrail: rollouts that look every 500 rows per version, 20 times, at α = 0.05 and margin 0.
Each version approves 55 % of the privileged group and 55 % minus its gap of the others.
Printed: the share of rollouts rolled back, and the median rows per version when it happened.
``tests/engine/test_fairness.py`` asserts on both.
"""

from __future__ import annotations

import argparse

import numpy as np

from modelmonitor.api.fairness import FairnessMetricName
from modelmonitor.engine import fairness

TRUTH = {
    FairnessMetricName.STATISTICAL_PARITY_DIFFERENCE: (0.5 * 0.70 + 0.5 * 0.10) - (0.5 * 0.85 + 0.5 * 0.25),
    FairnessMetricName.EQUAL_OPPORTUNITY_DIFFERENCE: 0.70 - 0.85,
    FairnessMetricName.DISPARATE_IMPACT_RATIO: (0.5 * 0.70 + 0.5 * 0.10) / (0.5 * 0.85 + 0.5 * 0.25),
}


def window(rng: np.random.Generator, rows: int) -> fairness.Counts:
    group = (rng.random(rows) < 0.4).astype(np.int64)
    label = (rng.random(rows) < 0.5).astype(np.int64)
    favoured = np.where(label == 1, np.where(group == 1, 0.70, 0.85), np.where(group == 1, 0.10, 0.25))
    prediction = (rng.random(rows) < favoured).astype(np.int64)
    counts = np.zeros(fairness.OUTCOMES, dtype=np.int64)
    np.add.at(counts, (group, prediction, label + 1), 1)
    return counts


def coverage(windows: int) -> None:
    print("metric                         rows   coverage of the 95 % interval")
    for name, truth in TRUTH.items():
        for rows in (200, 2000):
            rng = np.random.default_rng(5)
            covered = 0
            for _ in range(windows):
                measured = fairness.measure(name, window(rng, rows), seed=int(rng.integers(1 << 31)))
                covered += measured.lower is not None and measured.lower <= truth <= measured.upper  # type: ignore[operator]
            print(f"{name!s:30} {rows:5}   {covered / windows:.1%}")


def rolled_back_at(rng: np.random.Generator, gaps: tuple[float, float], looks: int = 20, rows: int = 500) -> int | None:
    """The rows per version at the look that rolled the candidate back, or None."""
    counts = [np.zeros(fairness.OUTCOMES, dtype=np.int64) for _ in gaps]
    for look in range(1, looks + 1):
        for arm, gap in enumerate(gaps):
            group = (rng.random(rows) < 0.4).astype(np.int64)
            prediction = (rng.random(rows) < np.where(group == 1, 0.55 - gap, 0.55)).astype(np.int64)
            np.add.at(counts[arm], (group, prediction, 0), 1)
        compared = fairness.compare_gaps(
            FairnessMetricName.STATISTICAL_PARITY_DIFFERENCE, counts[0], counts[1], alpha=0.05, n_star=500
        )
        if compared.improvement.high < 0:
            return look * rows
    return None


def guardrail(rollouts: int) -> None:
    print("\nbaseline gap  candidate gap  rolled back  median rows per version at rollback")
    for gaps in ((0.10, 0.10), (0.05, 0.10), (0.05, 0.15), (0.05, 0.20)):
        rng = np.random.default_rng(1)
        found = [rolled_back_at(rng, gaps) for _ in range(rollouts)]
        at = [rows for rows in found if rows is not None]
        median = f"{np.median(at):,.0f}" if at else "-"
        print(f"{gaps[0]:12.2f}  {gaps[1]:13.2f}  {len(at) / rollouts:11.1%}  {median}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=1000)
    parser.add_argument("--rollouts", type=int, default=1000)
    arguments = parser.parse_args()
    coverage(arguments.windows)
    guardrail(arguments.rollouts)


if __name__ == "__main__":
    main()
