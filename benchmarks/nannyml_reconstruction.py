"""NannyML's DataReconstructionDriftCalculator on the multivariate benchmark's seeds; run with NannyML's own venv.

    .venv-nannyml/bin/python benchmarks/nannyml_reconstruction.py FOLDER CHUNK_SIZE

FOLDER holds ``SEED-reference.parquet`` and ``SEED-current.parquet`` pairs (written by
``multivariate_drift.py --nannyml``). For each pair NannyML fits on the reference in chunks of
CHUNK_SIZE rows (its thresholds: the reference chunks' mean ± 3 standard deviations) and
judges the current rows in chunks of the same size. Prints one JSON line per seed: whether any
current chunk alerted, and its reconstruction errors and upper threshold.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import nannyml as nml
import pandas as pd


def main(folder: str, chunk_size: str) -> None:
    warnings.simplefilter("ignore")  # NannyML warns of few chunks, and pandas of its own deprecations
    for reference_path in sorted(Path(folder).glob("*-reference.parquet")):
        seed = reference_path.name.split("-")[0]
        reference = pd.read_parquet(reference_path)
        current = pd.read_parquet(reference_path.with_name(f"{seed}-current.parquet"))
        calculator = nml.DataReconstructionDriftCalculator(
            column_names=list(reference.columns), chunk_size=int(chunk_size)
        )
        calculator.fit(reference)
        found = calculator.calculate(current).filter(period="analysis").to_df()
        errors = found[("reconstruction_error", "value")].tolist()
        print(
            json.dumps(
                {
                    "seed": int(seed),
                    "alert": bool(found[("reconstruction_error", "alert")].any()),
                    "errors": errors,
                    "upperThreshold": float(found[("reconstruction_error", "upper_threshold")].iloc[0]),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main(*sys.argv[1:3])
