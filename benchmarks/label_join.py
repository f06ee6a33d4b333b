"""Labels joined by request id (data.labels) against the same labels inline: time and peak memory.

    python benchmarks/label_join.py [--rows 10000000] [--data DIR]

Writes once (``--data``, default ``benchmarks/data/label-join``) the labeled log of
``benchmarks/labeled_rows.py`` (``--rows`` current rows, a fifth as many reference rows), and beside
it the same current rows twice more: as predictions with a 32-hex-digit ``request_id`` and no
label, and as a table of ``--rows`` labels (``request_id``, ``label``, ``ts``) in another order.
Then checks two monitors, each on the labels inline and joined, each in a fresh process:

* ``labels``: accuracy, precision, recall, f1 and balancedAccuracy (confusion matrices only);
* ``rows``: the same plus rocAuc, which gathers single rows (10M at most).

and, for scale, ``pandas.merge`` of the two tables' id and label columns alone (what the join
replaces). Prints wall time and peak RSS of each, and whether the joined results equal the inline ones.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import yaml

HERE = Path(__file__).resolve().parent
sys.path = [str(HERE.parent), *(entry for entry in sys.path if Path(entry or ".").resolve() != HERE)]
from benchmarks.distributed import ROW_GROUP_ROWS  # noqa: E402
from benchmarks.labeled_rows import monitor, prepare, run_check  # noqa: E402


def _ids(rng: np.random.Generator, rows: int) -> pa.Array:
    """Random request ids of 32 hex digits, as a UUID without its dashes."""
    high, low = rng.integers(0, 2**63, rows, dtype=np.int64), rng.integers(0, 2**63, rows, dtype=np.int64)
    return pa.array(np.char.add(np.char.mod("%016x", high), np.char.mod("%016x", low)))


def split(current: Path, directory: Path) -> tuple[Path, Path]:
    """The current rows as predictions with ids and no label, and their labels in another order; once."""
    predictions, labels = directory / "predictions", directory / "labels"
    done = directory / "_SPLIT"
    if done.exists():
        return predictions, labels
    predictions.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    files = sorted(ds.dataset(current).files)
    for part, path in enumerate(files):
        table = pq.read_table(path)
        rng = np.random.default_rng([23, part])
        ids = _ids(rng, table.num_rows)
        logged = table.drop_columns(["label"]).append_column("request_id", ids)
        pq.write_table(logged, predictions / f"part-{part:03d}.parquet", row_group_size=ROW_GROUP_ROWS)
        arrived = table.column("ts").to_numpy() + rng.integers(1, 3600 * 10**6, table.num_rows).astype(
            "timedelta64[us]"
        )
        order = pa.array(rng.permutation(table.num_rows))
        outcome = pa.table(
            {"request_id": ids, "label": table.column("label"), "ts": pa.array(arrived, pa.timestamp("us", tz="UTC"))}
        ).take(order)
        # the labels of one part of the predictions land in the files of another: they come in no order of theirs
        pq.write_table(outcome, labels / f"part-{(part * 7 + 3) % 1000:03d}.parquet", row_group_size=ROW_GROUP_ROWS)
    done.write_text("")
    return predictions, labels


MERGE = """
import json, sys, time
import pyarrow.dataset as ds
started = time.monotonic()
predictions = ds.dataset(sys.argv[1]).to_table(columns=["request_id", "prediction"]).to_pandas()
labels = ds.dataset(sys.argv[2]).to_table(columns=["request_id", "label"]).to_pandas()
merged = predictions.merge(labels, on="request_id", how="left")
accuracy = float((merged["label"] == merged["prediction"]).mean())
rss = next(int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"seconds": time.monotonic() - started, "rss": rss, "accuracy": accuracy}))
"""


def merged(predictions: Path, labels: Path) -> dict:
    """The join this replaces: both tables' ids in pandas, merged."""
    command = [sys.executable, "-c", MERGE, str(predictions), str(labels)]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def joined(document: dict, predictions: Path, labels: Path) -> dict:
    spec = document["spec"]
    data = {
        **spec["data"],
        "current": {"uri": str(predictions)},
        "labels": {"uri": str(labels), "idColumn": "request_id", "timestampColumn": "ts"},
    }
    data["columns"] = {**data["columns"], "requestId": "request_id"}
    return {**document, "spec": {**spec, "data": data}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, default=HERE / "data" / "label-join")
    args = parser.parse_args()
    directory = args.data / str(args.rows)
    reference, current = prepare(directory, args.rows)
    predictions, labels = split(current, directory)
    print(f"\n{args.rows:,} predictions, {args.rows:,} labels, {args.rows // 5:,} reference rows")
    print(f"{'monitor':<7} {'labels':<7} {'wall s':>7} {'peak RSS MB':>11}  same results")
    with tempfile.TemporaryDirectory() as scratch:
        for gathers in (False, True):
            inline_monitor = monitor(reference, current, rows=gathers)
            found = {}
            for name, document in (("inline", inline_monitor), ("joined", joined(inline_monitor, predictions, labels))):
                monitor_file = Path(scratch) / f"{name}.yaml"
                monitor_file.write_text(yaml.safe_dump(document))
                found[name] = run_check(monitor_file)
                if "error" in found[name]:
                    print(f"{document['metadata']['name']:<7} {name:<7} failed: {found[name]['error']}")
                    continue
                same = ""
                if name == "joined":
                    inline_results, joined_results = (dict(found[key]["document"]) for key in ("inline", "joined"))
                    same = "yes" if _comparable(inline_results) == _comparable(joined_results) else "NO"
                seconds, rss = found[name]["seconds"], found[name]["rss"]
                print(f"{document['metadata']['name']:<7} {name:<7} {seconds:>7.1f} {rss:>11,}  {same}", flush=True)
    merge = merged(predictions, labels)
    print(f"{'-':<7} {'merge':<7} {merge['seconds']:>7.1f} {merge['rss']:>11,}  (pandas.merge of ids and labels alone)")


def _comparable(document: dict) -> str:
    """The results that must agree: metrics, concept drift and window counts."""
    kept = {key: document.get(key) for key in ("metrics", "conceptDrift", "window", "labelCoverage")}
    kept["window"] = {k: v for k, v in (kept["window"] or {}).items() if k not in ("end",)}
    return json.dumps(kept, sort_keys=True)


if __name__ == "__main__":
    main()
