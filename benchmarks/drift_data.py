"""The benchmark's data: 20 numerical and 5 categorical columns, 7 of them drifted.

Numerical columns cycle through normal, log-normal, uniform, exponential and gamma
distributions. In the current data, ``num_00``-``num_04`` are shifted by 0.1-0.5 of their
standard deviation, and ``cat_0`` and ``cat_1`` are re-weighted from
[.35, .25, .20, .12, .08] to [.28, .25, .22, .15, .10]: a Jensen-Shannon distance of
0.060 (natural log), under the 0.1 that Evidently's defaults need.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

NUMERICAL = [f"num_{i:02d}" for i in range(20)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
SHIFTS = {f"num_{i:02d}": 0.1 * (i + 1) for i in range(5)}  # in standard deviations
REWEIGHTED = ("cat_0", "cat_1")
EXPECTED_DRIFT = frozenset([*SHIFTS, *REWEIGHTED])
CATEGORIES = np.array(["a", "b", "c", "d", "e"])
BASE_WEIGHTS = np.array([0.35, 0.25, 0.20, 0.12, 0.08])
DRIFTED_WEIGHTS = np.array([0.28, 0.25, 0.22, 0.15, 0.10])
CHUNK = 500_000


def _numerical(rng: np.random.Generator, index: int, rows: int) -> tuple[np.ndarray, float]:
    """Values and the distribution's standard deviation."""
    kind = index % 5
    if kind == 0:
        return rng.normal(10.0, 2.0, rows), 2.0
    if kind == 1:
        sigma = 0.5
        return rng.lognormal(1.0, sigma, rows), float(np.sqrt((np.exp(sigma**2) - 1) * np.exp(2 + sigma**2)))
    if kind == 2:
        return rng.uniform(0.0, 100.0, rows), 100.0 / np.sqrt(12)
    if kind == 3:
        return rng.exponential(3.0, rows), 3.0
    return rng.gamma(4.0, 2.0, rows), 4.0


def chunk(rng: np.random.Generator, rows: int, *, drifted: bool) -> pa.Table:
    columns: dict[str, np.ndarray] = {}
    for index, name in enumerate(NUMERICAL):
        values, std = _numerical(rng, index, rows)
        if drifted and name in SHIFTS:
            values = values + SHIFTS[name] * std
        columns[name] = values
    for name in CATEGORICAL:
        weights = DRIFTED_WEIGHTS if drifted and name in REWEIGHTED else BASE_WEIGHTS
        columns[name] = CATEGORIES[rng.choice(5, rows, p=weights)]
    return pa.table(columns)


def write(path: Path, rows: int, *, drifted: bool, seed: int) -> None:
    """Write ``rows`` rows in chunks, so memory stays bounded at any size."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    try:
        for start in range(0, rows, CHUNK):
            table = chunk(rng, min(CHUNK, rows - start), drifted=drifted)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer:
            writer.close()


MONITOR = """\
apiVersion: modelmonitor.io/v1alpha1
kind: ModelMonitor
metadata: {{name: drift-benchmark-{rows}}}
spec:
  model: {{name: benchmark, task: regression}}
  schedule: {{interval: 1h}}
  data:
    current: {{uri: {current}}}
    reference: {{uri: {reference}}}
  drift: {{method: auto, exactMaxRows: {exact_max_rows}}}
"""


def prepare(directory: Path, rows: int, *, exact_max_rows: int = 20_000_000) -> Path:
    """Reference and current Parquet files and a monitor for them; reused when present."""
    reference, current = directory / "reference.parquet", directory / "current.parquet"
    if not reference.exists():
        write(reference, rows, drifted=False, seed=1)
    if not current.exists():
        write(current, rows, drifted=True, seed=2)
    monitor = directory / "monitor.yaml"
    monitor.write_text(
        MONITOR.format(
            rows=rows, current=current.resolve(), reference=reference.resolve(), exact_max_rows=exact_max_rows
        )
    )
    return monitor
