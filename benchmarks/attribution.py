"""Which drift explains the drop: how often the harmful feature ranks first, and what attribution costs.

    python benchmarks/attribution.py [--seeds 200] [--rows 5000]

Each seed writes a reference (20,000 rows) and a window in which two features drifted:
``harmful`` moved into the region where the model is lost (it guesses where harmful > 1),
so accuracy falls; ``harmless`` moved further, but neither the labels nor the model look at it.
``region`` (a category) drifted too, harmlessly. Printed: the share of seeds where harmful
ranks first, each feature's explained drop (median and 5 %-95 %), and the time of a check
with and without the attribution pass. ``tests/checks/test_attribution.py`` asserts on it.
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

REGIONS = ["north", "south", "east", "west"]


def logged(rows: int, *, drifted: bool, seed: int) -> pa.Table:
    """Rows of a binary model that is right where ``harmful`` ≤ 1 (mostly) and guesses above it."""
    rng = np.random.default_rng(seed)
    harmful = rng.normal(1.0 if drifted else 0.0, 1.0, rows)
    harmless = rng.normal(2.0 if drifted else 0.0, 1.0, rows)
    region = rng.choice(REGIONS, rows, p=[0.1, 0.2, 0.3, 0.4] if drifted else [0.4, 0.3, 0.2, 0.1])
    label = (harmful + rng.normal(0, 0.5, rows) > 0).astype(np.int64)
    prediction = np.where(harmful > 1.0, rng.integers(0, 2, rows), (harmful > 0).astype(np.int64))
    ts = np.datetime64("2026-12-01T00:00:00", "s") + np.sort(rng.integers(0, 86_400, rows)).astype("timedelta64[s]")
    return pa.table(
        {
            "ts": pa.array(ts, pa.timestamp("s", tz="UTC")),
            "harmful": harmful,
            "harmless": harmless,
            "region": region,
            "label": label,
            "prediction": prediction,
        }
    )


def spec(folder: Path, **more: Any) -> dict[str, Any]:
    return {
        "model": {"name": "m", "task": "binaryClassification"},
        "schedule": {"interval": "1h"},
        "data": {
            "current": {"uri": str(folder / "current.parquet")},
            "reference": {"uri": str(folder / "reference.parquet")},
            "columns": {"timestamp": "ts", "label": "label", "prediction": "prediction", "categorical": ["region"]},
        },
        "metrics": [{"name": "accuracy", "min": 0.8}],
        "drift": {"method": "auto"},
        **more,
    }


def written(folder: Path, rows: int, seed: int) -> Path:
    pq.write_table(logged(20_000, drifted=False, seed=seed), folder / "reference.parquet")
    pq.write_table(logged(rows, drifted=True, seed=seed + 10_000), folder / "current.parquet")
    return folder


def main() -> None:
    from modelmonitor.api.parsing import parse_spec
    from modelmonitor.checks import run_checks

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--rows", type=int, default=5000)
    arguments = parser.parse_args()
    first, explained = 0, {"harmful": [], "harmless": [], "region": []}  # type: ignore[var-annotated]
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(arguments.seeds):
            results = run_checks(parse_spec(spec(written(Path(folder), arguments.rows, seed))))
            first += bool(results.attribution) and results.attribution[0].feature == "harmful"
            for item in results.attribution:
                explained[item.feature].append(item.explained_drop)
        print(f"harmful ranked first in {first / arguments.seeds:.1%} of {arguments.seeds} seeds")
        for feature, drops in explained.items():
            if drops:
                low, median, high = np.quantile(drops, [0.05, 0.5, 0.95])
                print(f"  {feature:9} explains {median:+.3f} (5-95 %: {low:+.3f} to {high:+.3f}; {len(drops)} seeds)")
        for rows in (100_000, 1_000_000):
            written(Path(folder), rows, 0)
            for label, extra in (("with a passing metric (no attribution)", 0.5), ("with attribution", 0.8)):
                monitor = parse_spec(spec(Path(folder), metrics=[{"name": "accuracy", "min": extra}]))
                started = time.perf_counter()
                run_checks(monitor)
                print(f"{rows:>9,} rows {label}: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
