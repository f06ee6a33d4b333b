"""A check of 100M rows × 25 columns: one process, streamed, against a local Dask cluster of 2 and 4 workers.

    python benchmarks/distributed.py [--rows 100000000] [--workers 2 4] [--data DIR]

Writes the data once (partitioned Parquet, ``--data``, default ``benchmarks/data/distributed``):
a current window of ``--rows`` rows and a reference of a fifth of that, 22 numerical columns
(float32: normal, exponential, log-normal, uniform) and 3 categorical ones (8 categories),
with drift planted in 4 numerical columns (a shift of a tenth of the scale), one categorical (one
category's share up by a third), and a shift of 0.01 σ in ``num_04`` that is significant at this
size but below the effect floor, so it must not be flagged. Then checks it:

* in one process (``drift.exactMaxRows`` below the size, so every numerical column is streamed);
* on a local Dask cluster (a scheduler and ``N`` single-threaded worker processes) for each ``--workers``;
* each numerical column exactly, one at a time in a child process (both sides sorted in memory),
  for the largest difference between the streamed and the exact statistic.

Prints wall time, peak RSS of the checking process and of each worker, what was flagged, and how
far each streamed statistic was from the exact one against the error bound it states.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

HERE = Path(__file__).resolve().parent
# run as a script, this file's folder comes first on the path and its name hides the dask.distributed package
sys.path = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
FILE_ROWS = 4_000_000
ROW_GROUP_ROWS = 1_000_000
NUMERICAL, CATEGORICAL = 22, 3
DRIFTED = ["num_03", "num_08", "num_13", "num_18", "cat_1"]
SUBTLE = "num_04"  # shifted by 0.01 σ: significant at this size, below the effect floor, so not flagged
CATEGORIES = [f"c{index}" for index in range(8)]

CHECK = """
import json, sys, time
from modelmonitor.checks import run_checks
from modelmonitor.api.parsing import parse_spec
import yaml
spec = parse_spec(yaml.safe_load(open(sys.argv[1]))["spec"])
measurer = None
if len(sys.argv) > 2:
    from modelmonitor.distributed import DaskMeasurer
    measurer = DaskMeasurer(sys.argv[2])
started = time.monotonic()
document = run_checks(spec, name="benchmark", measurer=measurer).to_document()
seconds = time.monotonic() - started
rss = next(int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"seconds": seconds, "rss": rss, "document": document}))
"""

EXACT = """
import json, sys
import numpy as np
import pyarrow.dataset as ds
from modelmonitor.engine.drift import numerical_drift
from modelmonitor.api.drift import DriftMethod
reference_dir, current_dir, method, *columns = sys.argv[1:]
found = {}
for column in columns:
    sides = []
    for directory in (reference_dir, current_dir):
        values = ds.dataset(directory).to_table(columns=[column])[column].to_numpy().astype(np.float64)
        values.sort()
        sides.append(values)
    found[column] = numerical_drift(*sides, method=DriftMethod(method), assume_sorted=True).statistic
    del sides
