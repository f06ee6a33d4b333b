"""The operator's decision rules on a simulated clock whose labels come a day late (benchmarks/estimated_rollouts)."""

from __future__ import annotations

from benchmarks.estimated_rollouts import CASES, DELAY, simulate

CASE = {case.name: case for case in CASES}


def test_a_worse_candidate_is_rolled_back_on_estimates_in_its_first_step_before_any_label() -> None:
    estimated = [simulate(CASE["worse"], True, seed) for seed in range(3)]
    assert all(o.action == "Rollback" and o.by_estimates and o.step == 0 and o.hours < DELAY for o in estimated)
    labelled = simulate(CASE["worse"], False, 0)
    assert labelled.action == "Rollback" and not labelled.by_estimates and labelled.hours > DELAY
    assert labelled.exposure > 5 * estimated[0].exposure  # users served the worse model while the labels came


def test_a_candidate_whose_calibration_broke_is_advanced_by_its_estimate_and_rolled_back_by_its_labels() -> None:
    found = simulate(CASE["adversarial"], True, 0)
    assert found.estimate_advanced and found.action == "Rollback" and not found.by_estimates
