"""Performance before the labels arrive: run_checks with performanceEstimation (CBPE) over real files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import accuracy_score, f1_score

import modelmonitor.data.table as source_module
from modelmonitor.api.parsing import parse_spec
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks import run_checks
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.estimation import EstimationPlan, estimate_metrics, merge_estimation
from modelmonitor.engine.cbpe import DrawSums
from modelmonitor.errors import DataError, SpecError
from modelmonitor.output import render_table
from tests.checks.conftest import NOW, spec_for


def scored_log(rows: int, *, seed: int, shift: float = 0.0, hours: float = 24.0) -> pa.Table:
    """A binary model whose labels follow its (overconfident) scores; ``shift`` moves the inputs towards doubt."""
    rng = np.random.default_rng(seed)
    feature = rng.normal(shift, 1.0, rows)
    truth = 1 / (1 + np.exp(-(2.5 * feature)))
    score = 1 / (1 + np.exp(-(4.0 * feature)))
    seconds = np.sort(rng.uniform(0, hours * 3600, rows)).astype("timedelta64[s]")
    ts = np.datetime64(NOW.replace(tzinfo=None), "s") - seconds[::-1]
    return pa.table(
        {
            "ts": pa.array(ts.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
            "x": feature,
            "score": score,
            "prediction": (score >= 0.5).astype(np.int64),
            "label": (rng.random(rows) < truth).astype(np.int64),
        }
    )


def without_late_labels(table: pa.Table, share: float) -> pa.Table:
    """The newest ``share`` of rows lose their label, as when labels arrive late."""
    late = np.arange(table.num_rows) >= table.num_rows * (1 - share)
    label = pa.array(np.where(late, None, table["label"].to_numpy()).tolist(), pa.int64())
    return table.set_column(table.schema.get_field_index("label"), "label", label)


def estimating(current: Path, reference: Path, **overrides) -> dict:
    spec = spec_for(current, reference, **overrides)
    spec["performanceEstimation"] = {"method": "cbpe"}
    spec["metrics"] = [{"name": "accuracy", "min": 0.75}, {"name": "rocAuc", "min": 0.7}]
    spec.pop("drift")
    return spec


def test_the_rows_without_labels_get_estimates_whose_interval_holds_the_labels_that_came_later(tmp_path: Path) -> None:
    pq.write_table(scored_log(5000, seed=1), tmp_path / "reference.parquet")
    complete = scored_log(4000, seed=2)
    pq.write_table(without_late_labels(complete, 0.4), tmp_path / "current.parquet")
    results = run_checks(parse_spec(estimating(tmp_path / "current.parquet", tmp_path / "reference.parquet")), now=NOW)
    document = results.to_document()
    estimation = document["performanceEstimation"]
    assert estimation["status"] == "Passed" and estimation["unlabeledRows"] == 1600
    assert estimation["referenceRows"] == 5000 and estimation["rawCalibrationError"] > estimation["calibrationError"]
    accuracy = next(m for m in document["metrics"] if m["name"] == "accuracy")
    assert accuracy["samples"] == 2400 and accuracy["estimated"]["rows"] == 1600
    late = complete.slice(2400)
    realized = accuracy_score(late["label"].to_numpy(), late["prediction"].to_numpy())
    assert accuracy["estimated"]["lower"] <= realized <= accuracy["estimated"]["upper"]
    assert accuracy["estimated"]["status"] == "Passed" and "rows without labels" in accuracy["estimated"]["reason"]
    json.dumps(document, allow_nan=False)
    table = render_table(results)
    assert "ESTIMATED BEFORE THE LABELS (cbpe, Passed): 1600 rows without labels" in table


def test_an_estimate_breaks_its_threshold_before_any_label_could(tmp_path: Path) -> None:
    """Inputs drift towards doubtful scores in the newest rows: their labels are not in yet, the estimate sees it."""
    pq.write_table(scored_log(5000, seed=1), tmp_path / "reference.parquet")
    older = scored_log(2000, seed=3, hours=24)
    newer = scored_log(1500, seed=4, shift=0.0, hours=6)
    doubtful = pa.array(np.random.default_rng(5).normal(0, 0.25, 1500))  # scores near 0.5: a coin toss
    score = 1 / (1 + np.exp(-(4.0 * doubtful.to_numpy())))
    newer = newer.set_column(1, "x", doubtful).set_column(2, "score", pa.array(score))
    newer = newer.set_column(3, "prediction", pa.array((score >= 0.5).astype(np.int64)))
    current = pa.concat_tables([older.filter(pc.less(older["ts"], newer["ts"][0])), without_late_labels(newer, 1.0)])
    pq.write_table(current, tmp_path / "current.parquet")
    results = run_checks(parse_spec(estimating(tmp_path / "current.parquet", tmp_path / "reference.parquet")), now=NOW)
    accuracy = next(m for m in results.metrics if m.name == "accuracy")
    assert accuracy.status is Verdict.PASSED  # the labeled, older rows are fine
    assert accuracy.estimated is not None and accuracy.estimated.status is Verdict.FAILED
    assert accuracy.estimated.upper < 0.75 and "estimated accuracy" in accuracy.estimated.reason
    assert not results.healthy and results.verdict is Verdict.FAILED


def test_a_window_in_many_partitions_is_estimated_from_each_partitions_sums(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four files of 1,000 rows, four partitions: the same rows waiting, estimates as close as the draws' noise."""
    pq.write_table(scored_log(5000, seed=1), tmp_path / "reference.parquet")
    complete = without_late_labels(scored_log(4000, seed=2), 0.4)
    pq.write_table(complete, tmp_path / "whole.parquet")
    (tmp_path / "parts").mkdir()
    for part in range(4):
        pq.write_table(complete.slice(part * 1000, 1000), tmp_path / "parts" / f"part-{part}.parquet")
    monkeypatch.setattr(source_module, "PARTITION_ROWS", 1000)
    whole, parts = (
        run_checks(parse_spec(estimating(tmp_path / name, tmp_path / "reference.parquet")), now=NOW).to_document()
        for name in ("whole.parquet", "parts")
    )
    assert parts["performanceEstimation"] == whole["performanceEstimation"]
    for one, many in zip(whole["metrics"], parts["metrics"], strict=True):
        assert many["estimated"]["rows"] == one["estimated"]["rows"] == 1600
        assert many["estimated"]["value"] == pytest.approx(one["estimated"]["value"], abs=0.005), one["name"]
        assert many["estimated"]["upper"] - many["estimated"]["lower"] == pytest.approx(
            one["estimated"]["upper"] - one["estimated"]["lower"], rel=0.25
        )


