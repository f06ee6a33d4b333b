"""A data set cut into partitions: every row read once, in the order of a whole scan, filters intact."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import modelmonitor.data.table as source_module
from modelmonitor.data.table import Partition, Piece, RowFilter, open_table
from modelmonitor.errors import SourceError


def _column(uri: Path | str, partitions: list[Partition] | None, rows: RowFilter | None = None, **kwargs: str) -> list:
    source = open_table(str(uri), **kwargs)
    if partitions is None:
        return [value for batch in source.batches("x", rows) for value in batch.to_pylist()]
    return [
        value for p in partitions for batch in source.batches("x", rows, partition=p) for value in batch.to_pylist()
    ]


@pytest.fixture
def hive(tmp_path: Path) -> Path:
    """Three days of hive-partitioned Parquet: 10, 3 and 25 rows, in row groups of 4."""
    start = 0
    for day, rows in (("2026-01-01", 10), ("2026-01-02", 3), ("2026-01-03", 25)):
        (tmp_path / f"day={day}").mkdir()
        table = pa.table({"x": np.arange(start, start + rows, dtype=np.float64)})
        pq.write_table(table, tmp_path / f"day={day}" / "part.parquet", row_group_size=4)
        start += rows
    return tmp_path


def test_parquet_is_cut_at_row_groups_and_small_files_are_joined(hive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source_module, "PARTITION_ROWS", 8)
    partitions = open_table(str(hive)).partitions()
    first, second, third = (str(hive / f"day=2026-01-0{day}" / "part.parquet") for day in (1, 2, 3))
    assert partitions == [
        Partition((Piece(first, (0, 1)),)),
        Partition((Piece(first, (2,)), Piece(second))),  # 2 + 3 rows: the small file joins the rest of the first
        Partition((Piece(third, (0, 1)),)),
        Partition((Piece(third, (2, 3)),)),
        Partition((Piece(third, (4, 5)),)),
        Partition((Piece(third, (6,)),)),
    ]
    assert _column(hive, partitions) == _column(hive, None) == list(range(38))


def test_a_partition_keeps_the_window_filter_and_the_hive_columns(hive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source_module, "PARTITION_ROWS", 8)
    partitions = open_table(str(hive)).partitions()
    rows = RowFilter(equals=(("day", "2026-01-03"),))
    assert _column(hive, partitions, rows) == _column(hive, None, rows) == list(range(13, 38))


def test_large_data_is_one_partition_per_four_million_rows(tmp_path: Path) -> None:
    table = pa.table({"x": np.zeros(10_000_000, dtype=np.float32)})
    pq.write_table(table, tmp_path / "big.parquet", row_group_size=1_000_000)
    partitions = open_table(str(tmp_path / "big.parquet")).partitions()
    assert [len(p.pieces[0].row_groups or ()) for p in partitions] == [4, 4, 2]


def test_csv_is_split_by_file(tmp_path: Path) -> None:
    for index in range(3):
        pacsv.write_csv(pa.table({"x": [float(index), float(index) + 0.5]}), tmp_path / f"part-{index}.csv")
    partitions = open_table(str(tmp_path), "csv").partitions()
    assert partitions == [Partition((Piece(str(tmp_path / f"part-{index}.csv")),)) for index in range(3)]
    assert _column(tmp_path, partitions, format="csv") == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]


def test_a_file_gone_since_the_partitions_were_listed_is_a_source_error(hive: Path) -> None:
    source = open_table(str(hive))
    gone = Partition((Piece(str(hive / "day=2026-01-09" / "part.parquet")),))
    with pytest.raises(SourceError, match="left the data set during the check"):
        list(source.batches("x", partition=gone))


def test_a_time_window_reads_the_same_rows_partition_by_partition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source_module, "PARTITION_ROWS", 5)
    stamps = pa.array([datetime(2026, 1, 1, hour, tzinfo=UTC) for hour in range(24)], pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table({"ts": stamps, "x": np.arange(24.0)}), tmp_path / "log.parquet", row_group_size=3)
    partitions = open_table(str(tmp_path)).partitions()
    rows = RowFilter("ts", datetime(2026, 1, 1, 17, tzinfo=UTC), datetime(2026, 1, 1, 6, tzinfo=UTC))
    assert len(partitions) == 8
    assert _column(tmp_path, partitions, rows) == _column(tmp_path, None, rows) == list(np.arange(7.0, 18.0))
