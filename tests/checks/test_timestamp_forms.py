"""One log written the ordinary ways (pandas, pyarrow in every unit and zone, CSV, JSONL): judged alike.

The defect this guards: pandas writes nanoseconds, and a safe cast to microseconds turned every
metric into an Error while drift passed, so the run looked half healthy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.metrics import MetricName
from modelmonitor.api.results import Results
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks.compare import compare_versions
from tests.checks.conftest import NOW, check, logged, spec_for


def _with_nanoseconds(table: pa.Table) -> pd.DataFrame:
    """As an event clock logs it: each time a few hundred nanoseconds past its microsecond."""
    frame = table.to_pandas()
    frame["ts"] = frame["ts"].astype("datetime64[ns, UTC]") + pd.to_timedelta(
        np.arange(len(frame)) % 997 + 1, unit="ns"
    )
    return frame


def _pyarrow(unit: str, zone: str | None) -> Callable[[pa.Table, Path], str]:
    def write(table: pa.Table, path: Path) -> str:
        stamps = pc.cast(table["ts"], pa.timestamp(unit, tz="UTC"))
        if zone != "UTC":
            stamps = pc.cast(stamps, pa.timestamp(unit, tz=zone)) if zone else pc.local_timestamp(stamps)
        pq.write_table(table.set_column(0, "ts", stamps), path / "current.parquet")
        return "parquet"

    return write


def _pandas_parquet(table: pa.Table, path: Path) -> str:
    _with_nanoseconds(table).to_parquet(path / "current.parquet")
    return "parquet"


def _pandas_naive_parquet(table: pa.Table, path: Path) -> str:
    frame = _with_nanoseconds(table)
    frame["ts"] = frame["ts"].dt.tz_localize(None)
    frame.to_parquet(path / "current.parquet")
    return "parquet"


def _pandas_csv(table: pa.Table, path: Path) -> str:
    _with_nanoseconds(table).to_csv(path / "current.csv", index=False)
    return "csv"


def _pandas_jsonl(table: pa.Table, path: Path) -> str:
    frame = _with_nanoseconds(table)
    frame["ts"] = frame["ts"].dt.tz_convert("Asia/Kolkata")  # an offset of +05:30 in the text
    frame.to_json(
        path / "current.jsonl", orient="records", lines=True, date_format="iso", date_unit="ns", double_precision=15
    )
    return "jsonl"


def _iso_text_jsonl(table: pa.Table, path: Path) -> str:
    frame = table.to_pandas()
    frame["ts"] = frame["ts"].dt.tz_localize(None).dt.strftime("%Y-%m-%dT%H:%M:%S.%f")  # naive text: UTC
    frame.to_json(path / "current.jsonl", orient="records", lines=True, double_precision=15)
    return "jsonl"


WRITERS: dict[str, Callable[[pa.Table, Path], str]] = {
    "pandas parquet (ns, UTC)": _pandas_parquet,
    "pandas parquet (ns, naive)": _pandas_naive_parquet,
    "pandas csv": _pandas_csv,
    "pandas jsonl (ns text, +05:30)": _pandas_jsonl,
    "jsonl (naive text)": _iso_text_jsonl,
    **{f"pyarrow {unit}, {zone}": _pyarrow(unit, zone) for unit in ("s", "ms", "us", "ns") for zone in ("UTC", None)},
    "pyarrow us, Europe/Berlin": _pyarrow("us", "Europe/Berlin"),
}


def _judged(results: Results) -> dict[str, Any]:
    """What a user reads of a run: verdicts, counts, values (to the precision a text file keeps)."""
    assert results.drift is not None
    return {
        "verdict": results.verdict,
        "rows": results.window.rows,
        "labeled": results.window.labeled_rows,
        "metrics": [(m.name, m.status, pytest.approx(m.value, abs=1e-9)) for m in results.metrics],
        "drift": [(f.feature, f.status, pytest.approx(f.statistic, abs=1e-9)) for f in results.drift.features],
        "errors": results.errors,
    }


@pytest.fixture(scope="module")
def written() -> pa.Table:
    """Whole seconds inside a 24 h window, and a day of older rows that the window must leave out."""
    table = logged(3000, seed=5, hours=48.0)
    seconds = pc.cast(table["ts"], pa.int64())  # microseconds: a table of whole seconds either way
    assert pc.all(pc.equal(pc.multiply(pc.divide(seconds, 1_000_000), 1_000_000), seconds)).as_py()
    return table


@pytest.fixture(scope="module")
def expected(written: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("reference")
    pq.write_table(written, path / "current.parquet")
    pq.write_table(logged(4000, seed=1), path / "reference.parquet")
    results = check(spec_for(path / "current.parquet", path / "reference.parquet"))
    assert results.verdict is Verdict.PASSED and 1000 < results.window.rows < 2000  # the window cut the log
    return _judged(results)


@pytest.mark.parametrize("writer", WRITERS)
def test_the_same_log_is_judged_alike_however_it_was_written(
    writer: str, written: pa.Table, expected: dict[str, Any], tmp_path: Path
) -> None:
    pq.write_table(logged(4000, seed=1), tmp_path / "reference.parquet")
    form = WRITERS[writer](written, tmp_path)
    spec = spec_for(tmp_path / f"current.{form}", tmp_path / "reference.parquet", **{"data.current.format": form})
    assert _judged(check(spec)) == expected


def test_a_log_outside_the_window_is_a_finding_that_says_where_its_times_are(tmp_path: Path) -> None:
    old = logged(500, seed=3)
    old = old.set_column(0, "ts", pc.subtract(old["ts"], pa.scalar(timedelta(days=30))))
    _with_nanoseconds(old).to_parquet(tmp_path / "current.parquet")
    pq.write_table(logged(4000, seed=1), tmp_path / "reference.parquet")
    results = check(spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet"))
    assert results.errors == [] and results.verdict is Verdict.INCONCLUSIVE
    assert all(metric.status is Verdict.INCONCLUSIVE for metric in results.metrics)
    (finding,) = [f for f in results.data_quality if f.kind == "emptyWindow"]
    assert finding.column == "ts"
    assert finding.details["latest"].startswith((NOW - timedelta(days=30)).date().isoformat())
    assert "the data's ts runs from 2026-10-2" in finding.message and "to 2026-10-24T" in finding.message


def test_a_rollout_over_a_pandas_log_counts_its_labelled_rows(tmp_path: Path) -> None:
    """The rollout's analysis waited forever on such a log: labelled rows baseline 0, candidate 0."""
    from tests.checks.test_compare import NOW as COMPARED_AT
    from tests.checks.test_compare import START, VERSIONS, monitor, write_logs

    write_logs(tmp_path / "logs.parquet", rows=4000, candidate_share=0.5, accuracy={"7": 0.8, "8": 0.8})
    _with_nanoseconds(pq.read_table(tmp_path / "logs.parquet")).to_parquet(tmp_path / "pandas.parquet")
    common = {"versions": VERSIONS, "alpha": 0.05, "min_samples_per_arm": 100, "since": START, "until": COMPARED_AT}
    by_arrow = compare_versions(monitor(tmp_path / "logs.parquet"), metric=MetricName.ACCURACY, **common)
    by_pandas = compare_versions(monitor(tmp_path / "pandas.parquet"), metric=MetricName.ACCURACY, **common)
    assert min(by_pandas.labeled_rows.values()) > 1000
    assert by_pandas.labeled_rows == by_arrow.labeled_rows
    assert by_pandas.primary.difference == by_arrow.primary.difference