def test_nan_labels_wait_like_null_ones_and_rows_with_a_nan_score_are_left_out(tmp_path: Path) -> None:
    pq.write_table(scored_log(5000, seed=1), tmp_path / "reference.parquet")
    table = without_late_labels(scored_log(4000, seed=2), 0.4)
    label = pc.cast(table["label"], pa.float64()).fill_null(float("nan"))  # a float label column: NaN until it comes
    score = table["score"].to_numpy().copy()
    score[-100:] = np.nan  # a hundred of the waiting rows have no score
    table = table.set_column(table.schema.get_field_index("label"), "label", label)
    table = table.set_column(table.schema.get_field_index("score"), "score", pa.array(score))
    pq.write_table(table, tmp_path / "current.parquet")
    results = run_checks(parse_spec(estimating(tmp_path / "current.parquet", tmp_path / "reference.parquet")), now=NOW)
    estimation = results.performance_estimation
    assert estimation is not None and estimation.status is Verdict.PASSED and estimation.unlabeled_rows == 1500
    accuracy = next(m for m in results.metrics if m.name == "accuracy")
    assert accuracy.estimated is not None and accuracy.estimated.rows == 1500


def test_scores_too_poorly_calibrated_are_refused_with_the_reason(tmp_path: Path) -> None:
    pq.write_table(scored_log(5000, seed=1), tmp_path / "reference.parquet")
    pq.write_table(without_late_labels(scored_log(2000, seed=2), 0.5), tmp_path / "current.parquet")
    spec = estimating(tmp_path / "current.parquet", tmp_path / "reference.parquet")
    spec["performanceEstimation"]["maxCalibrationError"] = 0.001
    results = run_checks(parse_spec(spec), now=NOW)
    assert results.performance_estimation is not None
    assert results.performance_estimation.status is Verdict.INCONCLUSIVE
    assert "> maxCalibrationError 0.001: no honest estimate" in results.performance_estimation.reason
    assert all(m.estimated is None for m in results.metrics) and results.healthy


