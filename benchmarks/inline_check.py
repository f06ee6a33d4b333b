"""The CPU cost of one small inline check: what a fleet of monitors spends most of its time on.

    python benchmarks/inline_check.py [--checks N] [--rows ROWS] [--profile]

Writes the sample data (ROWS current rows, twice as many reference rows), parses the
sample monitor (healthy-monitor.yaml: accuracy, rocAuc and f1 with their hourly series,
drift of four features, two concept-drift methods), and evaluates it N times as the
operator's inline runner does. Prints the milliseconds per check and the results
document's size; ``--profile`` adds cProfile's top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from modelmonitor.api.parsing import parse_spec
from modelmonitor.controller.runners.evaluation import evaluate
from modelmonitor_tools.samples import write_samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checks", type=int, default=50)
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inline-check-") as scratch:
        samples = Path(scratch)
        write_samples(samples, now=datetime.now(UTC), rows=args.rows)
        document = yaml.safe_load((samples / "healthy-monitor.yaml").read_text())
        spec = parse_spec(document["spec"])
        run = {"monitor": "m", "trigger": "schedule", "evaluateAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        status = evaluate("m", spec, run, None, None)  # warm: imports, first reads
        assert status["phase"] == "Succeeded", status
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        for _ in range(args.checks):
            evaluate("m", spec, run, None, None)
        if profiler:
            profiler.disable()
        per_check = (time.perf_counter() - started) / args.checks * 1000
        size = len(json.dumps(status))
        print(f"{args.rows} current rows: {per_check:.1f} ms per check ({args.checks} checks); results {size:,} bytes")
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(20)


if __name__ == "__main__":
    main()