found["rss"] = next(int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps(found))
"""


def _side(rows: int, rng: np.random.Generator, *, drifted: bool) -> pa.Table:
    columns: dict[str, pa.Array] = {}
    for index in range(NUMERICAL):
        name = f"num_{index:02d}"
        shift = (0.1 if name in DRIFTED else 0.01 if name == SUBTLE else 0.0) if drifted else 0.0
        family = index % 4
        if family == 0:
            values = rng.normal(shift, 1.0, rows)
        elif family == 1:
            values = rng.exponential(1.0 + shift, rows)
        elif family == 2:
            values = rng.lognormal(shift, 0.5, rows)
        else:
            values = rng.uniform(shift, 1.0 + shift, rows)
        columns[name] = pa.array(values.astype(np.float32))
    for index in range(CATEGORICAL):
        name = f"cat_{index}"
        weights = np.ones(len(CATEGORIES))
        if drifted and name in DRIFTED:
            weights[0] *= 4 / 3
        codes = rng.choice(len(CATEGORIES), rows, p=weights / weights.sum()).astype(np.int8)
        columns[name] = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(CATEGORIES))
    return pa.table(columns)


def write_once(path: Path, rows: int, make: Callable[[int, int, int], pa.Table]) -> None:
    """Write a data set of ``rows`` rows in files of 4M rows and row groups of 1M, unless it is complete already.

    ``make(part, first, rows)`` returns file number ``part``: ``rows`` rows from row ``first`` on.
    """
    done = path / "_COMPLETE"
    if done.exists() and done.read_text() == str(rows):
        return
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.parquet"):
        stale.unlink()
    started = time.monotonic()
    for part, first in enumerate(range(0, rows, FILE_ROWS)):
        table = make(part, first, min(FILE_ROWS, rows - first))
        pq.write_table(table, path / f"part-{part:03d}.parquet", row_group_size=ROW_GROUP_ROWS)
    done.write_text(str(rows))
    print(f"wrote {path.name}: {rows:,} rows in {time.monotonic() - started:.0f}s", flush=True)


def prepare(directory: Path, rows: int) -> tuple[Path, Path]:
    """Write both sides once; reuse them when complete."""
    sides = {"reference": (rows // 5, False), "current": (rows, True)}
    for name, (side_rows, drifted) in sides.items():

        def make(part: int, first: int, count: int, drifted: bool = drifted) -> pa.Table:
            return _side(count, np.random.default_rng([7 if drifted else 3, part]), drifted=drifted)

        write_once(directory / name, side_rows, make)
    return directory / "reference", directory / "current"


def monitor(reference: Path, current: Path, exact_max_rows: int) -> dict:
    return {
        "apiVersion": "modelmonitor.io/v1alpha1",
        "kind": "ModelMonitor",
        "metadata": {"name": "benchmark"},
        "spec": {
            "model": {"name": "benchmark", "task": "regression"},
            "schedule": {"interval": "24h"},
            "data": {
                "current": {"uri": str(current)},
                "reference": {"uri": str(reference)},
                "columns": {"categorical": [f"cat_{index}" for index in range(CATEGORICAL)]},
            },
            "drift": {"method": "auto", "exactMaxRows": exact_max_rows},
        },
    }


def run_check(monitor_file: Path, address: str | None = None) -> dict:
    command = [sys.executable, "-c", CHECK, str(monitor_file), *([address] if address else [])]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def on_dask(monitor_file: Path, workers: int) -> tuple[dict, list[int]]:
    """The check on a fresh local cluster; the peak RSS of each worker, in MB."""
    dask = str(Path(sys.executable).with_name("dask"))
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
    )
    options = ["--nthreads", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--memory-limit", "0"]
    pool = [subprocess.Popen([dask, "worker", address, *options], **quiet) for _ in range(workers)]
    try:
        from distributed import Client

        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=60)
        found = run_check(monitor_file, address)
        with Client(address, timeout=30, set_as_default=False) as client:
            peaks = client.run(_peak_rss)
        return found, sorted(peaks.values())
    finally:
        for process in [*pool, scheduler]:
            process.kill()
            process.wait()


def _peak_rss() -> int:
    """This process's peak RSS in MB: the kernel's high-water mark, which starts afresh at exec.

    (``getrusage``'s ``ru_maxrss`` would not: a child starts with its parent's peak at fork.)
    """
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM"))


def exact_statistics(reference: Path, current: Path, method: str, columns: list[str]) -> dict[str, float]:
    command = [sys.executable, "-c", EXACT, str(reference), str(current), method, *columns]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--workers", type=int, nargs="*", default=[2, 4])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "distributed")
    args = parser.parse_args()
    reference, current = prepare(args.data / str(args.rows), args.rows)
    runs: dict[str, tuple[dict, list[int]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        monitor_file = Path(scratch) / "monitor.yaml"
        monitor_file.write_text(yaml.safe_dump(monitor(reference, current, exact_max_rows=args.rows // 10)))
        runs["1 process, streamed"] = run_check(monitor_file), []
        print(f"1 process: {runs['1 process, streamed'][0]['seconds']:.0f}s", flush=True)
        for workers in args.workers:
            runs[f"dask, {workers} workers"] = on_dask(monitor_file, workers)
            print(f"{workers} workers: {runs[f'dask, {workers} workers'][0]['seconds']:.0f}s", flush=True)

    first = runs["1 process, streamed"][0]["document"]["drift"]["features"]
    numerical = [f for f in first if f["approximate"]]
    methods = {f["method"] for f in numerical}
    assert len(methods) == 1, methods
    exact = exact_statistics(reference, current, methods.pop(), [f["feature"] for f in numerical])
    exact_rss = exact.pop("rss")

    print(f"\n{args.rows:,} current rows, {args.rows // 5:,} reference rows, {NUMERICAL + CATEGORICAL} columns")
    print(f"{'run':<22} {'wall s':>7} {'check RSS MB':>12} {'worker peak RSS MB':>20}  flagged")
    for name, (found, peaks) in runs.items():
        flagged = sorted(f["feature"] for f in found["document"]["drift"]["features"] if f["drifted"])
        print(
            f"{name:<22} {found['seconds']:>7.1f} {found['rss']:>12} {', '.join(map(str, peaks)) or '-':>20}  "
            f"{', '.join(flagged)}{'' if flagged == sorted(DRIFTED) else '  (planted: ' + ', '.join(DRIFTED) + ')'}"
        )
    print(f"\nexact statistics computed one column at a time: peak RSS {exact_rss} MB")
    for name, (found, _) in runs.items():
        features = {f["feature"]: f for f in found["document"]["drift"]["features"]}
        gaps = [
            (abs(features[column]["statistic"] - value), features[column]["approximationError"], column)
            for column, value in exact.items()
        ]
        gap, bound, column = max(gaps)
        within = all(g <= b for g, b, _ in gaps)
        same = found["document"]["drift"] == runs["1 process, streamed"][0]["document"]["drift"]
        print(
            f"{name:<22} largest |streamed - exact| {gap:.2e} ({column}, stated bound {bound:.2e}); "
            f"all within their bounds: {within}; drift results identical to one process: {same}"
        )
    print(f"(cores here: {os.cpu_count()})")


if __name__ == "__main__":
    main()
