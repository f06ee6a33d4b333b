"""What the results document carries for reports: distributions, metrics over time, the spec; bounded in size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelmonitor.checks.labeled_parts import bucket_seconds
from tests.checks.conftest import check, logged, spec_for


def test_each_feature_carries_its_two_distributions(data_dir: Path) -> None:
    results = check(spec_for(data_dir / "current.parquet", data_dir / "reference.parquet"))
    features = {f.feature: f for f in results.drift.features}
    for name in ("x", "y"):
        picture = features[name].histogram
        assert picture is not None and features[name].categories is None
        assert sum(picture.reference) + sum(picture.reference_outside) == features[name].reference_samples == 4000
        assert sum(picture.current) + sum(picture.current_outside) == features[name].current_samples == 2000
    colours = features["colour"].categories
    assert colours is not None and sorted(colours.categories) == ["blue", "green", "red"]
    assert sum(colours.current) == 2000 and colours.new == []
    prediction = results.drift.prediction.categories
    assert prediction is not None and sum(prediction.current) == 2000


def test_the_streamed_path_draws_the_same_histograms_as_the_exact_one(data_dir: Path) -> None:
    spec = spec_for(data_dir / "current.parquet", data_dir / "reference.parquet")
    exact = check(spec)
    spec["drift"]["exactMaxRows"] = 1000  # every sample fits the streaming samples whole: same bins
    streamed = check(spec)
    for mine, theirs in zip(streamed.drift.features, exact.drift.features, strict=True):
        assert mine.approximate or mine.kind != "numerical"
        assert mine.histogram == theirs.histogram and mine.categories == theirs.categories


def test_new_categories_are_marked_in_the_picture(tmp_path: Path) -> None:
    pq.write_table(logged(2000, seed=1), tmp_path / "reference.parquet")
    current = logged(1000, seed=2)
    colours = np.where(np.arange(1000) % 5 == 0, "purple", current["colour"].to_numpy(zero_copy_only=False))
    current = current.set_column(current.schema.get_field_index("colour"), "colour", pa.array(colours))
    pq.write_table(current, tmp_path / "current.parquet")
    results = check(spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet"))
    colour = next(f for f in results.drift.features if f.feature == "colour")
    assert colour.categories.new == ["purple"]
    assert colour.categories.reference[colour.categories.categories.index("purple")] == 0


@pytest.mark.parametrize(
    ("span", "width"),
    [(600, 60), (3600, 300), (86400, 3600), (7 * 86400, 6 * 3600), (3650 * 86400, 3650 * 86400 // 36)],
)
def test_buckets_are_round_and_at_most_36(span: int, width: int) -> None:
    assert bucket_seconds(span) == pytest.approx(width, rel=0.02) and span / bucket_seconds(span) <= 36


def test_metrics_over_time_are_hourly_in_a_day_with_intervals(data_dir: Path) -> None:
    results = check(spec_for(data_dir / "current.parquet", data_dir / "reference.parquet"))
    accuracy = next(m for m in results.metrics if m.name == "accuracy")
    series = accuracy.series
    assert series is not None and series.bucket_seconds == 3600 and series.confidence == 0.95
    assert sum(point.rows for point in series.points) == accuracy.samples == 2000
    assert 20 <= len(series.points) <= 25
    table = pq.read_table(data_dir / "current.parquet").to_pandas()
    hourly = (table["label"] == table["prediction"]).groupby(table["ts"].dt.floor("h")).mean()
    for point in series.points:
        expected = hourly[point.start.replace("Z", "+00:00")]
        assert point.value == pytest.approx(expected, abs=1e-6)
        assert point.lower <= point.value <= point.upper <= 1.0
        assert point.upper - point.lower == pytest.approx(
            2 * 1.96 * np.sqrt(expected * (1 - expected) / point.rows), rel=0.4
        )


def test_iso_string_timestamps_place_a_detection_like_real_timestamps(tmp_path: Path) -> None:
    """JSON lines carry times as strings: the detectors' times and the buckets failed on them before."""
    stable, changed = logged(3000, seed=15), logged(3000, seed=16, accuracy=0.6)
    rows = pa.concat_tables([stable.slice(0, 2000), changed.slice(2000)]).set_column(0, "ts", stable["ts"])
    for name, table in (("current", rows), ("reference", logged(3000, seed=17))):
        frame = table.to_pandas()
        pq.write_table(table, tmp_path / f"{name}.parquet")
        frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        frame.to_json(tmp_path / f"{name}.jsonl", orient="records", lines=True)
    spec = spec_for(tmp_path / "current.jsonl", tmp_path / "reference.jsonl")
    spec["data"]["current"]["format"] = spec["data"]["reference"]["format"] = "jsonl"
    spec["conceptDrift"] = [{"method": "ddm"}]
    strings = check(spec)
    timestamps = check(
        spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet", conceptDrift=[{"method": "ddm"}])
    )
    assert strings.concept_drift[0].detected
    assert strings.concept_drift[0].detected_at == timestamps.concept_drift[0].detected_at
    assert strings.metrics[0].series == timestamps.metrics[0].series


def test_the_results_carry_the_spec_as_written(data_dir: Path) -> None:
    spec = spec_for(data_dir / "current.parquet", data_dir / "reference.parquet")
    document = check(spec).to_document()
    assert document["spec"]["metrics"] == spec["metrics"]
    assert "exactMaxRows" not in document["spec"]["drift"]  # defaults are not spelled out


def test_two_hundred_features_stay_far_below_the_object_size_limit(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)

    def table(rows: int, shift: float) -> pa.Table:
        base = logged(rows, seed=int(shift * 10))
        columns = {f"numeric_{i:03d}": rng.normal(shift, 1, rows) for i in range(150)}
        columns |= {
            f"category_{i:03d}": rng.choice([f"level-{j}" for j in range(60)], rows).astype(object) for i in range(50)
        }
        for name, values in columns.items():
            base = base.append_column(name, pa.array(values))
        return base

    pq.write_table(table(3000, 0.0), tmp_path / "reference.parquet")
    pq.write_table(table(3000, 0.3), tmp_path / "current.parquet")
    spec = spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet")
    spec["data"]["columns"]["features"] = [f"numeric_{i:03d}" for i in range(150)] + [
        f"category_{i:03d}" for i in range(50)
    ]
    document = check(spec).to_document()
    assert len(document["drift"]["features"]) == 200
    size = len(json.dumps(document, separators=(",", ":")))
    print(f"200 features: {size} bytes")
    assert size < 400_000, size  # the API server takes 3 MiB, etcd 1.5 MiB per object
