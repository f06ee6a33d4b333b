"""Hive partitions named by time that end before the window are never opened, and the results do not change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.parsing import parse_spec
from modelmonitor.checks import data_bytes, run_checks
from modelmonitor.data.table import RowFilter, open_table
from modelmonitor.data.time_partitions import ends_by, partition_end
from modelmonitor.errors import SourceError
from tests.checks.conftest import NOW, logged, spec_for


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("keys", "end"),
    [
        ({"date": "2026-12-06", "hour": 13}, _at(2026, 12, 6, 14)),
        ({"date": "2026-12-06", "hour": "07"}, _at(2026, 12, 6, 8)),
        ({"date": "2026-12-31", "hour": 23}, _at(2027, 1, 1)),
        ({"date": "2026-12-06"}, _at(2026, 12, 7)),
        ({"dt": 20261206}, _at(2026, 12, 7)),
        ({"DT": "20261206", "region": "eu"}, _at(2026, 12, 7)),
        ({"year": 2026, "month": 12, "day": 6, "hour": 0}, _at(2026, 12, 6, 1)),
        ({"year": 2026, "month": 12, "day": 6}, _at(2026, 12, 7)),
        ({"year": 2026, "month": 12}, _at(2027, 1, 1)),
        ({"year": 2026, "month": 2}, _at(2026, 3, 1)),
        ({"year": 2026}, _at(2027, 1, 1)),
    ],
)
def test_a_partition_ends_where_its_keys_say(keys: dict[str, object], end: datetime) -> None:
    assert partition_end(keys) == end


@pytest.mark.parametrize(
    "keys",
    [
        {},
        {"region": "eu"},
        {"hour": 13},  # a directory inside date=...: the day is not in the keys
        {"date": "yesterday"},
        {"date": "2026-02-30"},
        {"year": 2026, "month": 13},
        {"year": 2026, "month": 2, "day": 30},
        {"date": "2026-12-06", "hour": 24},
        {"year": "twenty"},
    ],
)
def test_keys_that_name_no_time_keep_the_partition(keys: dict[str, object]) -> None:
    assert partition_end(keys) is None and not ends_by(keys, _at(2100, 1, 1))


def test_a_partition_ends_by_the_moment_it_stops_at() -> None:
    keys = {"date": "2026-12-06", "hour": 13}
    assert ends_by(keys, _at(2026, 12, 6, 14)) and not ends_by(keys, _at(2026, 12, 6, 13, 59, 59))


HOURS = 48


def write_hourly(directory: Path, table: pa.Table) -> list[Path]:
    """The rows written as date=.../hour=... partitions by their ts; the partitions' files, oldest first."""
    files = []
    for hour in range(HOURS, 0, -1):
        start = NOW - timedelta(hours=hour)
        rows = table.filter(
            pc.and_(pc.greater_equal(table["ts"], start), pc.less(table["ts"], start + timedelta(hours=1)))
        )
        folder = directory / f"date={start:%Y-%m-%d}" / f"hour={start:%H}"
        folder.mkdir(parents=True)
        pq.write_table(rows, folder / "part-0.parquet")
        files.append(folder / "part-0.parquet")
    return files


def _break_before_the_window(files: list[Path]) -> int:
    """Overwrite the files of every partition that ends by the 24 h window's start but the first, which
    discovery reads for the schema: opening any of them would fail. How many were broken."""
    start = NOW - timedelta(hours=24)
    broken = 0
    for file in files[1:]:
        if ends_by(partition_keys(file), start):
            file.write_bytes(b"not parquet: reading this means the partition was opened")
            broken += 1
    return broken


def test_a_window_never_opens_the_partitions_before_it(tmp_path: Path) -> None:
    table = logged(4000, seed=5, hours=HOURS)
    files = write_hourly(tmp_path / "logs", table)
    assert _break_before_the_window(files) == 23
    source = open_table(str(tmp_path / "logs"))
    rows = RowFilter("ts", NOW, NOW - timedelta(hours=24))
    expected = table.filter(pc.greater(table["ts"], NOW - timedelta(hours=24)))["x"].to_pylist()

    assert source.count(rows) == len(expected)
    assert source.read(["x"], rows)["x"].to_pylist() == expected
    assert [v for batch in source.batches("x", rows) for v in batch.to_pylist()] == expected
    partitioned = [
        v
        for p in source.partitions(rows)
        for batch in source.batches("x", rows, partition=p)
        for v in batch.to_pylist()
    ]
    assert partitioned == expected
    with pytest.raises(
        SourceError, match="magic bytes not found"
    ):  # the broken files are there: a read of everything meets them
        source.count()


@pytest.mark.parametrize("broken", [True, False])
def test_the_checks_on_partitioned_logs_equal_those_on_one_file(tmp_path: Path, broken: bool) -> None:
    """Every check (drift, metrics, concept drift, estimation) reads only its window's partitions, and finds
    what it finds in the same rows kept in one file. Intact, the previous window's partitions are read too."""
    table = logged(6000, seed=8, hours=HOURS)
    files = write_hourly(tmp_path / "logs", table)
    if broken:
        _break_before_the_window(files)
    pq.write_table(table, tmp_path / "current.parquet")
    pq.write_table(logged(3000, seed=9), tmp_path / "reference.parquet")
    concept = [{"method": "performanceWindow", "metric": "accuracy", "baseline": "reference"}]
    if not broken:
        concept.append({"method": "performanceWindow", "metric": "accuracy", "baseline": "previousWindow"})
    overrides = {"conceptDrift": concept, "performanceEstimation": {"method": "cbpe"}}

    def results(current: Path) -> dict:
        spec = spec_for(current, tmp_path / "reference.parquet", **overrides)
        document = run_checks(parse_spec(spec), now=NOW).to_document()
        document.pop("spec", None)
        return document

    flat, partitioned = results(tmp_path / "current.parquet"), results(tmp_path / "logs")
    assert partitioned["window"]["rows"] > 2000 and not partitioned.get("errors")
    assert len(partitioned["conceptDrift"]) == len(concept)
    assert partitioned == flat


def test_a_run_counts_the_bytes_of_the_partitions_its_window_reads(tmp_path: Path) -> None:
    """What the inline size limit and the auto runner weigh: the window's partitions, and a reference whole."""
    files = write_hourly(tmp_path / "logs", logged(3000, seed=10, hours=HOURS))
    start = NOW - timedelta(hours=24)
    inside = sum(file.stat().st_size for file in files if not ends_by(partition_keys(file), start))
    whole = sum(file.stat().st_size for file in files)
    spec = parse_spec(spec_for(tmp_path / "logs", tmp_path / "logs"))
    assert 0 < inside < whole
    assert data_bytes(spec, now=NOW) == inside + whole


def partition_keys(file: Path) -> dict[str, str]:
    return dict(part.split("=") for part in (file.parent.parent.name, file.parent.name))
