"""The engine's sequential concept-drift detectors against river's, on the same 0/1 error streams.

    python benchmarks/concept_detectors.py [--rows 5000 50000] [--seeds 100] [--adwin-rows 1000000]

Each scenario is a stream of prediction errors (1 = wrong) whose rate changes half-way (or not
at all). For every detector it prints the share of seeds that raised an alarm (before the
change: a false alarm; after it: a detection), the median delay after the change, the median
distance between the located start and the true change (the engine's detectors only: river's
do not locate one), and the time of ADWIN on a long stable stream. river is a benchmark-only
dependency (``pip install river``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "operator"))

from modelmonitor.engine.concept import Detection, adwin, ddm, page_hinkley

SCENARIOS = (("stable p=0.1", 0.1, 0.1), ("stable p=0.3", 0.3, 0.3), ("0.1 -> 0.2", 0.1, 0.2))
SCENARIOS += (("0.1 -> 0.15", 0.1, 0.15), ("0.3 -> 0.35", 0.3, 0.35))


@dataclass(frozen=True)
class Alarm:
    at: int | None  # the first alarm's row
    start: int | None  # where the detector says the change started


def ours(detector: Callable[[np.ndarray], Detection]) -> Callable[[np.ndarray], Alarm]:
    def run(stream: np.ndarray) -> Alarm:
        found = detector(stream)
        return Alarm(found.detected_at, found.started_at)

    return run


def river_detector(name: str) -> Callable[[np.ndarray], Alarm]:
    from river import drift

    def make():  # river's defaults, as the issue measured them
        if name == "DDM":
            return drift.binary.DDM()
        if name == "PH":
            return drift.PageHinkley(mode="up")
        return drift.ADWIN()

    def run(stream: np.ndarray) -> Alarm:
        detector = make()
        for index, value in enumerate(stream.tolist()):
            detector.update(value)
            if detector.drift_detected:
                return Alarm(index, None)
        return Alarm(None, None)

    return run


DETECTORS = {
    "DDM": (ours(lambda s: ddm(s.astype(bool))), river_detector("DDM")),
    "PH": (ours(lambda s: page_hinkley(s.astype(float))), river_detector("PH")),
    "ADWIN": (ours(lambda s: adwin(s.astype(float))), river_detector("ADWIN")),
}


def stream(rng: np.random.Generator, rows: int, before: float, after: float) -> np.ndarray:
    change = rows // 2
    return np.r_[rng.random(change) < before, rng.random(rows - change) < after].astype(np.int8)


def summarise(alarms: list[Alarm], rows: int, stable: bool) -> str:
    change = rows // 2
    if not alarms:
        return "-"
    if stable:
        return f"{sum(a.at is not None for a in alarms) / len(alarms):.2f}"
    late = [a for a in alarms if a.at is not None and a.at >= change]
    rate = len(late) / len(alarms)
    early = sum(a.at is not None and a.at < change for a in alarms) / len(alarms)
    delay = f"{np.median([a.at - change for a in late]):.0f}" if late else "-"
    located = [abs(a.start - change) for a in late if a.start is not None]
    where = f", start ±{np.median(located):.0f}" if located else ""
    return f"{rate:.2f} (early {early:.2f}), delay {delay}{where}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--river-seeds", type=int, default=None, help="fewer seeds for river (slow in pure Python)")
    parser.add_argument("--adwin-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    for rows in args.rows:
        print(f"\n## {rows:,} rows, change at row {rows // 2:,}, {args.seeds} seeds\n")
        print("| scenario | detector | modelmonitor | river |")
        print("|---|---|---|---|")
        for label, before, after in SCENARIOS:
            streams = [stream(np.random.default_rng(seed), rows, before, after) for seed in range(args.seeds)]
            for name, (engine, river) in DETECTORS.items():
                mine = summarise([engine(s) for s in streams], rows, before == after)
                theirs = summarise([river(s) for s in streams[: args.river_seeds]], rows, before == after)
                print(f"| {label} | {name} | {mine} | {theirs} |", flush=True)
    long = (np.random.default_rng(0).random(args.adwin_rows) < 0.1).astype(float)
    for name, run in (("modelmonitor", ours(lambda s: adwin(s))), ("river", river_detector("ADWIN"))):
        started = time.perf_counter()
        found = run(long)
        print(
            f"\nADWIN on {args.adwin_rows:,} stable rows, {name}: {time.perf_counter() - started:.2f} s"
            f" (alarm: {found.at is not None})"
        )


if __name__ == "__main__":
    main()
