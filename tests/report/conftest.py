"""Results documents of four kinds of monitor, and a hostile one, for the report tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.parsing import load_documents, parse_spec
from modelmonitor.checks import run_checks
from modelmonitor_tools.samples import write_samples

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOSTILE_FEATURE = "<img src=x onerror=alert(1)>"
HOSTILE_CATEGORY = "</script><script>alert(1)</script>"


def _times(rng: np.random.Generator, rows: int) -> pa.Array:
    seconds = np.sort(rng.uniform(0, 24 * 3600, rows)).astype("timedelta64[s]")
    return pa.array((np.datetime64(NOW.replace(tzinfo=None), "s") - seconds[::-1]).astype("datetime64[us]"))


def _check(directory: Path, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return run_checks(parse_spec(spec), now=NOW, name=name).to_document()


def _spec(directory: Path, task: str, metrics: list[dict[str, Any]], **columns: Any) -> dict[str, Any]:
    return {
        "model": {"name": "m", "task": task, "version": "3"},
        "schedule": {"interval": "1h"},
        "data": {
            "current": {"uri": str(directory / "current.parquet"), "window": "24h"},
            "reference": {"uri": str(directory / "reference.parquet")},
            "columns": {"timestamp": "ts", "prediction": "prediction", "label": "label", **columns},
            "minSamples": 50,
        },
        "metrics": metrics,
        "drift": {"method": "auto"},
    }


def regression_results(directory: Path) -> dict[str, Any]:
    rng = np.random.default_rng(5)
    for name, noise, shift in (("reference", 1.0, 0.0), ("current", 2.5, 1.0)):
        x = rng.normal(shift, 1, 3000)
        label = 3 * x + rng.normal(0, 1, 3000)
        table = pa.table(
            {
                "ts": _times(rng, 3000),
                "x": x,
                "size": rng.gamma(2, 2, 3000),
                "label": label,
                "prediction": 3 * x + rng.normal(0, noise, 3000),
            }
        )
        pq.write_table(table, directory / f"{name}.parquet")
    spec = _spec(directory, "regression", [{"name": "mae", "max": 1.2}, {"name": "rmse", "max": 1.5}])
    return _check(directory, "house-prices", spec)


def multiclass_results(directory: Path) -> dict[str, Any]:
    rng = np.random.default_rng(6)
    classes = np.array(["cat", "dog", "bird"])
    for name, accuracy in (("reference", 0.9), ("current", 0.8)):
        label = rng.choice(classes, 3000, p=[0.5, 0.3, 0.2])
        wrong = rng.choice(classes, 3000)
        table = pa.table(
            {
                "ts": _times(rng, 3000),
                "brightness": rng.normal(0, 1, 3000),
                "label": label,
                "prediction": np.where(rng.random(3000) < accuracy, label, wrong),
            }
        )
        pq.write_table(table, directory / f"{name}.parquet")
    spec = _spec(directory, "multiclassClassification", [{"name": "accuracy", "min": 0.85}, {"name": "f1", "min": 0.7}])
    return _check(directory, "animals", spec)


def hostile_results(directory: Path) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    for name, shift in (("reference", 0.0), ("current", 1.0)):
        colours = rng.choice(["red", HOSTILE_CATEGORY if name == "current" else "blue"], 2000)
        table = pa.table(
            {
                "ts": _times(rng, 2000),
                HOSTILE_FEATURE: rng.normal(shift, 1, 2000),
                "colour": colours,
                "label": rng.integers(0, 2, 2000),
                "prediction": rng.integers(0, 2, 2000),
            }
        )
        pq.write_table(table, directory / f"{name}.parquet")
    spec = _spec(directory, "binaryClassification", [{"name": "accuracy", "min": 0.6}])
    return _check(directory, HOSTILE_FEATURE, spec)


@pytest.fixture(scope="session")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    samples = tmp_path_factory.mktemp("samples")
    write_samples(samples, now=NOW)
    found = {}
    for which in ("healthy", "drifted"):
        monitor = load_documents(samples / f"{which}-monitor.yaml")[0]
        found[which] = run_checks(monitor.spec, now=NOW, name=monitor.metadata.name).to_document()
    found["regression"] = regression_results(tmp_path_factory.mktemp("regression"))
    found["multiclass"] = multiclass_results(tmp_path_factory.mktemp("multiclass"))
    found["hostile"] = hostile_results(tmp_path_factory.mktemp("hostile"))
    return found
