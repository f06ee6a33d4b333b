"""The benchmark's detection case at 100k rows: auto flags exactly the 7 drifted columns."""

from __future__ import annotations

from pathlib import Path

from benchmarks.drift_data import EXPECTED_DRIFT, prepare

from modelmonitor.api.parsing import load_documents
from modelmonitor.checks import run_checks


def test_auto_flags_exactly_the_drifted_columns_at_100k_rows(tmp_path: Path) -> None:
    monitor = load_documents(prepare(tmp_path, 100_000))[0]
    results = run_checks(monitor.spec)
    flagged = {feature.feature for feature in results.drift.features if feature.drifted}
    assert flagged == EXPECTED_DRIFT
    assert len(results.drift.features) == 25


def test_streamed_statistics_stay_within_their_stated_error(tmp_path: Path) -> None:
    monitor = load_documents(prepare(tmp_path, 100_000))[0]
    exact = run_checks(monitor.spec)
    assert exact.drift is not None and monitor.spec.drift is not None
    streamed_spec = monitor.spec.model_copy(
        update={"drift": monitor.spec.drift.model_copy(update={"exact_max_rows": 1000})}
    )
    streamed = run_checks(streamed_spec)
    assert streamed.drift is not None
    assert {f.feature for f in streamed.drift.features if f.drifted} == EXPECTED_DRIFT
    for mine, theirs in zip(streamed.drift.features, exact.drift.features, strict=True):
        assert mine.feature == theirs.feature
        if mine.feature.startswith("num_"):
            assert mine.approximate and mine.approximation_error is not None
            assert abs(mine.statistic - theirs.statistic) <= mine.approximation_error + 1e-12
            assert "approximate" in mine.reason
        else:
            assert not mine.approximate and mine.statistic == theirs.statistic
