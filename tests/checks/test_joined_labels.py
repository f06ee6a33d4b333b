"""data.labels: labels kept apart and joined by request id judge the model exactly as the same labels inline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.parsing import parse_spec
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks import run_checks
from tests.checks.conftest import NOW, logged, spec_for

DELAY_HOURS = 6  # how long after its prediction a label arrives, at most


def _split(log: pa.Table, seed: int) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The predictions without labels, the labels known by NOW (with their arrival time), and the predictions
    with those labels inline (null where none arrived)."""
    rng = np.random.default_rng(seed)
    rows = log.num_rows
    ids = np.array([f"req-{seed}-{i}" for i in range(rows)])
    predictions = log.drop_columns(["label"]).append_column("request_id", pa.array(ids))
    arrival = log.column("ts").to_numpy() + (rng.uniform(0, DELAY_HOURS * 3600, rows) * 1e6).astype("timedelta64[us]")
    known = arrival <= np.datetime64(NOW.replace(tzinfo=None), "us")
    truth = log.column("label").to_numpy()
    # a wrong label sent first for every tenth id, corrected a minute later; and labels of ids never logged
    wrong = known & (np.arange(rows) % 10 == 0)
    stray = 37
    labels = pa.table(
        {
            "request_id": np.concatenate([ids[known], ids[wrong], [f"stray-{i}" for i in range(stray)]]),
            "defaulted": np.concatenate([truth[known], 1 - truth[wrong], np.ones(stray, dtype=truth.dtype)]),
            "ts": pa.array(
                np.concatenate(
                    [
                        arrival[known],
                        arrival[wrong] - np.timedelta64(60, "s"),
                        np.full(stray, np.datetime64(NOW.replace(tzinfo=None) - timedelta(hours=1), "us")),
                    ]
                ),
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    order = rng.permutation(labels.num_rows)  # labels are filed as they come, in no order of the predictions'
    inline = log.set_column(log.schema.get_field_index("label"), "label", pa.array(np.where(known, truth, None)))
    return predictions, labels.take(pa.array(order)), inline


def joined_specs(tmp_path: Path) -> tuple[dict, dict]:
    """A monitor of predictions with their labels inline, and its twin reading them from a folder of labels."""
    log = logged(6000, seed=2, hours=48, accuracy=0.85)
    predictions, labels, inline = _split(log, seed=2)
    pq.write_table(logged(4000, seed=1), tmp_path / "reference.parquet")
    pq.write_table(predictions, tmp_path / "predictions.parquet")
    pq.write_table(inline, tmp_path / "inline.parquet")
    folder = tmp_path / "labels"
    folder.mkdir()
    for number, at in enumerate(range(0, labels.num_rows, 1500)):  # several files, as a collector flushes them
        pq.write_table(labels.slice(at, 1500), folder / f"part-{number}.parquet")
    spec = spec_for(tmp_path / "inline.parquet", tmp_path / "reference.parquet")
    spec["conceptDrift"] = [{"method": "performanceWindow", "baseline": "previousWindow", "metric": "accuracy"}]
    spec["performanceEstimation"] = {"method": "cbpe"}  # it estimates the rows whose labels have yet to come
    joined = spec_for(tmp_path / "predictions.parquet", tmp_path / "reference.parquet")
    joined.update({key: value for key, value in spec.items() if key != "data"})
    joined["data"]["labels"] = {
        "uri": str(folder),
        "idColumn": "request_id",
        "labelColumn": "defaulted",
        "timestampColumn": "ts",
    }
    joined["data"]["columns"]["label"] = "label"  # the labels' defaulted joins as label, the reference's name
    return spec, joined


def _documents(tmp_path: Path) -> tuple[dict, dict]:
    inline, joined = joined_specs(tmp_path)
    return (
        run_checks(parse_spec(inline), now=NOW, name="m").to_document(),
        run_checks(parse_spec(joined), now=NOW, name="m").to_document(),
    )


def test_joined_labels_give_the_results_of_the_same_labels_inline(tmp_path: Path) -> None:
    inline, joined = _documents(tmp_path)
    found = joined.pop("dataQuality")
    assert [f for f in found if f["kind"] != "unmatchedLabels"] == inline.pop("dataQuality")
    for document in (inline, joined):
        document.pop("spec")
    assert "request_id" not in [f["feature"] for f in joined["drift"]["features"]]  # an id is never a feature
    assert joined == inline
    window = joined["window"]
    assert 0 < window["labeledRows"] < window["rows"] - 100  # the labels of the last hours have yet to come
    assert [m["status"] for m in joined["metrics"]] == [Verdict.PASSED, Verdict.PASSED]
    assert joined["conceptDrift"][0]["status"] in (Verdict.PASSED, Verdict.FAILED)
    assert joined["performanceEstimation"]["unlabeledRows"] == window["rows"] - window["labeledRows"]
    [unmatched] = [f for f in found if f["kind"] == "unmatchedLabels"]
    # the strays, and the labels since the window's start of predictions made before it
    assert unmatched["details"]["unmatched"] >= 37
    assert unmatched["details"]["matched"] == window["labeledRows"]
    assert "match no prediction in it" in unmatched["message"]


def test_a_previous_window_check_sees_the_labels_of_its_own_window(tmp_path: Path) -> None:
    inline, joined = _documents(tmp_path)
    assert joined["conceptDrift"] == inline["conceptDrift"]
    previous = joined["conceptDrift"][0]
    assert previous["samples"] > 2000 and previous["baselineValue"] is not None


def test_labels_with_ids_that_meet_no_prediction_say_so(tmp_path: Path) -> None:
    log = logged(2000, seed=4)
    predictions = log.drop_columns(["label"]).append_column("request_id", pa.array([f"r{i}" for i in range(2000)]))
    pq.write_table(predictions, tmp_path / "predictions.parquet")
    pq.write_table(log, tmp_path / "reference.parquet")
    labels = pa.table({"id": [f"R{i}" for i in range(2000)], "label": log.column("label")})  # another id's form
    pq.write_table(labels, tmp_path / "labels.parquet")
    spec = spec_for(tmp_path / "predictions.parquet", tmp_path / "reference.parquet")
    spec["data"]["labels"] = {"uri": str(tmp_path / "labels.parquet"), "idColumn": "id"}
    spec["data"]["columns"]["requestId"] = "request_id"
    results = run_checks(parse_spec(spec), now=NOW, name="m")
    assert results.window.labeled_rows == 0
    assert [m.status for m in results.metrics] == [Verdict.INCONCLUSIVE] * 2
    [finding] = [f for f in results.data_quality if f.kind == "unmatchedLabels"]
    assert finding.details == {"labels": 2000, "matched": 0, "unmatched": 2000}
    assert "none meets a prediction: do the ids meet (id of" in finding.message


def test_labels_yet_to_arrive_leave_the_rows_unlabelled_not_the_run_failed(tmp_path: Path) -> None:
    log = logged(2000, seed=4)
    predictions = log.drop_columns(["label"]).append_column("request_id", pa.array([f"r{i}" for i in range(2000)]))
    pq.write_table(predictions, tmp_path / "predictions.parquet")
    pq.write_table(log, tmp_path / "reference.parquet")
    spec = spec_for(tmp_path / "predictions.parquet", tmp_path / "reference.parquet")
    spec["data"]["labels"] = {"uri": str(tmp_path / "feedback"), "idColumn": "request_id"}
    results = run_checks(parse_spec(spec), now=NOW, name="m")
    assert results.errors == []
    assert results.window.rows == 2000 and results.window.labeled_rows == 0
    assert [m.status for m in results.metrics] == [Verdict.INCONCLUSIVE] * 2
    assert [f.kind for f in results.data_quality if f.column == "label"] == ["noLabels"]


def test_an_unlabelled_reference_gets_the_labels_too_and_a_labelled_one_keeps_its_own(tmp_path: Path) -> None:
    log = logged(3000, seed=5, hours=48)
    ids = pa.array([f"r{i}" for i in range(3000)])
    pq.write_table(log.drop_columns(["label"]).append_column("request_id", ids), tmp_path / "logs.parquet")
    pq.write_table(pa.table({"request_id": ids, "label": log.column("label")}), tmp_path / "labels.parquet")
    spec = spec_for(tmp_path / "logs.parquet", tmp_path / "logs.parquet")
    spec["data"]["reference"]["window"] = "48h"  # the reference: the same logs over two days
    spec["data"]["labels"] = {"uri": str(tmp_path / "labels.parquet"), "idColumn": "request_id"}
    spec["conceptDrift"] = [{"method": "performanceWindow", "baseline": "reference", "metric": "accuracy"}]
    results = run_checks(parse_spec(spec), now=NOW, name="m")
    assert results.errors == []
    assert results.concept_drift[0].baseline_value is not None  # the reference's rows found their labels
    inline = spec_for(tmp_path / "inline.parquet", tmp_path / "inline.parquet")
    inline["data"]["reference"]["window"] = "48h"
    inline["conceptDrift"] = spec["conceptDrift"]
    pq.write_table(log, tmp_path / "inline.parquet")
    expected = run_checks(parse_spec(inline), now=NOW, name="m")
    assert results.concept_drift == expected.concept_drift and results.metrics == expected.metrics


@pytest.mark.parametrize("wrong", ["idColumn", "labelColumn"])
def test_a_labels_column_that_is_not_there_is_an_error_naming_it(tmp_path: Path, wrong: str) -> None:
    log = logged(500, seed=6)
    ids = pa.array([f"r{i}" for i in range(500)])
    pq.write_table(log.drop_columns(["label"]).append_column("request_id", ids), tmp_path / "logs.parquet")
    pq.write_table(pa.table({"request_id": ids, "label": log.column("label")}), tmp_path / "labels.parquet")
    spec = spec_for(tmp_path / "logs.parquet", tmp_path / "logs.parquet")
    spec["data"]["labels"] = {"uri": str(tmp_path / "labels.parquet"), "idColumn": "request_id", wrong: "nope"}
    spec["data"]["columns"]["requestId"] = "request_id"
    results = run_checks(parse_spec(spec), now=NOW, name="m")
    assert {m.status for m in results.metrics} == {Verdict.ERROR}
    assert any("'nope'" in e.message and "labels.parquet" in e.message for e in results.errors)
    assert results.drift is not None and results.drift.features  # the checks without labels still run
