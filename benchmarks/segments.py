"""Segments: false alarms with many segments at their threshold, detection of one failing segment, and the cost.

    python benchmarks/segments.py [--seeds 200]

False alarms: 40 segments of 150 labelled rows, every one exactly at accuracy 0.8 = its min.
Printed: the share of runs in which some segment fails, by the point value alone (what a
per-segment threshold without a test would do) and as the monitor judges (a one-sided test,
Benjamini-Hochberg at segmentAlpha 0.05). Detection: the same, with one segment at 0.65.
Segment drift: 20 regions, three of four features shifted in one (a twentieth of the rows)
or in none; the share of runs in which that region drifted, another did, or the dataset did;
and the time of a check with drift alone and with drift per segment too.
Cost: a check of 100,000 and 1,000,000 rows (accuracy and rocAuc) without segments and with
five regions and 80 devices (maxSegments 50).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from modelmonitor.api.parsing import parse_spec
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks import run_checks


def spec(path: Path, **more: Any) -> dict[str, Any]:
    return {
        "model": {"name": "m", "task": "binaryClassification"},
        "schedule": {"interval": "1h"},
        "data": {
            "current": {"uri": str(path)},
            "reference": {"uri": str(path)},
            "columns": {"label": "label", "prediction": "prediction", "score": "score", "features": ["region"]},
        },
        "metrics": [{"name": "accuracy", "min": 0.8}],
        **more,
    }


def served(rng: np.random.Generator, rows: int, segments: int, accuracy: dict[str, float]) -> pa.Table:
    names = np.array([f"r{i:02}" for i in range(segments)])
    region = rng.choice(names, rows)
    label = rng.integers(0, 2, rows)
    right = rng.random(rows) < np.vectorize(lambda r: accuracy.get(r, 0.8))(region)
    prediction = np.where(right, label, 1 - label)
    score = np.clip(np.where(prediction == 1, 0.7, 0.3) + rng.normal(0, 0.1, rows), 0, 1)
    device = rng.choice([f"d{i:02}" for i in range(80)], rows)
    return pa.table({"region": region, "device": device, "label": label, "prediction": prediction, "score": score})


def shifted_in_north(rows: int, seed: int, *, shifted: bool) -> pa.Table:
    """20 regions; with ``shifted``, x, y and z move in north alone (a twentieth of the rows)."""
    rng = np.random.default_rng(seed)
    region = rng.choice([f"r{i:02}" for i in range(19)] + ["north"], rows)
    x, y, w = rng.normal(0, 1, rows), rng.normal(0, 1, rows), rng.normal(0, 1, rows)
    z = rng.choice(["a", "b", "c"], rows, p=[0.6, 0.3, 0.1])
    if shifted:
        north = region == "north"
        x[north] += 0.7
        y[north] -= 0.7
        z[north] = rng.choice(["a", "b", "c"], north.sum(), p=[0.35, 0.35, 0.3])
    label = rng.integers(0, 2, rows)
    prediction = np.where(rng.random(rows) < 0.9, label, 1 - label)
    return pa.table(
        {"region": region, "x": x, "y": y, "w": w, "z": z, "label": label, "prediction": prediction, "score": label}
    )


def drift_spec(folder: Path) -> dict[str, Any]:
    monitor = spec(folder / "current.parquet", segments=[{"column": "region"}], drift={"method": "auto"})
    monitor["data"]["reference"]["uri"] = str(folder / "reference.parquet")
    monitor["data"]["columns"] = {
        "label": "label",
        "prediction": "prediction",
        "features": ["x", "y", "w", "z"],
        "categorical": ["z"],
    }
    return monitor


def segment_drift(folder: Path, seeds: int) -> None:
    """Runs in which north drifted (shifted, or not), some other segment drifted, or the dataset did."""
    for shifted in (False, True):
        north = others = overall = 0
        for seed in range(seeds):
            pq.write_table(shifted_in_north(30_000, seed, shifted=False), folder / "reference.parquet")
            pq.write_table(shifted_in_north(20_000, seed + 10_000, shifted=shifted), folder / "current.parquet")
            results = run_checks(parse_spec(drift_spec(folder)))
            north += any(s.dataset_drift for s in results.segments if s.value == "north")
            others += any(s.dataset_drift for s in results.segments if s.value != "north")
            overall += bool(results.drift and results.drift.dataset_drift)
        print(
            f"north {'shifted' if shifted else 'unshifted'}: north drifted in {north / seeds:.1%} of runs, "
            f"another of the 19 regions in {others / seeds:.1%}, the dataset overall in {overall / seeds:.1%}"
        )


def drift_cost(folder: Path, rows: int) -> None:
    """A check with drift alone, and with drift in each of 20 regions too (the shifted data), twice each."""
    pq.write_table(shifted_in_north(rows, 1, shifted=False), folder / "reference.parquet")
    pq.write_table(shifted_in_north(rows, 2, shifted=True), folder / "current.parquet")
    for label in ("drift alone", "drift and 20 segments") * 2:
        monitor = drift_spec(folder)
        if label == "drift alone":
            monitor.pop("segments")
        started = time.perf_counter()
        run_checks(parse_spec(monitor))
        print(f"{rows:>9,} rows a side, {label}: {time.perf_counter() - started:.2f} s")


def alarms(folder: Path, seeds: int, accuracy: dict[str, float]) -> tuple[float, float, float]:
    """Runs with some segment below min by value; runs with some segment Failed; runs that failed r00."""
    by_value = failed = caught = 0
    path = folder / "current.parquet"
    for seed in range(seeds):
        pq.write_table(served(np.random.default_rng(seed), 6000, 40, accuracy), path)
        results = run_checks(parse_spec(spec(path, segments=[{"column": "region"}])))
        by_value += any(s.metrics[0].value is not None and s.metrics[0].value < 0.8 for s in results.segments)
        failed += any(s.verdict is Verdict.FAILED for s in results.segments)
        caught += any(s.verdict is Verdict.FAILED and s.value == "r00" for s in results.segments)
    return by_value / seeds, failed / seeds, caught / seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200, help="0: skip the false alarms and detection")
    parser.add_argument("--drift-seeds", type=int, default=100, help="0: skip segment drift")
    parser.add_argument("--rows", type=int, nargs="*", default=[100_000, 1_000_000], help="the cost's sizes")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if arguments.seeds:
            value, failed, _ = alarms(folder, arguments.seeds, {})
            print(f"every segment at its min: runs with a segment below it {value:.1%}, runs failed {failed:.1%}")
            value, failed, caught = alarms(folder, arguments.seeds, {"r00": 0.65})
            print(f"one segment at 0.65: runs that failed it {caught:.1%} (runs failed at all {failed:.1%})")
        if arguments.drift_seeds:
            segment_drift(folder, arguments.drift_seeds)
            for rows in arguments.rows:
                drift_cost(folder, rows)
        path = folder / "large.parquet"
        for rows in arguments.rows:
            pq.write_table(served(np.random.default_rng(0), rows, 5, {}), path)
            metrics = [{"name": "accuracy", "min": 0.8}, {"name": "rocAuc", "min": 0.7}]
            for label, more in (
                ("without segments", {}),
                ("with region and device", {"segments": [{"column": "region"}, {"column": "device"}]}),
            ):
                monitor = parse_spec(spec(path, metrics=metrics, **more))
                started = time.perf_counter()
                run_checks(monitor)
                print(f"{rows:>9,} rows {label}: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
