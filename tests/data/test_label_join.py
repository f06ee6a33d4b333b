"""The label index: each prediction gets its id's latest label, as pandas.merge gives it, in 12 bytes a label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelmonitor.data import label_join
from modelmonitor.data.label_join import LabelColumns, LabeledSource, LabelIndex
from modelmonitor.data.table import open_table
from modelmonitor.errors import ColumnError

COLUMNS = LabelColumns("id", "label", "ts")


def _labels(ids: list, labels: list, times: list | None = None) -> pa.RecordBatch:
    columns = {"id": ids, "label": labels}
    if times is not None:
        columns["ts"] = pa.array(np.array(times, dtype="datetime64[s]").astype("datetime64[us]"), pa.timestamp("us"))
    return pa.RecordBatch.from_pydict(columns)


def test_each_id_gets_its_label_as_a_merge_gives_it_over_many_random_ids() -> None:
    rng = np.random.default_rng(3)
    label_ids = rng.choice(1_000_000, 50_000, replace=False)
    values = rng.integers(0, 2, len(label_ids))
    batches = [
        pa.RecordBatch.from_pydict(
            {"id": [f"req-{i}" for i in label_ids[at : at + 7_000]], "label": values[at : at + 7_000]}
        )
        for at in range(0, len(label_ids), 7_000)
    ]
    index = LabelIndex.build(batches, LabelColumns("id", "label"), pa.int64())
    asked = rng.choice(1_000_000, 80_000)
    found = index.lookup(pa.array([f"req-{i}" for i in asked])).to_pylist()
    merged = pd.DataFrame({"id": asked}).merge(pd.DataFrame({"id": label_ids, "label": values}), how="left", on="id")
    expected = [None if np.isnan(v) else int(v) for v in merged["label"]]
    assert found == expected
    assert sum(v is not None for v in found) > 3_000  # both outcomes are there plenty
    assert index.size == index.read == 50_000


def test_an_id_labelled_twice_keeps_its_latest_label_by_time_or_else_the_last_read() -> None:
    first = _labels(["a", "b", "c"], [1, 1, 1], ["2026-01-03", "2026-01-01", "2026-01-01"])
    second = _labels(["a", "b"], [0, 0], ["2026-01-02", "2026-01-02"])  # read later, a's label older
    index = LabelIndex.build([first, second], COLUMNS, pa.int64())
    assert index.lookup(pa.array(["a", "b", "c", "d"])).to_pylist() == [1, 0, 1, None]
    assert (index.size, index.read) == (3, 5)
    untimed = LabelIndex.build(
        [first.drop_columns(["ts"]), second.drop_columns(["ts"])], LabelColumns("id", "label"), pa.int64()
    )
    assert untimed.lookup(pa.array(["a", "b", "c"])).to_pylist() == [0, 0, 1]


def test_ids_compare_as_text_and_null_ids_join_nothing() -> None:
    index = LabelIndex.build(
        [_labels(["7", None, "x"], ["yes", "no", "maybe"])], LabelColumns("id", "label"), pa.string()
    )
    assert index.size == 2  # a label without an id belongs to no prediction
    assert index.lookup(pa.array([7, None, 8])).to_pylist() == ["yes", None, None]
    assert index.lookup(pa.array(["x", "7"], pa.large_string())).to_pylist() == ["maybe", "yes"]


def test_ids_whose_64_bit_hashes_collide_are_told_apart_by_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    real = label_join.hashed_ids

    def colliding(ids: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        keys, checks, there = real(ids)
        return np.zeros_like(keys), checks, there  # every id on one 64-bit hash

    monkeypatch.setattr(label_join, "hashed_ids", colliding)
    index = LabelIndex.build([_labels(["p", "q", "r", "s"], [1, 2, 3, 4])], LabelColumns("id", "label"), pa.int64())
    assert index.size == 4
    assert index.lookup(pa.array(["s", "q", "z", "p", "r"])).to_pylist() == [4, 2, None, 1, 3]


def test_no_labels_at_all_join_nothing() -> None:
    index = LabelIndex.build([], COLUMNS, pa.int64())
    assert index.lookup(pa.array(["a"])).to_pylist() == [None]


def _joined(tmp_path: Path, predictions: pa.Table, *, keep_own: bool = False) -> LabeledSource:
    pq.write_table(predictions, tmp_path / "predictions.parquet")
    pq.write_table(pa.table({"request_id": ["r1", "r3"], "outcome": [1, 0]}), tmp_path / "labels.parquet")
    return LabeledSource(
        open_table(str(tmp_path / "predictions.parquet")),
        open_table(str(tmp_path / "labels.parquet")),
        None,
        "rid",
        LabelColumns("request_id", "outcome"),
        "label",
        keep_own=keep_own,
    )


def test_the_joined_source_reads_the_label_as_a_column_of_its_own_and_the_id_is_no_feature(tmp_path: Path) -> None:
    source = _joined(tmp_path, pa.table({"rid": ["r1", "r2", "r3"], "prediction": [1, 1, 1], "x": [0.1, 0.2, 0.3]}))
    assert source.column_names == ["rid", "prediction", "x", "label"]
    assert source.require("label") == pa.int64()
    assert source.non_feature_columns == ["rid"]
    assert source.read(["label", "prediction"]).to_pydict() == {"label": [1, None, 0], "prediction": [1, 1, 1]}
    assert source.read(["x"]).column_names == ["x"]  # without the label, nothing is joined
    assert source.count() == 3


def test_a_label_column_of_the_predictions_own_is_refused_unless_kept(tmp_path: Path) -> None:
    predictions = pa.table({"rid": ["r1", "r2"], "prediction": [1, 0], "label": [0, 0]})
    with pytest.raises(ColumnError, match=r"has a column label of its own and data\.labels joins one"):
        _joined(tmp_path, predictions).read(["label"])
    assert _joined(tmp_path, predictions, keep_own=True).read(["label"]).column("label").to_pylist() == [0, 0]


def test_pinned_slices_join_the_labels_listed_once_though_more_arrive(tmp_path: Path) -> None:
    """What each worker of a Dask check joins: the label files the check's own process listed."""
    pq.write_table(pa.table({"rid": ["r1", "r2"], "prediction": [1, 0]}), tmp_path / "predictions.parquet")
    (tmp_path / "labels").mkdir()
    pq.write_table(pa.table({"id": ["r1"], "label": [1]}), tmp_path / "labels" / "a.parquet")

    def joined(pinned: tuple | None = None) -> LabeledSource:
        predictions, labels = open_table(str(tmp_path / "predictions.parquet")), open_table(str(tmp_path / "labels"))
        return LabeledSource(predictions, labels, None, "rid", LabelColumns("id", "label"), "label", pinned=pinned)

    pinned = joined().label_slices()
    pq.write_table(pa.table({"id": ["r2"], "label": [0]}), tmp_path / "labels" / "b.parquet")
    assert joined(pinned).read(["label"]).column("label").to_pylist() == [1, None]
    assert joined().read(["label"]).column("label").to_pylist() == [1, 0]
