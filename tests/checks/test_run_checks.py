"""run_checks over real files: formats, windows, and every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.parsing import parse_spec
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks import run_checks
from modelmonitor.errors import ColumnError, SourceError
from tests.checks.conftest import NOW, check, logged, spec_for


def test_a_healthy_model_passes(data_dir: Path) -> None:
    results = check(spec_for(data_dir / "current.parquet", data_dir / "reference.parquet"))
    document = results.to_document()
    assert document["healthy"], document
    assert document["window"]["rows"] == 2000 and document["window"]["labeledRows"] == 2000
    accuracy = next(m for m in document["metrics"] if m["name"] == "accuracy")
    table = pq.read_table(data_dir / "current.parquet")
    expected = pc.mean(pc.equal(table["label"], table["prediction"]).cast(pa.int8())).as_py()
    assert accuracy["value"] == pytest.approx(expected) and accuracy["status"] == "Passed"
    assert {f["feature"] for f in document["drift"]["features"]} == {"x", "y", "colour"}
    json.dumps(document, allow_nan=False)


def test_drift_and_degradation_fail(tmp_path: Path) -> None:
    pq.write_table(logged(4000, seed=1), tmp_path / "reference.parquet")
    pq.write_table(logged(2000, seed=2, shift=0.8, accuracy=0.6), tmp_path / "current.parquet")
    results = check(spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet"))
    assert not results.healthy and results.verdict is Verdict.FAILED
    drifted = {f.feature for f in results.drift.features if f.drifted}
    assert drifted == {"x", "y"}
    assert results.drift.dataset_drift  # 2 of 3 >= 0.5
    assert next(m for m in results.metrics if m.name == "accuracy").status is Verdict.FAILED


def test_the_window_filters_rows_by_timestamp(data_dir: Path) -> None:
    spec = spec_for(data_dir / "current.parquet", data_dir / "reference.parquet")
    spec["data"]["current"]["window"] = "6h"
    results = check(spec)
    table = pq.read_table(data_dir / "current.parquet")
    start = pa.scalar(NOW.replace(hour=6), pa.timestamp("us", tz="UTC"))
    expected = pc.sum(pc.greater(table["ts"], start).cast(pa.int64())).as_py()
    assert results.window.rows == expected and results.window.start == "2026-11-23T06:00:00Z"


def test_late_labels_are_left_out_of_metrics_and_counted(tmp_path: Path) -> None:
    table = logged(1000, seed=3)
    labels = table["label"].to_numpy().astype(float)
    labels[-300:] = np.nan  # the newest rows have no label yet
    table = table.set_column(
        table.schema.get_field_index("label"), "label", pa.array(labels, from_pandas=True).cast(pa.int64())
    )
    pq.write_table(table, tmp_path / "current.parquet")
    pq.write_table(logged(1000, seed=4), tmp_path / "reference.parquet")
    results = check(spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet"))
    assert results.window.labeled_rows == 700
    assert results.label_coverage == pytest.approx(0.7)
    assert all(m.samples == 700 for m in results.metrics)


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_csv_and_jsonl_give_the_same_results_as_parquet(data_dir: Path, file_format: str) -> None:
    for name in ("current", "reference"):
        table = pq.read_table(data_dir / f"{name}.parquet")
        path = data_dir / f"{name}.{file_format}"
        if file_format == "csv":
            pacsv.write_csv(table, path)
        else:
            frame = table.to_pandas()
            frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            frame.to_json(path, orient="records", lines=True)
    spec = spec_for(data_dir / f"current.{file_format}", data_dir / f"reference.{file_format}")
    spec["data"]["current"]["format"] = spec["data"]["reference"]["format"] = file_format
    ours = check(spec).to_document()
    baseline = check(spec_for(data_dir / "current.parquet", data_dir / "reference.parquet")).to_document()
    assert ours["window"] == baseline["window"]
    for mine, theirs in zip(ours["metrics"], baseline["metrics"], strict=True):
        assert mine["value"] == pytest.approx(theirs["value"])
    for mine, theirs in zip(ours["drift"]["features"], baseline["drift"]["features"], strict=True):
        assert mine["statistic"] == pytest.approx(theirs["statistic"], rel=1e-6)


def test_a_partitioned_parquet_directory(tmp_path: Path) -> None:
    table = logged(3000, seed=5).append_column("day", pa.array(np.repeat(["a", "b", "c"], 1000)))
    pq.write_to_dataset(table, tmp_path / "logs", partition_cols=["day"])
    pq.write_table(logged(3000, seed=6), tmp_path / "reference.parquet")
    spec = spec_for(tmp_path / "logs", tmp_path / "reference.parquet")
    spec["data"]["columns"]["features"] = ["x", "y", "colour"]
    results = check(spec)
    assert results.window.rows == 3000 and results.healthy


def test_a_missing_feature_column_is_an_error_naming_it(data_dir: Path) -> None:
    spec = spec_for(data_dir / "current.parquet", data_dir / "reference.parquet")
    spec["data"]["columns"]["features"] = ["x", "salary"]
    spec["drift"]["threshold"] = 1e-9  # x, the same distribution, must not drift by chance here
    results = check(spec)
    by_name = {f.feature: f for f in results.drift.features}
    assert by_name["x"].status is Verdict.PASSED  # one bad feature does not sink the others
    assert by_name["salary"].status is Verdict.ERROR and "column 'salary': not found" in by_name["salary"].reason
    assert any(q.kind == "missingColumn" and q.column == "salary" for q in results.data_quality)
    assert results.verdict is Verdict.ERROR and "salary" in results.errors[0].message


def test_a_missing_label_column_errors_the_metrics_only(data_dir: Path) -> None:
    spec = spec_for(data_dir / "current.parquet", data_dir / "reference.parquet")
    spec["data"]["columns"]["label"] = "truth"
    results = check(spec)
    assert all(m.status is Verdict.ERROR and "column 'truth'" in m.reason for m in results.metrics)
    assert results.drift is not None and all(f.status is Verdict.PASSED for f in results.drift.features)


def test_an_empty_window_is_inconclusive_with_a_reason(data_dir: Path) -> None:
    results = run_checks(
        parse_spec(spec_for(data_dir / "current.parquet", data_dir / "reference.parquet")), now=NOW.replace(year=2020)
    )
    assert results.window.rows == 0
    assert any(q.kind == "emptyWindow" for q in results.data_quality)
    assert all(m.status is Verdict.INCONCLUSIVE for m in results.metrics)
    assert all(f.status is Verdict.INCONCLUSIVE for f in results.drift.features)
    assert results.healthy  # too little data never alerts


def test_an_all_null_column_is_an_error(tmp_path: Path) -> None:
    table = logged(500, seed=7)
    table = table.set_column(table.schema.get_field_index("x"), "x", pa.nulls(500, pa.float64()))
    pq.write_table(table, tmp_path / "current.parquet")
    pq.write_table(logged(500, seed=8), tmp_path / "reference.parquet")
    results = check(spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet"))
    x = next(f for f in results.drift.features if f.feature == "x")
    assert x.status is Verdict.ERROR and "every value is null" in x.reason
    assert any(q.kind == "allNull" and q.column == "x" for q in results.data_quality)


def test_null_rate_jumps_and_new_categories_are_reported(tmp_path: Path) -> None:
    table = logged(1000, seed=9)
    y = table["y"].to_numpy().copy()
    y[::3] = np.nan
    colours = table["colour"].to_numpy(zero_copy_only=False).copy()
    colours[:50] = "purple"
    table = table.set_column(table.schema.get_field_index("y"), "y", pa.array(y, from_pandas=True))
    table = table.set_column(table.schema.get_field_index("colour"), "colour", pa.array(colours))
    pq.write_table(table, tmp_path / "current.parquet")
    pq.write_table(logged(1000, seed=10), tmp_path / "reference.parquet")
    findings = {
        q.kind: q for q in check(spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet")).data_quality
    }
    assert findings["nullRateJump"].column == "y" and "0.0% to 33.4%" in findings["nullRateJump"].message
    assert findings["newCategory"].details["categories"] == ["purple"]


def test_wrong_types_are_errors_naming_the_column(tmp_path: Path) -> None:
    table = logged(500, seed=11)
    table = table.set_column(table.schema.get_field_index("label"), "label", pa.array(["yes"] * 500))
    pq.write_table(table, tmp_path / "current.parquet")
    pq.write_table(logged(500, seed=12), tmp_path / "reference.parquet")
    spec = spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet")
    spec["model"]["task"] = "regression"
    spec["metrics"] = [{"name": "mae", "max": 1}]
    results = check(spec)
    assert results.metrics[0].status is Verdict.ERROR
    assert "column 'label': is string: expected numbers" in results.metrics[0].reason


def test_a_timestamp_column_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    table = logged(200, seed=13)
    table = table.set_column(0, "ts", pa.array([True] * 200))
    pq.write_table(table, tmp_path / "current.parquet")
    pq.write_table(logged(200, seed=14), tmp_path / "reference.parquet")
    with pytest.raises(ColumnError, match="column 'ts': is bool: a timestamp column must hold"):
        check(spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet"))


def test_a_corrupt_file_is_a_source_error(data_dir: Path) -> None:
    (data_dir / "corrupt.parquet").write_bytes(b"PAR1 this is not parquet at all")
    with pytest.raises(SourceError, match=r"corrupt\.parquet: cannot read as parquet"):
        check(spec_for(data_dir / "corrupt.parquet", data_dir / "reference.parquet"))


def test_a_missing_file_is_a_source_error(data_dir: Path) -> None:
    with pytest.raises(SourceError, match=r"nope\.parquet: no such file or directory"):
        check(spec_for(data_dir / "nope.parquet", data_dir / "reference.parquet"))


def test_per_feature_overrides_and_correction(data_dir: Path) -> None:
    spec = spec_for(data_dir / "current.parquet", data_dir / "reference.parquet")
    spec["drift"] = {
        "method": "ks",
        "correction": "bonferroni",
        "features": [{"name": "y", "method": "psi", "threshold": 0.3}],
    }
    results = check(spec)
    by_name = {f.feature: f for f in results.drift.features}
    assert by_name["y"].method == "psi" and by_name["y"].p_value is None and by_name["y"].threshold == 0.3
    assert by_name["x"].adjusted_p_value == pytest.approx(min(1.0, by_name["x"].p_value * 1))  # one p-value tested
    assert by_name["colour"].status is Verdict.ERROR  # ks on a text column


def test_an_unknown_override_feature_is_reported(data_dir: Path) -> None:
    spec = spec_for(data_dir / "current.parquet", data_dir / "reference.parquet")
    spec["drift"]["features"] = [{"name": "nonexistent", "method": "ks"}]
    results = check(spec)
    assert results.drift is None and "nonexistent" in results.errors[0].message


def test_concept_drift_checks(tmp_path: Path) -> None:
    stable = logged(3000, seed=15)
    changed = logged(3000, seed=16, accuracy=0.6)
    rows = pa.concat_tables([stable.slice(0, 2000), changed.slice(2000)])
    rows = rows.set_column(0, "ts", stable["ts"])  # one time axis, the change two thirds in
    pq.write_table(rows, tmp_path / "current.parquet")
    pq.write_table(logged(3000, seed=17), tmp_path / "reference.parquet")
    spec = spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet")
    spec["conceptDrift"] = [
        {"method": "performanceWindow"},
        {"method": "ddm"},
        {"method": "pageHinkley"},
        {"method": "performanceWindow", "metric": "f1"},
        {"method": "adwin"},
    ]
    results = check(spec)
    window, ddm, page_hinkley, f1, adwin = results.concept_drift
    assert window.status is Verdict.FAILED and window.baseline_value > window.current_value
    assert ddm.detected and page_hinkley.detected and f1.detected and adwin.detected
    change = rows["ts"][2000].as_py()
    started = np.datetime64(ddm.drift_started_at.rstrip("Z"))
    assert abs((started - np.datetime64(change.replace(tzinfo=None))) / np.timedelta64(1, "h")) < 1.0


def test_only_the_monitored_model_versions_rows_count(tmp_path: Path) -> None:
    """An A/B rollout logs two versions side by side; each monitor judges its own."""
    good, bad = logged(1000, seed=20, accuracy=0.95), logged(1000, seed=21, accuracy=0.55)
    both = pa.concat_tables(
        [
            good.append_column("model_version", pa.array(["7"] * 1000)),
            bad.append_column("model_version", pa.array(["8"] * 1000)),
        ]
    )
    pq.write_table(both, tmp_path / "current.parquet")
    pq.write_table(
        logged(1000, seed=22).append_column("model_version", pa.array(["6"] * 1000)), tmp_path / "reference.parquet"
    )
    spec = spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet")
    spec["data"]["columns"]["modelVersion"] = "model_version"
    spec["drift"] = None
    results = {}
    for version in ("7", "8"):
        spec["model"]["version"] = version
        results[version] = check(spec)
    assert results["7"].window.rows == results["8"].window.rows == 1000
    assert results["7"].reference_rows == 1000  # the reference is never filtered by version
    assert results["7"].metrics[0].value == pytest.approx(0.95, abs=0.02) and results["7"].healthy
    assert results["8"].metrics[0].value == pytest.approx(0.55, abs=0.04) and not results["8"].healthy


def test_streaming_counts_nulls_like_the_exact_path(tmp_path: Path) -> None:
    table = logged(5000, seed=30)
    y = table["y"].to_numpy().copy()
    y[::4] = np.nan
    table = table.set_column(table.schema.get_field_index("y"), "y", pa.array(y, from_pandas=True))
    pq.write_table(table, tmp_path / "current.parquet")
    pq.write_table(logged(5000, seed=31), tmp_path / "reference.parquet")
    spec = spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet")
    exact = check(spec)
    spec["drift"]["exactMaxRows"] = 1000
    streamed = check(spec)
    for mine, theirs in zip(streamed.drift.features, exact.drift.features, strict=True):
        assert (mine.reference_samples, mine.current_samples) == (theirs.reference_samples, theirs.current_samples)
    assert [q.kind for q in streamed.data_quality] == [q.kind for q in exact.data_quality] == ["nullRateJump"]


def test_an_infinite_feature_is_a_finding_and_never_hides_a_clear_drift(tmp_path: Path) -> None:
    """All +inf in the current window (finite reference): KS 1.0, p = 0. The NaN effect passed it before."""
    pq.write_table(logged(4000, seed=1), tmp_path / "reference.parquet")
    current = logged(2000, seed=2)
    current = current.set_column(current.schema.get_field_index("x"), "x", pa.array(np.full(2000, np.inf)))
    pq.write_table(current, tmp_path / "current.parquet")
    results = check(spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet"))
    x = next(f for f in results.drift.features if f.feature == "x")
    assert x.drifted and x.status is Verdict.FAILED and x.statistic == 1.0
    assert "effect undefined (infinite values): the test alone decides" in x.reason
    found = next(q for q in results.data_quality if q.kind == "infiniteValues")
    assert found.message == "x: 2000 of 2000 current values are infinite (+inf 2000, -inf 0); reference: 0 of 4000"
    json.dumps(results.to_document(), allow_nan=False)


def test_missing_scores_and_scores_that_are_not_probabilities_are_findings(tmp_path: Path) -> None:
    """A third of the scores NaN, then scores times 3: both passed without a word before."""
    pq.write_table(logged(4000, seed=1), tmp_path / "reference.parquet")
    current = logged(2000, seed=2)
    score = current["score"].to_numpy().copy()
    score[::3] = np.nan
    holed = current.set_column(current.schema.get_field_index("score"), "score", pa.array(score))
    pq.write_table(holed, tmp_path / "current.parquet")
    spec = spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet")
    spec["metrics"].append({"name": "logLoss", "max": 2})
    results = check(spec)
    missing = next(q for q in results.data_quality if q.kind == "missingScores")
    assert missing.message == "score: 667 of 2000 labeled rows have no score; score metrics use the other 1333"
    assert next(m for m in results.metrics if m.name == "rocAuc").samples == 1333
    tripled = current.set_column(current.schema.get_field_index("score"), "score", pc.multiply(current["score"], 3))
    pq.write_table(tripled, tmp_path / "current.parquet")
    results = check(spec)
    outside = next(q for q in results.data_quality if q.kind == "scoresOutOfRange")
    assert "scores lie outside [0, 1] (min" in outside.message and outside.message.endswith("not probabilities")
    log_loss = next(m for m in results.metrics if m.name == "logLoss")
    assert log_loss.status is Verdict.ERROR and "some scores lie outside [0, 1]" in log_loss.reason
    assert next(m for m in results.metrics if m.name == "rocAuc").status is Verdict.PASSED  # ranks need no scale


def test_a_window_without_a_start_is_reported_without_one(tmp_path: Path) -> None:
    """No current window, but a model version to keep to: rows are filtered with no start time."""
    table = logged(500, seed=23).append_column("model_version", pa.array(["7"] * 500))
    pq.write_table(table, tmp_path / "current.parquet")
    pq.write_table(logged(500, seed=24), tmp_path / "reference.parquet")
    spec = spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet")
    spec["data"]["columns"]["modelVersion"] = "model_version"
    spec["data"]["current"]["window"] = None
    spec["model"]["version"] = "7"
    results = check(spec)
    assert results.window.start is None and results.window.rows == 500
