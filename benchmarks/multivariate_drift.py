"""Multivariate drift: detection, false alarms, and the time a monitor spends on it at 100k and 1M rows.

    python benchmarks/multivariate_drift.py [--seeds 200] [--rows 100000 1000000]

Detection and false alarms, per seed, on 5,000 reference and 2,000 current rows:
  - flip: two standard normals whose correlation goes from +0.8 to -0.8 (marginals unchanged),
    beside an independent normal and a three-valued category;
  - none: the same distribution on both sides.
Printed: how often each method drifts, and how often a Kolmogorov-Smirnov test per numerical
feature (Benjamini-Hochberg across them, as the monitor corrects) finds any feature drifted.

Time: ``run_checks`` on Parquet files of that many rows a side (the flip, eight features), with
univariate drift alone and then with each method (its default sample of 50,000 rows a side):
the difference is what the method costs.
``tests/engine/test_multivariate.py`` asserts on the detection and false alarms.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "operator"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.venvs import ensure_venv
from modelmonitor.api.drift import Correction
from modelmonitor.api.parsing import parse_spec
from modelmonitor.checks import run_checks
from modelmonitor.engine.drift import adjust_p_values
from modelmonitor.engine.multivariate import Frame, MultivariateSettings, method

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _frame(rows: int, correlation: float, generator: np.random.Generator) -> Frame:
    pair = generator.multivariate_normal([0, 0], [[1, correlation], [correlation, 1]], rows)
    return Frame(
        {"a": pair[:, 0], "b": pair[:, 1], "c": generator.normal(0, 1, rows)},
        {"d": generator.choice(["x", "y", "z"], rows, p=[0.5, 0.3, 0.2]).astype(object)},
    )


def quality(seeds: int, methods: list[str]) -> None:
    found = {name: method(name) for name in methods}
    header = " ".join(f"{name + ' drifts':>26}" for name in methods)
    print(f"{'shift':<6} {header} {'KS (BH) any feature':>20}  ({seeds} seeds)")
    for shift, correlation in (("flip", -0.8), ("none", 0.8)):
        drifted = dict.fromkeys(methods, 0)
        univariate = 0
        for seed in range(seeds):
            generator = np.random.default_rng(seed)
            reference, current = _frame(5000, 0.8, generator), _frame(2000, correlation, generator)
            for name, measured in found.items():
                drifted[name] += measured.measure(reference, current, MultivariateSettings(seed=seed)).drifted
            p = [stats.ks_2samp(reference.numbers[c], current.numbers[c]).pvalue for c in "abc"]
            univariate += any(q < 0.05 for q in adjust_p_values(p, Correction.FDR))
        figures = " ".join(f"{drifted[name] / seeds:>26.3f}" for name in methods)
        print(f"{shift:<6} {figures} {univariate / seeds:>20.3f}")


NANNYML_CHUNK = 500  # 10 reference chunks for its thresholds, 4 current chunks


def nannyml(seeds: int) -> None:
    """NannyML's DataReconstructionDriftCalculator (its own venv) on the quality seeds, beside pcaReconstruction.

    NannyML judges chunks against thresholds from the reference's chunks (mean ± 3 SD); the
    window is drifted here when any of its chunks alerts. pcaReconstruction judges the window
    whole (Welch's t-test at alpha 0.05).
    """
    python = ensure_venv("nannyml", ["nannyml==0.13.1", "pandas<3", "statsmodels", "pyarrow"])
    ours = method("pcaReconstruction")
    print(
        f"\n{'shift':<6} {'pcaReconstruction drifts':>26} {'NannyML drifts':>16}  ({seeds} seeds, NannyML "
        f"0.13.1, chunks of {NANNYML_CHUNK})"
    )
    for shift, correlation in (("flip", -0.8), ("none", 0.8)):
        drifted = 0
        with tempfile.TemporaryDirectory() as folder:
            for seed in range(seeds):
                generator = np.random.default_rng(seed)
                reference, current = _frame(5000, 0.8, generator), _frame(2000, correlation, generator)
                drifted += ours.measure(reference, current, MultivariateSettings(seed=seed)).drifted
                for side, frame in (("reference", reference), ("current", current)):
                    pq.write_table(
                        pa.table({**frame.numbers, **frame.categories}), f"{folder}/{seed:04}-{side}.parquet"
                    )
            output = subprocess.run(
                [str(python), str(HERE / "nannyml_reconstruction.py"), folder, str(NANNYML_CHUNK)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        alerts = sum(json.loads(line)["alert"] for line in output.splitlines() if line.startswith("{"))
        print(f"{shift:<6} {drifted / seeds:>26.3f} {alerts / seeds:>16.3f}")


def _table(rows: int, correlation: float, seed: int) -> pa.Table:
    generator = np.random.default_rng(seed)
    pair = generator.multivariate_normal([0, 0], [[1, correlation], [correlation, 1]], rows)
    seconds = np.sort(generator.uniform(0, 23 * 3600, rows)).astype("timedelta64[s]")
    columns = {
        "ts": pa.array(np.datetime64(NOW.replace(tzinfo=None), "s") - seconds, pa.timestamp("s", tz="UTC")),
        "a": pair[:, 0],
        "b": pair[:, 1],
        **{f"x{i}": generator.normal(0, 1, rows) for i in range(5)},
        "region": generator.choice(["north", "south", "east", "west"], rows),
        "prediction": generator.integers(0, 2, rows),
    }
    return pa.table(columns)


def timing(rows: int, methods: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        pq.write_table(_table(rows, 0.8, 1), f"{folder}/reference.parquet")
        pq.write_table(_table(rows, -0.8, 2), f"{folder}/current.parquet")
        spec = {
            "model": {"name": "m", "task": "binaryClassification"},
            "schedule": {"interval": "1h"},
            "data": {
                "current": {"uri": f"{folder}/current.parquet", "window": "24h"},
                "reference": {"uri": f"{folder}/reference.parquet"},
                "columns": {"timestamp": "ts", "prediction": "prediction", "categorical": ["region"]},
            },
            "drift": {"method": "auto"},
        }
        seconds = {}
        for name in (None, *methods):
            spec["drift"]["multivariate"] = {"methods": [name]} if name else None
            if not name:
                del spec["drift"]["multivariate"]
            started = time.perf_counter()
            results = run_checks(parse_spec(spec), now=NOW + timedelta(minutes=1))
            seconds[name or "univariate"] = time.perf_counter() - started
            if name:
                together = results.drift.multivariate[0]  # type: ignore[union-attr]
                print(
                    f"{rows:>9,} rows a side, {name}: {seconds[name]:.2f} s against {seconds['univariate']:.2f} s "
                    f"univariate alone (drifted: {together.drifted}, {together.statistic:.3f} > "
                    f"{together.threshold:.3f})"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--rows", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--methods", nargs="*", default=["pcaReconstruction", "domainClassifier"])
    parser.add_argument("--nannyml", action="store_true", help="compare with NannyML (its venv, made on first use)")
    args = parser.parse_args()
    quality(args.seeds, args.methods)
    if args.nannyml:
        nannyml(args.seeds)
    for rows in args.rows:
        timing(rows, args.methods)


if __name__ == "__main__":
    main()
