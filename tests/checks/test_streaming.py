"""Streamed drift as a map over partitions and a merge: exact moments and counts, bounded statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import modelmonitor.data.table as source_module
from modelmonitor.api.drift import DriftMethod
from modelmonitor.api.parsing import parse_spec
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.executors import InProcess
from modelmonitor.checks.streaming import ColumnScan, merge_scans, plan_numeric, plan_values, scan_partition
from modelmonitor.data.table import Partition, Piece, open_table
from tests.checks.conftest import NOW, check, logged, spec_for


@pytest.mark.parametrize("seed", range(5))
def test_merged_scans_hold_the_moments_of_all_their_values(seed: int) -> None:
    rng = np.random.default_rng(seed)
    parts = [rng.normal(rng.uniform(-1e3, 1e3), rng.uniform(0.1, 50.0), rng.integers(0, 5000)) for _ in range(9)]
    parts.append(np.full(40, np.nan))  # a partition of nulls only
    for part in parts[:4]:
        part[rng.random(part.size) < 0.2] = np.nan
    merged = ColumnScan()
    for part in parts:
        scan = ColumnScan()
        for batch in np.array_split(part, 3):
            scan.add(batch)
        merged.merge(scan)
    values = np.concatenate(parts)
    valid = values[~np.isnan(values)]
    assert (merged.rows, merged.nulls) == (values.size, values.size - valid.size)
    assert merged.mean == pytest.approx(valid.mean(), rel=1e-12)
    assert merged.std == pytest.approx(valid.std(), rel=1e-10)
    assert (merged.low, merged.high) == (valid.min(), valid.max())


def _partitioned(directory: Path, table: pa.Table, files: int) -> Path:
    directory.mkdir()
    for index, rows in enumerate(np.array_split(np.arange(table.num_rows), files)):
        pq.write_table(table.take(rows), directory / f"part-{index:02d}.parquet", row_group_size=700)
    return directory


def test_many_partitions_stream_within_the_stated_error_of_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source_module, "PARTITION_ROWS", 2000)
    reference = _partitioned(tmp_path / "reference", logged(30_000, seed=1), 5)
    current = _partitioned(tmp_path / "current", logged(20_000, seed=2, shift=0.1), 4)
    spec = spec_for(current, reference)
    assert len(open_table(str(reference)).partitions()) >= 20  # of two row groups, 1,400 rows, at most
    exact = check(spec)
    spec["drift"]["exactMaxRows"] = 1000
    streamed = check(spec)
    assert exact.drift is not None and streamed.drift is not None
    for mine, theirs in zip(streamed.drift.features, exact.drift.features, strict=True):
        assert (mine.feature, mine.drifted, mine.current_samples) == (
            theirs.feature,
            theirs.drifted,
            theirs.current_samples,
        )
        if mine.approximate:
            assert abs(mine.statistic - theirs.statistic) <= mine.approximation_error
        else:  # counted by value: exact
            assert (mine.statistic, mine.p_value) == (theirs.statistic, theirs.p_value)
    assert [f.feature for f in streamed.drift.features if f.approximate] == ["x", "y"]


def _context(directory: Path, tmp_path: Path) -> CheckContext:
    spec = parse_spec(spec_for(directory, directory))
    return CheckContext(spec, NOW, open_table(str(directory)), open_table(str(directory)))


def test_a_file_gone_mid_check_is_that_features_error(tmp_path: Path) -> None:
    directory = _partitioned(tmp_path / "log", logged(3000, seed=1), 3)
    context = _context(directory, tmp_path)
    executor = InProcess(context)
    assert plan_numeric(executor, context, "x", DriftMethod.AUTO, None).status is Verdict.PASSED
    (directory / "part-01.parquet").unlink()
    outcome = plan_numeric(executor, context, "x", DriftMethod.AUTO, None)  # partitions listed before the loss
    assert outcome.status is Verdict.ERROR and "part-01.parquet" in outcome.reason
    assert [finding.kind for finding in outcome.findings] == ["missingColumn"]
    counted = plan_values(executor, context, "colour", DriftMethod.AUTO, None, (False, True))
    assert counted.status is Verdict.ERROR and "part-01.parquet" in counted.reason


def test_a_partition_scan_keeps_every_strideth_value_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source_module, "PARTITION_ROWS", 1000)  # one file each
    directory = _partitioned(tmp_path / "log", logged(3000, seed=1), 3)
    context = _context(directory, tmp_path)
    partitions = context.reference.partitions()
    scans = [scan_partition(context, "x", True, partition, 7) for partition in partitions]
    values = pq.read_table(directory, columns=["x"])["x"].to_numpy()
    assert np.array_equal(
        np.concatenate([s.sample for s in scans]), np.concatenate([part[::7] for part in np.array_split(values, 3)])
    )
    first = merge_scans(context, "x", DriftMethod.KS, scans, scans)
    assert first.proceed and first.plan is not None and first.reference.count == 3000
    gone = Partition((Piece(str(directory / "nowhere.parquet")),))
    assert "left the data set" in scan_partition(context, "x", True, gone, 7).error
