"""Peak memory of streaming one numerical column, at growing sizes.

    python benchmarks/streaming_memory.py [--rows 10000000] [--copies 1 2 4]

Uses the drift benchmark's reference file (created if missing) and a folder of links to
it, so ``--copies 2`` reads the same column twice over: twice the rows, no extra disk.
Each size runs in a fresh child process, which prints its own peak RSS.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.drift_data import prepare  # noqa: E402

CHILD = """
import resource, sys
from modelmonitor.checks.streaming import ColumnScan, _floats
from modelmonitor.data.table import open_table
scan = ColumnScan()
for batch in open_table(sys.argv[1]).batches("num_07"):
    scan.add(_floats(batch))
print(scan.rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    directory = HERE / "data" / str(args.rows)
    prepare(directory, args.rows)
    print(f"{'rows':>12}  {'peak RSS MB':>11}")
    for copies in args.copies:
        folder = directory / f"linked-{copies}"
        folder.mkdir(exist_ok=True)
        for index in range(copies):
            link = folder / f"part-{index}.parquet"
            if not link.exists():
                link.symlink_to(directory / "reference.parquet")
        rows, rss = subprocess.run(
            [sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True, check=True
        ).stdout.split()
        print(f"{int(rows):>12,}  {int(rss):>11}")


if __name__ == "__main__":
    main()
