"""How long CBPE's calibration takes on the reference rows: the fit, two cross-fitted halves, 25 bootstrap refits.

    python benchmarks/cbpe_calibration.py [--rows 100000 1000000] [--repeat 3]

Prints the best of ``--repeat`` times for a binary model's scores and a three-class model's
(three score columns), from the simulations of ``benchmarks/cbpe_coverage.py``, and the
calibration's size pickled (what travels to Dask workers with the plan).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "operator"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cbpe_coverage import binary_scored, multiclass_scored

from modelmonitor.engine.cbpe import calibrate
from modelmonitor.engine.cbpe_multiclass import calibrate_classes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    print(f"{'model':<14} {'reference rows':>14} {'seconds':>8} {'pickled':>8}")
    for model, simulate, fit in (
        ("binary", binary_scored, calibrate),
        ("three classes", multiclass_scored, calibrate_classes),
    ):
        for rows in options.rows:
            scores, label = simulate(np.random.default_rng(0), rows)
            times = []
            for _ in range(options.repeat):
                started = time.perf_counter()
                calibration = fit(scores, label)
                times.append(time.perf_counter() - started)
            size = len(pickle.dumps(calibration)) / 1e6
            print(f"{model:<14} {rows:>14,} {min(times):>8.2f} {size:>6.2f}MB", flush=True)


if __name__ == "__main__":
    main()
