"""Performance metrics and concept drift over many labeled rows: counted per partition, or rows gathered.

    python benchmarks/labeled_rows.py [--rows 50000000] [--workers 2] [--data DIR] [--before SOURCE_DIR]

Writes once (``--data``, default ``benchmarks/data/labeled``) the logged predictions of a binary
classifier: ``--rows`` current rows over the 24 hours to 2026-01-01 and a fifth of that as the reference, in
files of 4M rows and row groups of 1M (timestamp, label, prediction, score). The current
accuracy is 0.88 against the reference's 0.90. Then checks two monitors:

* ``labels``: accuracy, precision, recall, f1 and balancedAccuracy with their hourly series,
  and performanceWindow tests of accuracy and f1 against the reference: confusion matrices only;
* ``rows``: the same plus rocAuc and ddm, which need single rows (gathered into the process).

each in one process and on a local Dask cluster of ``--workers`` workers, and with
``--before`` also with the modelmonitor package found in ``SOURCE_DIR`` (for example a git
worktree of an earlier commit: ``git worktree add /tmp/before 3127123``, then
``--before /tmp/before/operator``). Prints wall time and peak RSS of the checking process
and of the workers, the metric values and the concept-drift verdicts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import yaml

HERE = Path(__file__).resolve().parent
sys.path = [str(HERE.parent), *(entry for entry in sys.path if Path(entry or ".").resolve() != HERE)]
from benchmarks.distributed import CHECK, FILE_ROWS, on_dask, write_once  # noqa: E402

END = np.datetime64("2026-01-01T00:00:00", "us")  # in the past whatever the clock says: no window needed
LABEL_METRICS = ["accuracy", "precision", "recall", "f1", "balancedAccuracy"]


def _side(rows: int, rng: np.random.Generator, accuracy: float, start: np.datetime64, span_us: int) -> pa.Table:
    label = rng.integers(0, 2, rows, dtype=np.int8)
    right = rng.random(rows) < accuracy
    prediction = np.where(right, label, 1 - label).astype(np.int8)
    score = np.clip(np.where(prediction == 1, 0.7, 0.3) + rng.normal(0, 0.2, rows), 0, 1).astype(np.float32)
    offsets = np.sort(rng.integers(0, span_us, rows))
    return pa.table(
        {
            "ts": pa.array(start + offsets.astype("timedelta64[us]"), pa.timestamp("us", tz="UTC")),
            "label": label,
            "prediction": prediction,
            "score": score,
        }
    )


def prepare(directory: Path, rows: int) -> tuple[Path, Path]:
    """Write both sides once, in time order; reuse them when complete."""
    day = 24 * 3600 * 1_000_000
    sides = {"reference": (rows // 5, 0.90, END - 2 * day), "current": (rows, 0.88, END - day)}
    for name, (side_rows, accuracy, start) in sides.items():
        share = day // math.ceil(side_rows / FILE_ROWS)  # each file its slice of the day

        def make(
            part: int,
            first: int,
            count: int,
            accuracy: float = accuracy,
            start: np.datetime64 = start,
            share: int = share,
            side_rows: int = side_rows,
        ) -> pa.Table:
            rng = np.random.default_rng([11, part, side_rows])
            return _side(count, rng, accuracy, start + np.timedelta64(part * share, "us"), share)

        write_once(directory / name, side_rows, make)
    return directory / "reference", directory / "current"


def monitor(reference: Path, current: Path, *, rows: bool) -> dict:
    metrics = [{"name": name, "min": 0.5} for name in LABEL_METRICS]
    concept = [
        {"method": "performanceWindow", "baseline": "reference"},
        {"method": "performanceWindow", "baseline": "reference", "metric": "f1"},
    ]
    if rows:
        metrics.append({"name": "rocAuc", "min": 0.5})
        concept.append({"method": "ddm"})
    return {
        "apiVersion": "modelmonitor.io/v1alpha1",
        "kind": "ModelMonitor",
        "metadata": {"name": "rows" if rows else "labels"},
        "spec": {
            "model": {"name": "benchmark", "task": "binaryClassification"},
            "schedule": {"interval": "24h"},
            "data": {
                "current": {"uri": str(current)},
                "reference": {"uri": str(reference)},
                "columns": {"timestamp": "ts", "label": "label", "prediction": "prediction", "score": "score"},
            },
            "metrics": metrics,
            "conceptDrift": concept,
        },
    }


def run_check(monitor_file: Path, *, source: Path | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(source)) if source else None
    finished = subprocess.run([sys.executable, "-c", CHECK, str(monitor_file)], capture_output=True, text=True, env=env)
    if finished.returncode:
        return {"error": finished.stderr.strip().splitlines()[-1], "seconds": 0, "rss": 0, "document": {}}
    return json.loads(finished.stdout)


def _summary(document: dict) -> str:
    values = ", ".join(f"{m['name']} {m['value']:.6f}" for m in document.get("metrics", []) if m["value"] is not None)
    concept = ", ".join(f"{c['method']}/{c.get('metric')} {c['status']}" for c in document.get("conceptDrift", []))
    return f"{values}; {concept}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--workers", type=int, nargs="*", default=[2])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "labeled")
    parser.add_argument("--before", type=Path, help="a source folder holding an earlier modelmonitor package")
    args = parser.parse_args()
    reference, current = prepare(args.data / str(args.rows), args.rows)
    os.environ["PYTHONPATH"] = str(HERE.parent)  # the Dask workers unpickle benchmarks.distributed's RSS probe
    print(f"\n{args.rows:,} current rows (24 hours), {args.rows // 5:,} reference rows; cores here: {os.cpu_count()}")
    print(f"{'monitor':<7} {'run':<18} {'wall s':>7} {'check RSS MB':>12} {'worker peak RSS MB':>19}")
    with tempfile.TemporaryDirectory() as scratch:
        for gathers in (False, True):
            monitor_file = Path(scratch) / "monitor.yaml"
            monitor_file.write_text(yaml.safe_dump(monitor(reference, current, rows=gathers)))
            runs = {"1 process": (run_check(monitor_file), [])}
            if args.before:
                runs["1 process, before"] = (run_check(monitor_file, source=args.before), [])
            for workers in args.workers:
                runs[f"dask, {workers} workers"] = on_dask(monitor_file, workers)
            for name, (found, peaks) in runs.items():
                line = f"{'rows' if gathers else 'labels':<7} {name:<18} {found['seconds']:>7.1f} {found['rss']:>12}"
                print(f"{line} {', '.join(map(str, peaks)) or '-':>19}", flush=True)
                print(f"        {found.get('error') or _summary(found['document'])}", flush=True)


if __name__ == "__main__":
    main()
