"""The report's checks table: each check once, an error beside the check it belongs to only when it has no row."""

from __future__ import annotations

import html
from pathlib import Path

import pyarrow.parquet as pq

from modelmonitor.api.verdict import Verdict
from modelmonitor.report.run import render_report
from tests.checks.conftest import check, logged, spec_for


def test_a_check_in_error_is_one_row_and_a_run_wide_error_its_own(tmp_path: Path) -> None:
    """The defect: a data-quality rule (or a metric) in Error showed twice, as its row and as an error row."""
    pq.write_table(logged(600, seed=2), tmp_path / "current.parquet")
    pq.write_table(logged(600, seed=1), tmp_path / "reference.parquet")
    spec = spec_for(
        tmp_path / "current.parquet",
        tmp_path / "reference.parquet",
        dataQuality=[{"range": {"column": "colour", "min": 0}}],
    )
    spec["metrics"] = [{"name": "accuracy", "min": 0.5}]
    spec["fairness"] = {
        "protectedAttribute": "gender",
        "privileged": ["m"],
        "metrics": [{"name": "statisticalParityDifference", "max": 0.1}],
    }
    results = check(spec)
    [rule] = results.quality_rules
    [fair] = results.fairness
    assert rule.status is Verdict.ERROR and fair.verdict is Verdict.ERROR
    named = {"dataQuality range colour", "fairness statisticalParityDifference"}
    assert {error.check for error in results.errors} >= named
    page = render_report(results)
    assert page.count(html.escape(rule.message)) == 1
    assert not [name for name in named if f"error in {name}" in page]
