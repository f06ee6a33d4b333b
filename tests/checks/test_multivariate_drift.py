"""spec.drift.multivariate through the checks: a flipped correlation fails the monitor that no feature alone
fails, says so in DataDrift, and reads a bounded sample of each side."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from modelmonitor.api.results import Results
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.multivariate import sample_frame
from modelmonitor.controller.conditions import outcome_conditions
from modelmonitor.output import render_table
from tests.checks.conftest import NOW, check, logged, spec_for


def _with_pair(table: pa.Table, correlation: float, seed: int) -> pa.Table:
    pair = np.random.default_rng(seed).multivariate_normal([0, 0], [[1, correlation], [correlation, 1]], table.num_rows)
    return table.append_column("a", pa.array(pair[:, 0])).append_column("b", pa.array(pair[:, 1]))


def _spec(folder: Path, **multivariate: object) -> dict:
    spec = spec_for(folder / "current.parquet", folder / "reference.parquet")
    spec["data"]["columns"]["features"] = ["a", "b", "x", "colour"]
    spec["data"]["columns"]["categorical"] = ["colour"]
    spec["drift"] = {"method": "auto", "multivariate": {"methods": ["pcaReconstruction"], **multivariate}}
    return spec


def test_a_flipped_correlation_fails_the_monitor_though_no_feature_drifted(tmp_path: Path) -> None:
    pq.write_table(_with_pair(logged(6000, seed=1), 0.8, 1), tmp_path / "reference.parquet")
    pq.write_table(_with_pair(logged(3000, seed=2), -0.8, 2), tmp_path / "current.parquet")
    results = check(_spec(tmp_path))
    drift = results.drift
    assert drift is not None and not drift.dataset_drift and drift.drifted_share < drift.dataset_drift_share
    [together] = drift.multivariate
    assert (together.method, together.drifted, together.status) == ("pcaReconstruction", True, Verdict.FAILED)
    assert together.statistic is not None and together.threshold is not None
    assert together.statistic > together.threshold
    assert drift.status is Verdict.FAILED and results.verdict is Verdict.FAILED
    document = results.to_document()
    assert document["drift"]["multivariate"][0]["method"] == "pcaReconstruction"
    assert Results.from_document(document).drift.multivariate[0].drifted  # type: ignore[union-attr]
    healthy, condition, *_ = outcome_conditions("Succeeded", results)
    assert (condition.status, condition.reason) == ("True", "MultivariateDrift")
    assert "the features together drifted: pcaReconstruction: mean reconstruction error" in condition.message
    assert "multivariate drift (pcaReconstruction)" in healthy.message
    assert "MULTIVARIATE DRIFT" in render_table(results)


def test_the_same_relation_passes(tmp_path: Path) -> None:
    pq.write_table(_with_pair(logged(6000, seed=1), 0.8, 1), tmp_path / "reference.parquet")
    pq.write_table(_with_pair(logged(3000, seed=2), 0.8, 2), tmp_path / "current.parquet")
    results = check(_spec(tmp_path, alpha=0.01))
    [together] = results.drift.multivariate  # type: ignore[union-attr]
    assert together.status is Verdict.PASSED and not together.drifted
    assert together.details["referenceRows"] == 6000 and together.details["currentRows"] == 3000


def test_each_side_is_read_as_a_sample_of_about_sample_rows(tmp_path: Path) -> None:
    from modelmonitor.api.parsing import parse_spec

    pq.write_table(_with_pair(logged(20000, seed=1), 0.8, 1), tmp_path / "reference.parquet")
    pq.write_table(_with_pair(logged(3000, seed=2), 0.8, 2), tmp_path / "current.parquet")
    spec = parse_spec(_spec(tmp_path, sampleRows=5000))
    context = CheckContext.opened(spec, NOW, None)
    drawn = sample_frame(context, ["a", "colour"], reference=True, rows=5000)
    assert abs(drawn.rows - 5000) < 300  # each row kept with chance 1/4
    assert set(drawn.numbers) == {"a"} and set(drawn.categories) == {"colour"}
    again = sample_frame(context, ["a", "colour"], reference=True, rows=5000)
    assert np.array_equal(drawn.numbers["a"], again.numbers["a"])  # seeded: a run on the same data finds the same
    assert sample_frame(context, ["a"], reference=False, rows=5000).rows == 3000