def test_too_few_rows_without_labels_is_inconclusive(tmp_path: Path) -> None:
    pq.write_table(scored_log(5000, seed=1), tmp_path / "reference.parquet")
    pq.write_table(scored_log(2000, seed=2), tmp_path / "current.parquet")  # every label in
    results = run_checks(parse_spec(estimating(tmp_path / "current.parquet", tmp_path / "reference.parquet")), now=NOW)
    assert results.performance_estimation is not None
    assert results.performance_estimation.reason == "0 rows without labels < minSamples 50"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"model.task": "multiclassClassification"},
            "performanceEstimation on a multiclassClassification task needs data.columns.classScores",
        ),
        (
            {"data.columns": {"timestamp": "ts", "prediction": "prediction", "label": "label"}},
            "needs data.columns.score",
        ),
    ],
)
def test_the_spec_refuses_what_cbpe_cannot_do(tmp_path: Path, change: dict, message: str) -> None:
    spec = estimating(tmp_path / "c.parquet", tmp_path / "r.parquet", **change)
    spec["metrics"] = [{"name": "accuracy", "min": 0.75}]
    with pytest.raises(SpecError, match=message):
        parse_spec(spec)


def test_the_spec_refuses_estimation_for_regression(tmp_path: Path) -> None:
    spec = estimating(tmp_path / "c.parquet", tmp_path / "r.parquet", **{"model.task": "regression"})
    spec["metrics"] = [{"name": "mae", "max": 3}]
    with pytest.raises(SpecError, match="performanceEstimation needs a classification task"):
        parse_spec(spec)


CLASSES = ("cat", "dog", "fox")


