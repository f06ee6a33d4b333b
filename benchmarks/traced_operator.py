"""Run ``modelmonitor`` with tracemalloc on, and dump a snapshot when it exits (fleet.py --memory-profile).

    python benchmarks/traced_operator.py SNAPSHOT modelmonitor-arguments...

``kill -USR1 PID`` writes a snapshot at that moment too, to SNAPSHOT.N (N counting from 1):
the memory of a burst, not only of the end. Read a snapshot with
``python benchmarks/traced_operator.py --top SNAPSHOT``: the 25 lines of code holding the
most memory, and the 10 tracebacks behind the biggest of them.
"""

from __future__ import annotations

import atexit
import itertools
import runpy
import signal
import sys
import tracemalloc


def top(path: str) -> None:
    snapshot = tracemalloc.Snapshot.load(path)
    total = sum(stat.size for stat in snapshot.statistics("filename"))
    print(f"traced: {total / 2**20:.0f} MiB")
    for stat in snapshot.statistics("lineno")[:25]:
        print(f"{stat.size / 2**20:7.1f} MiB {stat.count:9d} blocks  {stat.traceback[0]}")
    print("\nbiggest, by traceback:")
    for stat in snapshot.statistics("traceback")[:10]:
        print(f"{stat.size / 2**20:7.1f} MiB")
        for line in stat.traceback.format()[-12:]:
            print("   ", line)


def main() -> None:
    if sys.argv[1] == "--top":
        top(sys.argv[2])
        return
    path = sys.argv[1]
    tracemalloc.start(12)
    atexit.register(lambda: tracemalloc.take_snapshot().dump(path))
    asked = itertools.count(1)
    signal.signal(signal.SIGUSR1, lambda *_: tracemalloc.take_snapshot().dump(f"{path}.{next(asked)}"))
    sys.argv = ["modelmonitor", *sys.argv[2:]]
    runpy.run_module("modelmonitor", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
