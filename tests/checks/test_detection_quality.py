"""The benchmark's detection case at 100k rows: auto flags exactly the 7 drifted columns."""

from __future__ import annotations

from pathlib import Path

from benchmarks.drift_data import EXPECTED_DRIFT, prepare

from modelmonitor.checks import run_checks
from modelmonitor.spec import load_documents


def test_auto_flags_exactly_the_drifted_columns_at_100k_rows(tmp_path: Path) -> None:
    monitor = load_documents(prepare(tmp_path, 100_000))[0]
    results = run_checks(monitor.spec)
    flagged = {feature.feature for feature in results.drift.features if feature.drifted}
    assert flagged == EXPECTED_DRIFT
    assert len(results.drift.features) == 25
