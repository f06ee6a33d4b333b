"""The hostile-data drill's cases: logs written the ordinary and the odd ways, each with the monitor spec that reads it.

Each case writes its files into a directory, with times in the day before ``now``, and
says what a user must see: the verdict, the Healthy condition's reason, and a piece of
the message or a data-quality finding that explains it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tests.checks.conftest import NOW, logged, spec_for

WIDE = 1000  # features of the wide case


@dataclass(frozen=True)
class Case:
    name: str
    write: Callable[[Path, datetime], dict[str, Any]]  # writes the files; the spec that reads them
    verdict: str  # lastRun.verdict
    reason: str  # the Healthy condition's reason
    says: str  # in the Healthy condition's message, or the kind of a data-quality finding ("finding:kind")


def _at(table: pa.Table, now: datetime) -> pa.Table:
    """The conftest's log (the day before its NOW) moved to the day before ``now``."""
    return table.set_column(0, "ts", pc.add(table["ts"], pa.scalar(now - NOW)))


def _current(now: datetime) -> pa.Table:
    return _at(logged(600, seed=2), now)


def _reference(now: datetime) -> pa.Table:
    return _at(logged(2000, seed=1), now)


def _replace(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


def _spec(directory: Path, current: str, reference: str = "reference.parquet", **overrides: Any) -> dict[str, Any]:
    spec = spec_for(directory / current, directory / reference, **overrides)
    spec["data"]["current"]["format"] = "csv" if current.endswith(".csv") else "parquet"
    return spec


def _written(directory: Path, now: datetime, current: pa.Table, **overrides: Any) -> dict[str, Any]:
    pq.write_table(_reference(now), directory / "reference.parquet")
    pq.write_table(current, directory / "current.parquet")
    return _spec(directory, "current.parquet", **overrides)


def nanoseconds(directory: Path, now: datetime) -> dict[str, Any]:
    frame = _current(now).to_pandas()
    frame["ts"] = frame["ts"] - pd.to_timedelta(np.arange(len(frame)) % 997 + 1, unit="ns")
    frame.to_parquet(directory / "current.parquet")  # pandas' own way: timestamp[ns]
    pq.write_table(_reference(now), directory / "reference.parquet")
    return _spec(directory, "current.parquet")


def label_missing(directory: Path, now: datetime) -> dict[str, Any]:
    return _written(directory, now, _current(now), **{"data.columns.label": "truth"})


def labels_to_come(directory: Path, now: datetime) -> dict[str, Any]:
    return _written(directory, now, _current(now), **{"data.minSamples": 100_000})


def feature_all_null(directory: Path, now: datetime) -> dict[str, Any]:
    current = _current(now).append_column("empty", pa.nulls(600, pa.float64()))
    spec = _written(directory, now, current, **{"data.columns.features": ["x", "empty"]})
    reference = _reference(now)
    pq.write_table(
        reference.append_column("empty", pa.array(np.arange(float(reference.num_rows)))), directory / "r.parquet"
    )
    spec["data"]["reference"]["uri"] = str(directory / "r.parquet")
    return spec


def estimate_without_scores(directory: Path, now: datetime) -> dict[str, Any]:
    current = _current(now)
    current = _replace(current, "score", pc.cast(current["score"], pa.string()))
    current = _replace(current, "label", pa.array([None] * 300 + current["label"].to_pylist()[300:], pa.int64()))
    spec = _written(directory, now, current)
    spec["performanceEstimation"] = {"method": "cbpe"}
    return spec


def empty_window(directory: Path, now: datetime) -> dict[str, Any]:
    current = _current(now)
    return _written(
        directory, now, current.set_column(0, "ts", pc.subtract(current["ts"], pa.scalar(timedelta(days=30))))
    )


def text_for_numbers(directory: Path, now: datetime) -> dict[str, Any]:
    return _written(directory, now, _replace(_current(now), "x", pa.array(["n/a"] * 600)))


def nan_and_inf(directory: Path, now: datetime) -> dict[str, Any]:
    current = _current(now)
    x, score = current["x"].to_numpy().copy(), current["score"].to_numpy().copy()
    x[:20], x[20:25], x[25:30] = np.nan, np.inf, -np.inf
    score[:10], score[10:15] = np.nan, np.inf
    return _written(directory, now, _replace(_replace(current, "x", pa.array(x)), "score", pa.array(score)))


def probabilities_outside(directory: Path, now: datetime) -> dict[str, Any]:
    current = _current(now)
    return _written(directory, now, _replace(current, "score", pc.subtract(pc.multiply(current["score"], 3.0), 1.0)))


def duplicate_columns(directory: Path, now: datetime) -> dict[str, Any]:
    pq.write_table(_reference(now), directory / "reference.parquet")
    pacsv.write_csv(_current(now), directory / "plain.csv")
    header, *rows = (directory / "plain.csv").read_text().splitlines()
    (directory / "current.csv").write_text("\n".join([header.replace('"y"', '"x"'), *rows]) + "\n")
    return _spec(directory, "current.csv")


def _wide(table: pa.Table, seed: int, shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    for index in range(WIDE):
        table = table.append_column(f"f{index:04d}", pa.array(rng.normal(shift, 1.0, table.num_rows)))
    return table


def thousand_features(directory: Path, now: datetime) -> dict[str, Any]:
    pq.write_table(_wide(_reference(now), 3), directory / "reference.parquet")
    pq.write_table(_wide(_current(now), 4), directory / "current.parquet")
    return _spec(directory, "current.parquet")


def non_ascii_names(directory: Path, now: datetime) -> dict[str, Any]:
    names = ["ts", "naïve €", "ключ 🙂", "colour", "score", "prediction", "label"]
    pq.write_table(_reference(now).rename_columns(names), directory / "reference.parquet")
    pq.write_table(_current(now).rename_columns(names), directory / "current.parquet")
    return _spec(directory, "current.parquet")


def reference_replaced(directory: Path, now: datetime) -> dict[str, Any]:
    """Two wide references, one shifted: the drill swaps them in while the run reads (``swap_reference``)."""
    pq.write_table(_wide(_reference(now), 5), directory / "reference-a.parquet")
    pq.write_table(_wide(_reference(now), 6, shift=1.0), directory / "reference-b.parquet")
    pq.write_table(_wide(_current(now), 7), directory / "current.parquet")
    (directory / "reference.parquet").write_bytes((directory / "reference-a.parquet").read_bytes())
    return _spec(directory, "current.parquet")


def swap_reference(directory: Path, turn: int) -> None:
    """Replace the reference file whole, as an upload does: a new name renamed over it (a hard link: no copying)."""
    source = directory / ("reference-b.parquet" if turn % 2 else "reference-a.parquet")
    staged = directory / f".reference-{turn}.parquet"
    os.link(source, staged)
    staged.replace(directory / "reference.parquet")


def not_parquet(directory: Path, now: datetime) -> dict[str, Any]:
    pq.write_table(_reference(now), directory / "reference.parquet")
    (directory / "current.parquet").write_text("ts,x\n2026-01-01T00:00:00Z,1\n")  # CSV under a Parquet name
    return _spec(directory, "current.parquet")


CASES = [
    Case("nanosecond-timestamps", nanoseconds, "Passed", "ChecksPassed", "every check passed"),
    Case("label-column-missing", label_missing, "Error", "CheckError", "column 'truth': not found"),
    Case("labels-to-come", labels_to_come, "Inconclusive", "Inconclusive", "too little data to judge"),
    Case("feature-all-null", feature_all_null, "Error", "CheckError", "column 'empty': every value is null"),
    Case(
        "estimate-without-scores",
        estimate_without_scores,
        "Error",
        "CheckError",
        "'score': is string: expected numbers",
    ),
    Case("empty-window", empty_window, "Inconclusive", "Inconclusive", "finding:emptyWindow"),
    Case("text-for-numbers", text_for_numbers, "Passed", "ChecksPassed", "finding:newCategory"),
    Case("nan-and-inf", nan_and_inf, "Passed", "ChecksPassed", "finding:infiniteValues"),
    Case("probabilities-outside", probabilities_outside, "Passed", "ChecksPassed", "finding:scoresOutOfRange"),
    Case("duplicate-columns", duplicate_columns, "Error", "RunError", "cannot read as csv"),
    Case("thousand-features", thousand_features, "Passed", "ChecksPassed", "every check passed"),
    Case("non-ascii-names", non_ascii_names, "Passed", "ChecksPassed", "every check passed"),
    Case("reference-replaced", reference_replaced, "*", "*", ""),  # whichever file it read: judged and recorded
    Case("not-parquet", not_parquet, "Error", "RunError", "cannot read as parquet"),
]