def multiclass_log(rows: int, *, seed: int, hours: float = 24.0) -> pa.Table:
    """A three-class model with one (overconfident) score column per class; labels follow the true probabilities."""
    rng = np.random.default_rng(seed)
    features = rng.normal(0.0, 1.0, (rows, 2))
    logits = features @ np.array([[1.5, 0.0], [0.0, 1.5], [-1.0, -1.2]]).T
    truth = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    scores = np.exp(2.2 * logits) / np.exp(2.2 * logits).sum(axis=1, keepdims=True)
    label = (rng.random((rows, 1)) >= np.cumsum(truth, axis=1)[:, :-1]).sum(axis=1)
    seconds = np.sort(rng.uniform(0, hours * 3600, rows)).astype("timedelta64[s]")
    ts = np.datetime64(NOW.replace(tzinfo=None), "s") - seconds[::-1]
    names = np.array(CLASSES)
    return pa.table(
        {
            "ts": pa.array(ts.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
            "x1": features[:, 0],
            "x2": features[:, 1],
            **{f"p_{name}": scores[:, k] for k, name in enumerate(CLASSES)},
            "prediction": names[scores.argmax(axis=1)],
            "label": names[label],
        }
    )


def multiclass_estimating(current: Path, reference: Path, classes: tuple[str, ...] = CLASSES, **overrides) -> dict:
    columns = {"timestamp": "ts", "prediction": "prediction", "label": "label"}
    columns["classScores"] = [{"label": name, "column": f"p_{name}"} for name in classes]
    overrides = {"model.task": "multiclassClassification", "data.columns": columns, **overrides}
    spec = estimating(current, reference, **overrides)
    spec["metrics"] = [{"name": "accuracy", "min": 0.6}, {"name": "f1", "min": 0.5, "average": "weighted"}]
    return spec


def without_late_text_labels(table: pa.Table, share: float) -> pa.Table:
    late = np.arange(table.num_rows) >= table.num_rows * (1 - share)
    label = pa.array(np.where(late, None, table["label"].to_numpy(zero_copy_only=False)).tolist(), pa.string())
    return table.set_column(table.schema.get_field_index("label"), "label", label)


def test_a_multiclass_model_with_a_score_per_class_gets_estimates_that_hold_the_later_labels(tmp_path: Path) -> None:
    pq.write_table(multiclass_log(5000, seed=1), tmp_path / "reference.parquet")
    complete = multiclass_log(4000, seed=2)
    pq.write_table(without_late_text_labels(complete, 0.4), tmp_path / "current.parquet")
    spec = multiclass_estimating(tmp_path / "current.parquet", tmp_path / "reference.parquet")
    spec["drift"] = {"method": "auto"}
    document = run_checks(parse_spec(spec), now=NOW).to_document()
    estimation = document["performanceEstimation"]
    assert estimation["status"] == "Passed" and estimation["unlabeledRows"] == 1600
    assert estimation["rawCalibrationError"] > estimation["calibrationError"]
    late = complete.slice(2400)
    truth, predicted = late["label"].to_numpy(zero_copy_only=False), late["prediction"].to_numpy(zero_copy_only=False)
    realized = {"accuracy": accuracy_score(truth, predicted), "f1": f1_score(truth, predicted, average="weighted")}
    for metric in document["metrics"]:
        assert metric["samples"] == 2400 and metric["estimated"]["rows"] == 1600
        assert metric["estimated"]["lower"] <= realized[metric["name"]] <= metric["estimated"]["upper"], metric
        assert metric["estimated"]["status"] == "Passed"
    assert {feature["feature"] for feature in document["drift"]["features"]} == {"x1", "x2"}  # scores are not features


def test_a_class_without_a_score_column_is_refused_with_its_name(tmp_path: Path) -> None:
    pq.write_table(multiclass_log(3000, seed=1), tmp_path / "reference.parquet")
    pq.write_table(without_late_text_labels(multiclass_log(1000, seed=2), 0.5), tmp_path / "current.parquet")
    spec = multiclass_estimating(tmp_path / "current.parquet", tmp_path / "reference.parquet", classes=CLASSES[:2])
    results = run_checks(parse_spec(spec), now=NOW)
    assert results.performance_estimation is not None
    assert results.performance_estimation.status is Verdict.INCONCLUSIVE
    assert results.performance_estimation.reason == (
        "class 'fox' appears among labels or predictions but has no column in data.columns.classScores"
    )
    assert all(m.estimated is None for m in results.metrics)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model.task": "binaryClassification"}, "data.columns.classScores needs a multiclassClassification task"),
        (
            {"data.columns.classScores": [{"label": "cat", "column": "p"}, {"label": "cat", "column": "q"}]},
            "each class has one score column: label 'cat' appears twice",
        ),
        (
            {"data.columns.classScores": [{"label": "cat", "column": "p"}, {"label": "dog", "column": "p"}]},
            "each class has one score column: column 'p' appears twice",
        ),
    ],
)
def test_the_spec_refuses_class_scores_it_cannot_use(tmp_path: Path, change: dict, message: str) -> None:
    spec = multiclass_estimating(tmp_path / "c.parquet", tmp_path / "r.parquet", **change)
    spec.pop("performanceEstimation")
    with pytest.raises(SpecError, match=message):
        parse_spec(spec)


def test_a_missing_class_score_column_leaves_the_labelled_metrics_alone(tmp_path: Path) -> None:
    """A typo in classScores fails the estimation only: the metrics do not read score columns."""
    pq.write_table(multiclass_log(3000, seed=1), tmp_path / "reference.parquet")
    pq.write_table(without_late_text_labels(multiclass_log(1000, seed=2), 0.5), tmp_path / "current.parquet")
    spec = multiclass_estimating(tmp_path / "current.parquet", tmp_path / "reference.parquet")
    spec["data"]["columns"]["classScores"][2]["column"] = "p_wolf"
    results = run_checks(parse_spec(spec), now=NOW)
    assert all(m.status is Verdict.PASSED for m in results.metrics)
    assert results.performance_estimation is not None and results.performance_estimation.status is Verdict.ERROR
    assert "p_wolf" in results.performance_estimation.reason


def test_rows_gone_between_the_scan_and_the_simulation_are_an_error_not_a_crash(tmp_path: Path) -> None:
    """The scan counted rows waiting for labels; by the simulation a rewritten file had none (an IndexError before)."""
    spec = parse_spec(estimating(tmp_path / "current.parquet", tmp_path / "reference.parquet"))
    context = CheckContext.opened(spec, NOW, None)
    empty = DrawSums(np.empty(0), np.empty(0), 0)
    found = merge_estimation(context, EstimationPlan(rows=500, reference_rows=5000), [empty, empty])
    assert found.error == "the rows waiting for labels were gone when the check read them again"
    with pytest.raises(DataError, match="were gone"):
        estimate_metrics(context, spec.performance_estimation, [], found)
