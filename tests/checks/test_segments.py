"""spec.segments: a failure confined to one segment fails the monitor while the overall metric passes; segment
values are scikit-learn's on the segment's rows; the cardinality cap pools the rest; and many segments at their
threshold raise few false alarms (Benjamini-Hochberg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from benchmarks.segments import drift_spec, shifted_in_north
from sklearn.metrics import accuracy_score, mean_absolute_error, roc_auc_score

from modelmonitor.api.parsing import parse_spec
from modelmonitor.api.results import Results
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks import run_checks
from modelmonitor.controller import metrics
from modelmonitor.controller.conditions import HEALTHY, PERFORMANCE, outcome_conditions
from modelmonitor.output import render_table
from modelmonitor.report.run import render_report

REGIONS = ["north", "south", "east", "west", "centre"]


def _served(rows: int, *, accuracy: dict[str, float], seed: int = 1, devices: int = 80) -> pa.Table:
    rng = np.random.default_rng(seed)
    region = rng.choice(REGIONS, rows)
    label = rng.integers(0, 2, rows)
    right = rng.random(rows) < np.vectorize(lambda r: accuracy.get(r, 0.9))(region)
    prediction = np.where(right, label, 1 - label)
    score = np.clip(np.where(prediction == 1, 0.7, 0.3) + rng.normal(0, 0.1, rows), 0, 1)
    device = rng.choice(
        [f"d{i:02}" for i in range(devices)], rows, p=np.linspace(2, 1, devices) / np.linspace(2, 1, devices).sum()
    )
    return pa.table({"region": region, "device": device, "label": label, "prediction": prediction, "score": score})


def _check(folder: Path, served: pa.Table, **more: Any) -> Results:
    pq.write_table(served, folder / "current.parquet")
    spec = {
        "model": {"name": "m", "task": "binaryClassification"},
        "schedule": {"interval": "1h"},
        "data": {
            "current": {"uri": str(folder / "current.parquet")},
            "reference": {"uri": str(folder / "current.parquet")},
            "columns": {"label": "label", "prediction": "prediction", "score": "score", "features": ["region"]},
        },
        "metrics": [{"name": "accuracy", "min": 0.8}, {"name": "rocAuc", "min": 0.7}],
        "segments": [{"column": "region"}],
        **more,
    }
    return run_checks(parse_spec(spec))


def test_a_failure_in_one_region_that_the_overall_metric_hides_fails_the_monitor_on_that_region(
    tmp_path: Path,
) -> None:
    results = _check(tmp_path, _served(20_000, accuracy={"north": 0.62}))
    assert [m.status for m in results.metrics] == [Verdict.PASSED, Verdict.PASSED]  # overall 0.85 > 0.8
    failed = [s for s in results.segments if s.verdict is Verdict.FAILED]
    assert [(s.column, s.value) for s in failed] == [("region", "north")]
    assert results.segments[0].value == "north"  # the worst first
    assert results.verdict is Verdict.FAILED
    conditions = {c.type: c for c in outcome_conditions("Succeeded", results)}
    assert conditions[PERFORMANCE].reason == "SegmentThresholdBreached"
    north = failed[0]
    assert conditions[PERFORMANCE].message.startswith(
        f"accuracy below 0.8 in region=north ({north.metrics[0].value:.3g}, {north.labeled_rows:,} rows)"
    )
    assert conditions[HEALTHY].status == "False" and "region=north" in conditions[HEALTHY].message


def test_each_segments_metric_is_scikit_learns_on_the_segments_rows(tmp_path: Path) -> None:
    served = _served(8000, accuracy={"north": 0.7, "east": 0.95})
    results = _check(tmp_path, served)
    frame = served.to_pandas()
    for segment in results.segments:
        rows = frame[frame["region"] == segment.value]
        accuracy, auc = segment.metrics
        assert segment.rows == segment.labeled_rows == len(rows)
        assert accuracy.value == pytest.approx(accuracy_score(rows["label"], rows["prediction"]))
        assert auc.value == pytest.approx(roc_auc_score(rows["label"], rows["score"]))


def test_the_most_frequent_values_are_segments_and_the_rest_is_pooled_and_said(tmp_path: Path) -> None:
    served = _served(20_000, accuracy={})
    results = _check(tmp_path, served, segments=[{"column": "device"}], maxSegments=20)
    assert len(results.segments) == 20
    [pooled] = [s for s in results.segments if s.pooled]
    counts = served.to_pandas()["device"].value_counts()
    assert pooled.value == "other" and pooled.rows == counts.iloc[19:].sum()
    assert {s.value for s in results.segments if not s.pooled} == set(counts.index[:19])
    assert "maxSegments" in pooled.reason
    metrics.export_results("ns", "devices", "m", results)
    samples = [
        s
        for family in metrics.REGISTRY.collect()
        if family.name == "modelmonitor_segment_metric"
        for s in family.samples
    ]
    assert len([s for s in samples if s.labels["monitor"] == "devices"]) == 20 * 2  # segments x metrics: bounded
    metrics.forget_monitor("ns", "devices")


def test_listed_values_are_the_segments_and_a_small_or_absent_one_is_inconclusive(tmp_path: Path) -> None:
    served = _served(3000, accuracy={"north": 0.5})
    results = _check(tmp_path, served, segments=[{"column": "region", "values": ["north", "atlantis"]}])
    by_value = {s.value: s for s in results.segments}
    assert set(by_value) == {"north", "atlantis"}
    assert by_value["atlantis"].rows == 0 and by_value["atlantis"].verdict is Verdict.INCONCLUSIVE
    assert "labeled rows < minSamples" in by_value["atlantis"].metrics[0].reason
    assert by_value["north"].verdict is Verdict.FAILED


def test_many_segments_at_their_threshold_rarely_fail_a_run(tmp_path: Path) -> None:
    """40 segments of 150 rows, each exactly at accuracy 0.8 = min: point values alone fail about half of them.

    With the one-sided test and Benjamini-Hochberg at 0.05, few runs fail at all (measured: see docs/checks.md).
    """
    failed_runs = 0
    for seed in range(30):
        rng = np.random.default_rng(seed)
        rows = 6000
        label = rng.integers(0, 2, rows)
        prediction = np.where(rng.random(rows) < 0.8, label, 1 - label)
        served = pa.table(
            {
                "region": rng.choice([f"r{i:02}" for i in range(40)], rows),
                "device": np.full(rows, "d"),
                "label": label,
                "prediction": prediction,
                "score": prediction.astype(float),
            }
        )
        results = _check(tmp_path, served, metrics=[{"name": "accuracy", "min": 0.8}])
        below = sum(1 for s in results.segments if s.metrics[0].value < 0.8)
        assert below >= 10  # the point values alone would fail these
        failed_runs += any(s.verdict is Verdict.FAILED for s in results.segments)
    assert failed_runs / 30 <= 0.1


def test_a_regressions_segments_use_the_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    region = rng.choice(REGIONS, 5000)
    truth = rng.normal(10, 2, 5000)
    guess = truth + rng.normal(0, np.where(region == "west", 3.0, 0.5))
    served = pa.table(
        {"region": region, "device": np.full(5000, "d"), "label": truth, "prediction": guess, "score": guess}
    )
    results = _check(tmp_path, served, model={"name": "m", "task": "regression"}, metrics=[{"name": "mae", "max": 1.0}])
    [west] = [s for s in results.segments if s.verdict is Verdict.FAILED]
    frame = served.to_pandas()
    rows = frame[frame["region"] == "west"]
    assert west.value == "west"
    assert west.metrics[0].value == pytest.approx(mean_absolute_error(rows["label"], rows["prediction"]))


def test_segments_are_in_the_table_the_report_the_series_and_the_document(tmp_path: Path) -> None:
    results = _check(tmp_path, _served(10_000, accuracy={"north": 0.6}))
    assert "SEGMENTS" in render_table(results) and 'id="segments"' in render_report(results)
    assert "segment region=north" in render_report(results)
    document = results.to_document()
    assert document["segments"][0].keys() >= {"column", "value", "rows", "verdict", "metrics"}
    assert Results.from_document(document) == results
    metrics.export_results("ns", "regions", "m", Results.from_document(document))
    labels = {"namespace": "ns", "monitor": "regions", "model": "m", "metric": "accuracy", "segment": "region=north"}
    assert metrics.REGISTRY.get_sample_value("modelmonitor_segment_threshold_breached", labels) == 1
    metrics.forget_monitor("ns", "regions")


def _drift_check(folder: Path, reference: pa.Table, current: pa.Table) -> Results:
    pq.write_table(reference, folder / "reference.parquet")
    pq.write_table(current, folder / "current.parquet")
    return run_checks(parse_spec(drift_spec(folder)))


def test_a_shift_confined_to_one_region_is_found_there_though_the_overall_test_misses_it(tmp_path: Path) -> None:
    results = _drift_check(
        tmp_path, shifted_in_north(30_000, 1, shifted=False), shifted_in_north(20_000, 2, shifted=True)
    )
    assert results.drift is not None and not results.drift.dataset_drift
    assert not any(feature.drifted for feature in results.drift.features)  # diluted by 19 other regions
    north = results.segments[0]
    assert (north.value, north.dataset_drift, north.verdict) == ("north", True, Verdict.FAILED)
    assert north.drifted_features == ["x", "y", "z"] and north.drifted_share == 0.75
    assert not [s.value for s in results.segments[1:] if s.drifted_features]  # 19 regions, no false alarm
    condition = {c.type: c for c in outcome_conditions("Succeeded", results)}["DataDrift"]
    assert (condition.status, condition.reason) == ("True", "SegmentDrift")
    assert "drift in region=north (3 of 4 features drifted: x, y, z)" in condition.message
    assert "DRIFTED" in render_table(results)
    metrics.export_results("ns", "north", "m", results)
    labels = {"namespace": "ns", "monitor": "north", "model": "m", "segment": "region=north"}
    assert metrics.REGISTRY.get_sample_value("modelmonitor_segment_drifted_share", labels) == 0.75
    metrics.forget_monitor("ns", "north")


def test_segments_without_a_shift_do_not_drift(tmp_path: Path) -> None:
    for seed in range(5):
        results = _drift_check(
            tmp_path,
            shifted_in_north(30_000, seed, shifted=False),
            shifted_in_north(20_000, seed + 50, shifted=False),
        )
        assert not [s.value for s in results.segments if s.dataset_drift], seed


def test_segment_drift_needs_the_segment_column_in_the_reference(tmp_path: Path) -> None:
    reference = shifted_in_north(30_000, 1, shifted=False).drop_columns(["region"])
    results = _drift_check(tmp_path, reference, shifted_in_north(20_000, 2, shifted=True))
    assert all(s.drift_reason == "the reference has no region" for s in results.segments)
    assert all(s.drifted_share is None and not s.dataset_drift for s in results.segments)
    assert {s.verdict for s in results.segments} == {Verdict.PASSED}
