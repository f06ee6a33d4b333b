from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.parsing import parse_spec
from modelmonitor.api.results import Results
from modelmonitor.checks import run_checks

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def logged(rows: int, *, seed: int = 0, shift: float = 0.0, accuracy: float = 0.9, hours: float = 24.0) -> pa.Table:
    """Logged predictions of a binary model over the ``hours`` before NOW."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, rows)
    prediction = np.where(rng.random(rows) < accuracy, label, 1 - label)
    seconds = np.sort(rng.uniform(0, hours * 3600, rows)).astype("timedelta64[s]")
    ts = np.datetime64(NOW.replace(tzinfo=None), "s") - seconds[::-1]
    return pa.table(
        {
            "ts": pa.array(ts.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
            "x": rng.normal(shift, 1.0, rows),
            "y": rng.exponential(1.0 + shift, rows),
            "colour": rng.choice(["red", "green", "blue"], rows),
            "score": np.clip(label * 0.4 + rng.random(rows) * 0.6, 0, 1),
            "prediction": prediction,
            "label": label,
        }
    )


def check(spec: dict[str, Any]) -> Results:
    return run_checks(parse_spec(spec), now=NOW, name="t")


def spec_for(current: Path | str, reference: Path | str, **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "model": {"name": "m", "task": "binaryClassification"},
        "schedule": {"interval": "1h"},
        "data": {
            "current": {"uri": str(current), "window": "24h"},
            "reference": {"uri": str(reference)},
            "columns": {"timestamp": "ts", "prediction": "prediction", "label": "label", "score": "score"},
            "minSamples": 50,
        },
        "metrics": [{"name": "accuracy", "min": 0.8}, {"name": "rocAuc", "min": 0.7}],
        "drift": {"method": "auto"},
    }
    for key, value in overrides.items():
        target = spec
        *parents, last = key.split(".")
        for part in parents:
            target = target[part]
        target[last] = value
    return spec


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    pq.write_table(logged(4000, seed=1), tmp_path / "reference.parquet")
    pq.write_table(logged(2000, seed=2), tmp_path / "current.parquet")
    return tmp_path
