"""Time ``modelmonitor check`` (and Evidently's data-drift preset) on 25-column data.

    python benchmarks/drift_benchmark.py [--rows 100000 1000000 10000000] [--evidently auto|never]

For each size it writes reference and current Parquet files (20 numerical + 5
categorical columns, 7 of them drifted; see drift_data.py), runs each tool as a child
process, and prints wall time, the child's peak RSS and which columns each flagged.
Evidently runs from ``.venv-evidently`` (created on first use; it needs pandas < 3),
with ``--evidently auto`` only up to 1M rows, where it still fits in memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.drift_data import EXPECTED_DRIFT, prepare
from benchmarks.venvs import ensure_venv

HERE = Path(__file__).resolve().parent
EVIDENTLY_LIMIT = 1_000_000


@dataclass
class Measurement:
    tool: str
    rows: int
    seconds: float
    peak_rss_mb: float
    flagged: list[str]

    @property
    def verdict(self) -> str:
        found = set(self.flagged)
        if found == EXPECTED_DRIFT:
            return "exactly the 7"
        missed, extra = sorted(EXPECTED_DRIFT - found), sorted(found - EXPECTED_DRIFT)
        return f"missed {missed or '-'}, false alarms {extra or '-'}"


def measure(argv: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) of the child alone, and its standard output."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    output = process.stdout.read()  # type: ignore[union-attr]
    errors = process.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 2) or not output:
        raise RuntimeError(f"{argv[0]} exited {code}: {errors.decode()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024, output.decode()


def run_modelmonitor(monitor: Path, rows: int) -> Measurement:
    seconds, rss, output = measure([sys.executable, "-m", "modelmonitor", "check", "-f", str(monitor), "-o", "json"])
    document = json.loads(output)
    features = document["drift"]["features"]
    flagged = [feature["feature"] for feature in features if feature["drifted"]]
    streamed = any(feature["approximate"] for feature in features)
    return Measurement("modelmonitor (streamed)" if streamed else "modelmonitor", rows, seconds, rss, flagged)


def ensure_evidently() -> Path:
    return ensure_venv("evidently", ["evidently==0.7.23", "pandas<3", "pyarrow"])


def run_evidently(directory: Path, rows: int) -> Measurement:
    python = ensure_evidently()
    seconds, rss, output = measure(
        [
            str(python),
            str(HERE / "evidently_drift.py"),
            str(directory / "reference.parquet"),
            str(directory / "current.parquet"),
        ]
    )
    return Measurement("evidently 0.7.23 DataDriftPreset", rows, seconds, rss, json.loads(output.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--evidently", choices=("auto", "never"), default="auto")
    parser.add_argument("--data-dir", type=Path, default=HERE / "data")
    parser.add_argument(
        "--exact-max-rows",
        type=int,
        default=20_000_000,
        help="drift.exactMaxRows: above it numerical columns are streamed into histograms",
    )
    args = parser.parse_args()
    results: list[Measurement] = []
    for rows in args.rows:
        directory = args.data_dir / str(rows)
        print(f"preparing {rows:,} rows x 25 columns in {directory} ...", flush=True)
        monitor = prepare(directory, rows, exact_max_rows=args.exact_max_rows)
        results.append(run_modelmonitor(monitor, rows))
        print(f"  {results[-1]}", flush=True)
        if args.evidently == "auto" and rows <= EVIDENTLY_LIMIT:
            results.append(run_evidently(directory, rows))
            print(f"  {results[-1]}", flush=True)
    print(f"\n{'rows':>11}  {'tool':<34} {'wall s':>8} {'peak RSS MB':>12}  flagged")
    for result in results:
        figures = f"{result.seconds:>8.1f} {result.peak_rss_mb:>12.0f}"
        print(f"{result.rows:>11,}  {result.tool:<34} {figures}  {result.verdict}")


if __name__ == "__main__":
    main()
