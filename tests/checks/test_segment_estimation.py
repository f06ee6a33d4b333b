"""Estimated performance per segment (CBPE on each segment's rows without labels): a segment fails before its labels
come, each segment is calibrated on its own reference rows, and the estimates hold the realized values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from benchmarks.segment_estimation import spec
from sklearn.metrics import accuracy_score

from modelmonitor.api.parsing import parse_spec
from modelmonitor.api.results import Results, SegmentResult
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks import run_checks
from modelmonitor.controller import metrics
from modelmonitor.controller.conditions import ESTIMATED, HEALTHY, outcome_conditions
from modelmonitor.output import render_table
from modelmonitor.report.run import render_report

REGIONS = ["north", "south", "east", "west"]


def _served(rows: int, *, seed: int, doubt: str = "", overconfident: str = "") -> tuple[pa.Table, pa.Table]:
    """Rows of a binary model and their hidden labels; the ``doubt`` region gets scores near 0.5.

    In the ``overconfident`` region the labels follow the score only a third of the way from 0.5:
    a calibration learnt on the other regions overrates the model there.
    """
    rng = np.random.default_rng(seed)
    region = rng.choice(REGIONS, rows)
    confident = rng.choice([0.05, 0.95], rows) + rng.normal(0, 0.03, rows)
    doubtful = rng.uniform(0.35, 0.65, rows)
    score = np.clip(np.where(region == doubt, doubtful, confident), 0.001, 0.999)
    truth = np.where(region == overconfident, 0.5 + (score - 0.5) / 3, score)
    label = (rng.random(rows) < truth).astype(np.int64)
    table = pa.table({"region": region, "score": score, "prediction": (score >= 0.5).astype(np.int64)})
    return table, pa.table({"label": label})


def _check(
    folder: Path, *, seed: int = 1, labelled: float = 0.0, rows: int = 12_000, **kind: str
) -> tuple[Results, pa.Table, pa.Table]:
    reference, reference_labels = _served(20_000, seed=seed + 1000, **kind)
    current, hidden = _served(rows, seed=seed, **kind)
    known = np.arange(rows) < rows * labelled
    shown = pa.array(np.where(known, hidden["label"].to_numpy(), None).tolist(), pa.int64())
    pq.write_table(reference.append_column("label", reference_labels["label"]), folder / "reference.parquet")
    pq.write_table(current.append_column("label", shown), folder / "current.parquet")
    return run_checks(parse_spec(spec(folder))), current, hidden


def _segment(results: Results, value: str) -> SegmentResult:
    return next(s for s in results.segments if s.value == value)


def test_a_region_whose_model_doubts_fails_on_its_estimate_before_any_label_arrives(tmp_path: Path) -> None:
    results, current, hidden = _check(tmp_path, doubt="north")
    overall = results.metrics[0]
    assert overall.value is None and overall.estimated is not None
    assert overall.estimated.status is Verdict.PASSED  # about 0.87: the doubtful region is averaged away
    north = _segment(results, "north")
    estimated = north.metrics[0].estimated
    assert estimated is not None and estimated.status is Verdict.FAILED
    assert north.metrics[0].status is Verdict.INCONCLUSIVE  # no labels
    assert north.verdict is Verdict.FAILED and results.segments[0] is north  # the worst first
    rows = np.asarray(current["region"]) == "north"
    realized = accuracy_score(hidden["label"].to_numpy()[rows], current["prediction"].to_numpy()[rows])
    assert estimated.lower <= realized <= estimated.upper
    assert estimated.rows == rows.sum() and estimated.adjusted_p_value is not None and estimated.adjusted_p_value < 1e-6
    for region in REGIONS[1:]:  # estimated within bounds, but no labels to measure: Inconclusive
        assert _segment(results, region).metrics[0].estimated.status is Verdict.PASSED
        assert _segment(results, region).verdict is Verdict.INCONCLUSIVE
    conditions = {c.type: c for c in outcome_conditions("Succeeded", results)}
    assert conditions[ESTIMATED].status == "True"
    assert conditions[ESTIMATED].reason == "SegmentEstimateBreachesThreshold"
    assert conditions[ESTIMATED].message.startswith(
        f"estimated accuracy below 0.8 in region=north ({estimated.value:.3g}, {estimated.rows:,} rows without labels)"
    )
    assert "region=north" in conditions[HEALTHY].message
    assert "estimated" in render_table(results) and "est." in render_report(results)
    assert Results.from_document(results.to_document()) == results
    metrics.export_results("ns", "regions", "m", results)
    labels = {"namespace": "ns", "monitor": "regions", "model": "m", "metric": "accuracy", "segment": "region=north"}
    assert metrics.REGISTRY.get_sample_value("modelmonitor_segment_estimate_breached", labels) == 1
    found = metrics.REGISTRY.get_sample_value("modelmonitor_segment_metric_estimated", labels | {"bound": "upper"})
    assert found == estimated.upper
    metrics.forget_monitor("ns", "regions")


def test_each_region_is_calibrated_on_its_own_reference_rows(tmp_path: Path) -> None:
    """The model is overconfident in one region only: the overall calibration would overrate it there."""
    results, current, hidden = _check(tmp_path, overconfident="east")
    east = _segment(results, "east").metrics[0].estimated
    rows = np.asarray(current["region"]) == "east"
    realized = accuracy_score(hidden["label"].to_numpy()[rows], current["prediction"].to_numpy()[rows])
    assert realized < 0.7  # while the calibration of the other regions would say about 0.95
    assert east is not None and east.lower <= realized <= east.upper and east.status is Verdict.FAILED


def test_the_estimates_hold_the_realized_value_as_often_as_they_say(tmp_path: Path) -> None:
    covered = 0
    seeds = range(20)
    for seed in seeds:
        results, current, hidden = _check(tmp_path, seed=seed, rows=4000, doubt="north")
        estimated = _segment(results, "north").metrics[0].estimated
        rows = np.asarray(current["region"]) == "north"
        realized = accuracy_score(hidden["label"].to_numpy()[rows], current["prediction"].to_numpy()[rows])
        covered += estimated.lower <= realized <= estimated.upper
    assert covered >= 17  # 95 % intervals: 17 or more of 20 in 98.4 % of runs


def test_a_segment_without_enough_reference_rows_or_a_reference_without_the_column_is_not_estimated(
    tmp_path: Path,
) -> None:
    results, _, _ = _check(tmp_path, rows=2000, doubt="north")
    listed = results.spec | {"segments": [{"column": "region", "values": ["north", "mars"]}]}
    mars = _segment(run_checks(parse_spec(listed)), "mars").metrics[0].estimated
    assert mars.status is Verdict.INCONCLUSIVE
    assert mars.reason == "0 labeled, scored reference rows of the segment < minSamples 100"
    pq.write_table(pq.read_table(tmp_path / "reference.parquet").drop_columns(["region"]), tmp_path / "plain.parquet")
    plain = results.spec | {}
    plain["data"]["reference"] = {"uri": str(tmp_path / "plain.parquet")}
    plain["data"]["columns"]["features"] = ["score"]
    found = run_checks(parse_spec(plain))
    for segment in found.segments:
        estimated = segment.metrics[0].estimated
        assert estimated.status is Verdict.INCONCLUSIVE
        assert estimated.reason == "the reference has no region: no segment's own calibration"
    assert found.metrics[0].estimated.status is Verdict.PASSED  # the overall estimate is unaffected


def test_a_labelled_window_keeps_its_measured_verdicts_beside_the_estimates(tmp_path: Path) -> None:
    results, _, _ = _check(tmp_path, labelled=0.5, doubt="north")
    north = _segment(results, "north")
    assert north.metrics[0].status is Verdict.FAILED and north.metrics[0].estimated.status is Verdict.FAILED
    assert north.labeled_rows > 0 and north.metrics[0].estimated.rows > 0
