"""Performance metrics and concept drift from labeled rows mapped over partitions and merged."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn import metrics as sk

import modelmonitor.data.table as source_module
from modelmonitor.api.parsing import parse_spec
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.executors import InProcess
from modelmonitor.checks.labeled_parts import CURRENT, LabelsTask
from tests.checks.conftest import NOW, check, logged, spec_for

CONCEPT = [
    {"method": "performanceWindow", "baseline": "reference"},
    {"method": "performanceWindow", "baseline": "previousWindow", "metric": "f1"},
    {"method": "performanceWindow", "baseline": "reference", "metric": "rocAuc"},
    {"method": "ddm"},
    {"method": "adwin"},
]


def _write_in_pieces(table: pa.Table, folder: Path) -> Path:
    """Three files of 1,000-row row groups: many partitions when PARTITION_ROWS is small."""
    folder.mkdir()
    cuts = [0, table.num_rows // 3, 2 * table.num_rows // 3, table.num_rows]
    for index, (start, end) in enumerate(itertools.pairwise(cuts)):
        pq.write_table(table.slice(start, end - start), folder / f"part-{index}.parquet", row_group_size=1000)
    return folder


def _late_labels(table: pa.Table, every: int) -> pa.Table:
    label = table["label"].to_numpy().astype(float)
    label[::every] = np.nan  # NaN floats: labels yet to arrive, like nulls
    score = table["score"].to_numpy().copy()
    score[::13] = np.nan
    table = table.set_column(table.schema.get_field_index("label"), "label", pa.array(label))
    return table.set_column(table.schema.get_field_index("score"), "score", pa.array(score))


@pytest.fixture
def binary_spec(tmp_path: Path) -> dict[str, Any]:
    current = _write_in_pieces(_late_labels(logged(12_000, seed=2, accuracy=0.85, hours=48), 7), tmp_path / "current")
    pq.write_table(logged(6000, seed=1), tmp_path / "reference.parquet")
    spec = spec_for(current, tmp_path / "reference.parquet")
    spec["metrics"] = [{"name": name, "min": 0.5} for name in ("accuracy", "f1", "balancedAccuracy", "rocAuc")]
    spec["metrics"].append({"name": "precision", "min": 0.5, "average": "macro"})
    spec["conceptDrift"] = CONCEPT
    del spec["drift"]
    return spec


def test_many_partitions_give_the_same_results_as_one(
    binary_spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = check(binary_spec).to_document()
    monkeypatch.setattr(source_module, "PARTITION_ROWS", 1000)  # 12 partitions of the current window
    assert len(source_module.open_table(binary_spec["data"]["current"]["uri"]).partitions()) == 12
    assert check(binary_spec).to_document() == whole


def test_merged_counts_give_scikit_learns_metrics(binary_spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source_module, "PARTITION_ROWS", 1000)
    results = check(binary_spec)
    table = pq.read_table(binary_spec["data"]["current"]["uri"]).to_pandas()
    since = pd.Timestamp(NOW) - pd.Timedelta(hours=24)
    labeled = table[table["label"].notna() & (table["ts"] > since) & (table["ts"] <= pd.Timestamp(NOW))]
    scored = labeled[labeled["score"].notna()]
    y_true, y_pred = labeled["label"].astype(int), labeled["prediction"]
    expected = {
        "accuracy": sk.accuracy_score(y_true, y_pred),
        "f1": sk.f1_score(y_true, y_pred),
        "balancedAccuracy": sk.balanced_accuracy_score(y_true, y_pred),
        "precision": sk.precision_score(y_true, y_pred, average="macro"),
        "rocAuc": sk.roc_auc_score(scored["label"].astype(int), scored["score"]),
    }
    assert {m.name: m.value for m in results.metrics} == pytest.approx(expected, abs=1e-12)
    assert results.window.labeled_rows == len(labeled)
    assert [f.kind for f in results.data_quality] == ["missingScores"]


def test_a_monitor_of_label_metrics_keeps_counts_not_rows(binary_spec: dict[str, Any]) -> None:
    """Label metrics and their window tests need confusion matrices only: no row is gathered."""
    spec = copy.deepcopy(binary_spec)
    spec["metrics"] = [m for m in spec["metrics"] if m["name"] != "rocAuc"]
    spec["conceptDrift"] = CONCEPT[:2]
    context = CheckContext.opened(parse_spec(spec), NOW, None)
    labeled = LabelsTask().submit(context, InProcess(context))
    assert not labeled.error and labeled.plan.gathering == frozenset()
    assert all(side.gathered is None for side in labeled.sides.values())
    assert set(labeled.sides) == {CURRENT, "reference", "previousWindow"}
    assert sum(int(m.sum()) for m in labeled.sides[CURRENT].matrices.values()) == labeled.sides[CURRENT].rows
    with_scores = CheckContext.opened(parse_spec(binary_spec), NOW, None)
    gathered = LabelsTask().submit(with_scores, InProcess(with_scores))
    assert gathered.plan.gathering == frozenset({CURRENT, "reference"})  # rocAuc's window test


def test_above_max_gathered_rows_single_rows_are_a_uniform_sample_and_label_metrics_count_all(
    binary_spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = check(binary_spec)
    spec = copy.deepcopy(binary_spec)
    spec["data"]["maxGatheredRows"] = 2000
    monkeypatch.setattr(source_module, "PARTITION_ROWS", 1000)
    sampled = check(spec)
    assert check(spec).to_document() == sampled.to_document()  # the same sample on every run
    values, kept = ({m.name: m for m in results.metrics} for results in (whole, sampled))
    for name in ("accuracy", "f1", "balancedAccuracy", "precision"):  # counted: exact, every row
        assert kept[name].value == values[name].value and kept[name].samples == values[name].samples
    labeled = sampled.window.labeled_rows
    assert 1700 < kept["rocAuc"].samples < 2300 and values["rocAuc"].samples > 2 * kept["rocAuc"].samples
    assert kept["rocAuc"].value == pytest.approx(values["rocAuc"].value, abs=0.05)
    finding = next(f for f in sampled.data_quality if f.kind == "labeledRowsSampled")
    assert finding.message.startswith(f"current: {labeled:,} labeled rows > data.maxGatheredRows 2,000")
    assert [c.status for c in sampled.concept_drift] == [c.status for c in whole.concept_drift]
    assert {c.method for c in sampled.concept_drift if c.method in ("ddm", "adwin")} == {"ddm", "adwin"}


def test_float_labels_with_nan_are_labels_yet_to_arrive(tmp_path: Path) -> None:
    """A float label column with NaN for missing labels failed the whole performance check (an int64 overflow)."""
    table = logged(3000, seed=3)
    as_null = table.set_column(
        table.schema.get_field_index("label"),
        "label",
        pa.array(np.where(np.arange(3000) % 5 == 0, None, table["label"].to_numpy()).tolist(), pa.int64()),
    )
    as_nan = _late_labels(table, 5).set_column(table.schema.get_field_index("score"), "score", table["score"])
    pq.write_table(as_null, tmp_path / "null.parquet")
    pq.write_table(as_nan, tmp_path / "nan.parquet")
    pq.write_table(logged(3000, seed=1), tmp_path / "reference.parquet")
    documents = []
    for name in ("null", "nan"):
        results = check(spec_for(tmp_path / f"{name}.parquet", tmp_path / "reference.parquet"))
        assert not results.errors and results.window.labeled_rows == 2400
        documents.append({m.name: m.value for m in results.metrics})
    assert documents[0] == documents[1]


def test_a_file_that_vanishes_mid_check_is_a_performance_error(
    binary_spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source_module, "PARTITION_ROWS", 1000)
    spec = parse_spec(binary_spec)
    context = CheckContext.opened(spec, NOW, None)
    context.current.partitions()
    (Path(binary_spec["data"]["current"]["uri"]) / "part-1.parquet").unlink()
    labeled = LabelsTask().submit(context, InProcess(context))
    assert "part-1.parquet" in labeled.error
