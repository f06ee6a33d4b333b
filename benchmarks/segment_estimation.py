"""Estimated performance per segment (CBPE): false alarms, detection, coverage and cost.

    python benchmarks/segment_estimation.py [--seeds 200] [--rows 100000 1000000]

No window row has a label: every verdict here is an estimate's.
False alarms: 40 segments of 150 rows, each from a calibrated model whose expected accuracy is
exactly 0.8 = its min; the reference holds 5,000 labelled rows a segment (with fewer, some
segments are refused an estimate: their calibration cannot be checked to within 0.05). Printed: the share of
runs in which some segment's estimate is below the min by its value alone, and in which a
segment fails as the monitor judges (a one-sided test on the estimate's spread,
Benjamini-Hochberg at segmentAlpha 0.05). Detection: the same with one segment whose scores
doubt (expected accuracy 0.65), and how often its 95 % interval held the accuracy its hidden
labels give. Cost: a check of the given sizes (accuracy and rocAuc, 5 regions) with CBPE alone
and with CBPE and segments, and with segments alone.
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
from modelmonitor.api.results import Results
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks import run_checks

REFERENCE_ROWS = 5000  # a segment


def served(rng: np.random.Generator, rows: int, segments: int, doubt: str = "") -> tuple[pa.Table, np.ndarray]:
    """A calibrated binary model's rows and their hidden labels: accuracy 0.8, or 0.65 in the ``doubt`` segment."""
    region = rng.choice(np.array([f"r{i:02}" for i in range(segments)]), rows)
    sure = rng.choice([0.2, 0.8], rows) + rng.uniform(-0.02, 0.02, rows)
    unsure = rng.choice([0.35, 0.65], rows) + rng.uniform(-0.02, 0.02, rows)
    score = np.where(region == doubt, unsure, sure)
    label = (rng.random(rows) < score).astype(np.int64)
    return pa.table({"region": region, "score": score, "prediction": (score >= 0.5).astype(np.int64)}), label


def spec(folder: Path, *, segments: bool = True, estimated: bool = True, rocauc: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {
        "model": {"name": "m", "task": "binaryClassification"},
        "schedule": {"interval": "1h"},
        "data": {
            "current": {"uri": str(folder / "current.parquet")},
            "reference": {"uri": str(folder / "reference.parquet")},
            "columns": {"label": "label", "prediction": "prediction", "score": "score", "features": ["region"]},
        },
        "metrics": [{"name": "accuracy", "min": 0.8}] + ([{"name": "rocAuc", "min": 0.6}] if rocauc else []),
    }
    if segments:
        found["segments"] = [{"column": "region"}]
    if estimated:
        found["performanceEstimation"] = {"method": "cbpe"}
    return found


def write(folder: Path, rng: np.random.Generator, rows: int, segments: int, doubt: str, labelled: float) -> Any:
    reference, reference_labels = served(rng, REFERENCE_ROWS * segments, segments, doubt)
    current, hidden = served(rng, rows, segments, doubt)
    known = rng.random(rows) < labelled
    shown = pa.array(hidden, pa.int64(), mask=~known)
    pq.write_table(reference.append_column("label", pa.array(reference_labels)), folder / "reference.parquet")
    pq.write_table(current.append_column("label", shown), folder / "current.parquet")
    return current, hidden


def alarms(folder: Path, seeds: int, doubt: str) -> tuple[float, float, float, float]:
    """Runs with a segment below min by value, with a failed segment, the doubting one caught, its interval right."""
    by_value = failed = caught = covered = 0
    for seed in range(seeds):
        current, hidden = write(folder, np.random.default_rng(seed), 40 * 150, 40, doubt, 0.0)
        results = run_checks(parse_spec(spec(folder)))
        estimates = [(s.value, s.metrics[0].estimated) for s in results.segments]
        by_value += any(e is not None and e.value is not None and e.value < 0.8 for _, e in estimates)
        failed += any(e is not None and e.status is Verdict.FAILED for v, e in estimates if v != doubt)
        if doubt:
            found = dict(estimates)[doubt]
            caught += found.status is Verdict.FAILED
            rows = np.asarray(current["region"]) == doubt
            realized = float((hidden[rows] == np.asarray(current["prediction"])[rows]).mean())
            covered += found.lower <= realized <= found.upper
    return by_value / seeds, failed / seeds, caught / seeds, covered / seeds


def timed(folder: Path, **kind: bool) -> tuple[float, Results]:
    spent = []
    for _ in range(2):
        started = time.perf_counter()
        results = run_checks(parse_spec(spec(folder, rocauc=True, **kind)))
        spent.append(time.perf_counter() - started)
    return min(spent), results


def cost(folder: Path, rows: int) -> None:
    write(folder, np.random.default_rng(7), rows, 5, "r00", 0.1)
    alone, _ = timed(folder, segments=False)
    both, results = timed(folder)
    segments_only, _ = timed(folder, estimated=False)
    assert all(s.metrics[0].estimated is not None for s in results.segments)
    print(
        f"{rows:>9,} rows (10 % labelled): CBPE alone {alone:.2f} s, segments alone {segments_only:.2f} s, "
        f"CBPE and segments {both:.2f} s: the estimates per segment about {both - alone - segments_only:+.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200, help="0: skip the false alarms and detection")
    parser.add_argument("--rows", type=int, nargs="*", default=[100_000, 1_000_000], help="the cost's sizes")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if arguments.seeds:
            started = time.perf_counter()
            value, failed, _, _ = alarms(folder, arguments.seeds, "")
            print(f"40 segments at accuracy 0.8 = min, {arguments.seeds} runs, no labels:")
            print(f"  some segment's estimate below min by value: {value:.1%}; a segment failed: {failed:.1%}")
            _, failed, caught, covered = alarms(folder, arguments.seeds, "r07")
            print("one segment at 0.65:")
            print(f"  caught: {caught:.1%}; another failed: {failed:.1%}; its 95 % interval held: {covered:.1%}")
            print(f"  ({(time.perf_counter() - started) / arguments.seeds / 2:.2f} s a run)")
        for rows in arguments.rows:
            cost(folder, rows)


if __name__ == "__main__":
    main()
