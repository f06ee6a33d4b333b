"""Generated hostile data through the whole check: no crash, no hang, no NaN passed off as a value.

Hypothesis writes logs (mostly small, now and then 10,000 rows) with non-finite numbers, scores
outside [0, 1], labels outside the classes, empty and single-row windows, constant and all-null
columns, odd names and every kind of timestamp (zoned, naive, text, epoch seconds, pandas'
nanoseconds, milliseconds in Berlin, naive seconds), in Parquet written by pyarrow and by pandas
and in CSV (where a column may mix types), and runs ``run_checks`` on them. Whatever the data, a
check either returns results in which every Passed or Failed verdict rests on a finite value and
every Error says why, or raises one of modelmonitor's own errors; and its results document, as
the API server stores it (nulls pruned) and with every optional field gone, is accepted by every
reader of a status (``tests/readers.py``).
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from modelmonitor.api.parsing import parse_spec
from modelmonitor.api.results import Results
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks import run_checks
from modelmonitor.errors import ModelMonitorError
from tests.checks.conftest import NOW, spec_for
from tests.readers import bare, every_reader, stored

JUDGED = (Verdict.PASSED, Verdict.FAILED)
ODD_NAMES = ["naïve €", "<b>bold</b>", "two\nlines", "tab\there", "ключ", "🙂", "a,b", '"quoted"']
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, 1.0, -1.0, 1e308, -1e308, 5e-324, float("nan"), float("inf"), -float("inf")]),
)
SCORES = st.one_of(st.floats(0, 1), st.sampled_from([float("nan"), -0.5, 3.0, float("inf")]))
LABELS = st.sampled_from([0, 1] * 20 + [2, -1])  # now and then a label outside the classes


@st.composite
def column(draw: st.DrawFn, rows: int) -> list[Any]:
    kind = draw(st.sampled_from(["floats", "ints", "constant", "null", "text", "odd-text", "mostly-null"]))
    if kind == "floats":
        return draw(st.lists(FLOATS, min_size=rows, max_size=rows))
    if kind == "ints":
        return draw(st.lists(st.integers(-(2**62), 2**62), min_size=rows, max_size=rows))
    if kind == "constant":
        return [draw(st.one_of(FLOATS, st.text(max_size=5)))] * rows
    if kind == "null":
        return [None] * rows
    if kind == "mostly-null":
        return [draw(FLOATS) if draw(st.booleans()) and index % 5 == 0 else None for index in range(rows)]
    alphabet = st.characters(codec="utf-8") if kind == "odd-text" else st.sampled_from("abc")
    return draw(
        st.lists(st.one_of(st.text(alphabet, max_size=8), st.sampled_from(ODD_NAMES)), min_size=rows, max_size=rows)
    )


def _seconds(draw: st.DrawFn, rows: int) -> list[float]:
    return sorted(draw(st.lists(st.floats(0, 3 * 86400), min_size=rows, max_size=rows)))


def _instants(moments: list[Any], unit: str, zone: str | None, *, sub_micro: bool = False) -> pa.Array:
    """Times as Arrow timestamps of one unit and zone; ``sub_micro`` adds nanoseconds past the microsecond."""
    micros = np.array([round(moment.timestamp() * 1e6) for moment in moments], dtype=np.int64)
    values = micros * 1000 + (np.arange(len(moments)) % 997 + 1 if sub_micro else 0)
    stamps = pc.cast(pa.array(values, pa.timestamp("ns", tz="UTC")), pa.timestamp(unit, tz="UTC"), safe=False)
    return pc.cast(stamps, pa.timestamp(unit, tz=zone)) if zone else pc.local_timestamp(stamps)


def _stamps(moments: list[Any], timestamps: str) -> Any:
    if timestamps == "zoned":
        return moments
    if timestamps == "naive":
        return [moment.replace(tzinfo=None) for moment in moments]
    if timestamps == "text":
        return [moment.isoformat() for moment in moments]
    if timestamps == "nanoseconds":  # as pandas writes an event clock's times
        return _instants(moments, "ns", "UTC", sub_micro=True)
    if timestamps == "berlin-ms":
        return _instants(moments, "ms", "Europe/Berlin")
    if timestamps == "naive-s":
        return _instants(moments, "s", None)
    return [moment.timestamp() for moment in moments]


@st.composite
def log(draw: st.DrawFn, rows: int, features: list[str], timestamps: str) -> dict[str, Any]:
    if rows >= 1000:
        return _large_log(draw(st.integers(0, 2**32 - 1)), rows, features, timestamps)
    moments = [NOW - timedelta(seconds=age) for age in _seconds(draw, rows)]
    data: dict[str, Any] = {
        "ts": _stamps(moments, timestamps),
        "score": draw(st.lists(SCORES, min_size=rows, max_size=rows)),
        "prediction": draw(st.lists(LABELS, min_size=rows, max_size=rows)),
        "label": draw(st.lists(st.one_of(LABELS, st.none()), min_size=rows, max_size=rows)),
    }
    for name in features:
        data[name] = draw(column(rows))
    return data


def _large_log(seed: int, rows: int, features: list[str], timestamps: str) -> dict[str, Any]:
    """A log of thousands of rows, drawn with numpy from a seed Hypothesis chose: nulls, NaN and inf among them."""
    rng = np.random.default_rng(seed)
    moments = [NOW - timedelta(seconds=float(age)) for age in np.sort(rng.uniform(0, 3 * 86400, rows))[::-1]]
    label = rng.integers(0, 2, rows).astype(float)
    label[rng.random(rows) < 0.2] = np.nan  # labels yet to come
    data: dict[str, Any] = {
        "ts": _stamps(moments, timestamps),
        "score": np.where(rng.random(rows) < 0.01, np.nan, rng.random(rows)),
        "prediction": rng.integers(0, 2, rows),
        "label": pa.array(label, from_pandas=True),
    }
    for index, name in enumerate(features):
        values = rng.normal(index, 1.0, rows)
        values[rng.random(rows) < 0.05] = rng.choice([np.nan, np.inf, -np.inf])
        data[name] = values if index % 2 == 0 else rng.choice(["a", "b", "c", "ключ"], rows)
    return data


def _table(data: dict[str, Any]) -> pa.Table:
    arrays = {}
    for name, values in data.items():
        if isinstance(values, pa.Array):
            arrays[name] = values
            continue
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            arrays[name] = pa.array([None if value is None else str(value) for value in values], pa.string())
    return pa.table(arrays)


def _write(directory: Path, name: str, data: dict[str, Any], file_format: str) -> Path:
    table = _table(data)
    if file_format in ("parquet", "pandas"):
        path = directory / f"{name}.parquet"
        if file_format == "pandas":  # pandas' own Parquet: its dtypes and its nanoseconds
            table.to_pandas().to_parquet(path)
        else:
            pq.write_table(table, path)
        return path
    path = directory / f"{name}.csv"
    text = {
        key: pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())
        for key, column in zip(table.column_names, table.columns, strict=True)
    }
    pacsv.write_csv(pa.table(text), path)
    return path


def _assert_explained(results: Results) -> None:
    document = results.to_document()
    json.dumps(document, allow_nan=False)  # NaN and inf never reach the document
    written = json.loads(json.dumps(document))
    assert Results.from_document(stored(written)).to_document() == document  # as the API server hands it back
    for sparse in (stored, bare):  # and with every optional field gone: every reader accepts it
        verdict = Results.from_document(sparse(written)).verdict
        read = every_reader(sparse(written))
        assert read["lastRun"]["verdict"] == verdict.value and read["cli"].verdict is verdict
    errors = " | ".join(f"{error.check}: {error.message}" for error in results.errors)
    for metric in results.metrics:
        if metric.status in JUDGED:
            assert metric.value is not None and math.isfinite(metric.value), metric
        elif metric.status is Verdict.ERROR:
            assert metric.reason and f"metric {metric.name}" in errors, metric
    if results.drift is not None:
        for feature in results.drift.features:
            if feature.status is Verdict.PASSED:
                assert feature.statistic is not None and math.isfinite(feature.statistic), feature
            elif feature.status is Verdict.FAILED:  # or an infinite distance, which the reason says
                finite = feature.statistic is not None and math.isfinite(feature.statistic)
                assert finite or (feature.statistic == math.inf and " inf >= " in feature.reason), feature
            else:
                assert feature.reason, feature
            if feature.p_value is not None:
                assert 0.0 <= feature.p_value <= 1.0, feature


@st.composite
def scenario(draw: st.DrawFn) -> dict[str, Any]:
    features = draw(st.lists(st.sampled_from(["x", "y", *ODD_NAMES[:4]]), min_size=1, max_size=3, unique=True))
    timestamps = draw(st.sampled_from(["zoned", "naive", "text", "epoch", "nanoseconds", "berlin-ms", "naive-s"]))
    sizes = st.sampled_from([1, 2, 30, 60, 60, 60, 10_000])
    return {
        "timestamps": timestamps,
        # one or two rows, often outside the 24h window: empty and single-row windows; now and then 10,000
        "reference": draw(log(draw(sizes), features, timestamps)),
        "current": draw(log(draw(sizes), features, timestamps)),
        "format": draw(st.sampled_from(["parquet", "pandas", "csv"])),
        "min_samples": draw(st.sampled_from([1, 5])),
        "drift_method": draw(st.sampled_from(["auto", "ks", "psi", "wasserstein", "chi2", "jensenshannon"])),
    }


@pytest.mark.filterwarnings("error::RuntimeWarning")  # numpy's warnings leaked to stderr before
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenario())
def test_hostile_logs_are_explained_never_crash(tmp_path_factory: pytest.TempPathFactory, case: dict[str, Any]) -> None:
    directory = tmp_path_factory.mktemp("hostile")
    current = _write(directory, "current", case["current"], case["format"])
    reference = _write(directory, "reference", case["reference"], case["format"])
    spec = spec_for(current, reference)
    spec["data"]["current"]["format"] = spec["data"]["reference"]["format"] = current.suffix.lstrip(".")
    spec["data"]["minSamples"] = case["min_samples"]
    spec["drift"]["method"] = case["drift_method"]
    try:
        results = run_checks(parse_spec(spec), now=NOW, name="hostile")
    except ModelMonitorError as error:
        assert str(error)  # one of ours, with a message
        event(f"refused: {type(error).__name__}: {str(error)[-90:]}")
        return
    _assert_explained(results)
    event(f"times {case['timestamps']}, written as {case['format']}")
    event(
        "10,000 rows on a side"
        if len(case["current"]["prediction"]) + len(case["reference"]["prediction"]) > 9000
        else "small"
    )
    judged = results.drift is not None and any(f.status in JUDGED for f in results.drift.features)
    event("drift judged" if judged else "drift not judged")
    event("a metric judged" if any(m.status in JUDGED for m in results.metrics) else "no metric judged")


def test_a_hundred_thousand_categories_are_counted_and_shown_bounded(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name, seed in (("reference", 1), ("current", 2)):
        data = _log_with(rng, 120_000, {"city": [f"c{value}" for value in rng.integers(0, 100_000, 120_000)]}, seed)
        pq.write_table(pa.table(data), tmp_path / f"{name}.parquet")
    results = run_checks(parse_spec(spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet")), now=NOW)
    [city] = [f for f in results.drift.features if f.feature == "city"]
    assert city.status in JUDGED and city.categories is not None and len(city.categories.categories) == 20
    _assert_explained(results)


def _log_with(rng: np.random.Generator, rows: int, extra: dict[str, Any], seed: int) -> dict[str, Any]:
    label = rng.integers(0, 2, rows)
    ages = np.sort(rng.uniform(0, 86400, rows))
    return {
        "ts": pa.array([NOW - timedelta(seconds=float(age)) for age in ages], pa.timestamp("us", tz="UTC")),
        "score": rng.random(rows),
        "prediction": label,
        "label": label,
        **extra,
    }


def test_duplicate_column_names_in_a_csv_are_refused_naming_the_column(tmp_path: Path) -> None:
    header = "ts,score,prediction,label,x,x\n"
    body = "".join(f"{(NOW - timedelta(minutes=i)).isoformat()},0.5,1,1,{i},{i}\n" for i in range(50))
    for name in ("current", "reference"):
        (tmp_path / f"{name}.csv").write_text(header + body)
    spec = spec_for(tmp_path / "current.csv", tmp_path / "reference.csv")
    spec["data"]["current"]["format"] = spec["data"]["reference"]["format"] = "csv"
    try:
        results = run_checks(parse_spec(spec), now=NOW)
    except ModelMonitorError as error:
        assert "x" in str(error)
        return
    _assert_explained(results)
    assert any("x" in error.message for error in results.errors) or results.drift is not None


def test_infinities_leave_the_distance_to_the_finite_values_and_are_reported(tmp_path: Path) -> None:
    """Identical columns with ±inf measured an infinite distance (Failed) before, or NaN, which passed."""
    rng = np.random.default_rng(0)
    x = np.append(rng.normal(size=200), [np.inf, -np.inf])
    only_inf = np.full(x.size, np.inf)
    for name, current_x in (("same", x), ("only-inf", only_inf)):
        (tmp_path / name).mkdir()
        pq.write_table(pa.table(_log_with(rng, x.size, {"x": x}, 0)), tmp_path / name / "reference.parquet")
        pq.write_table(pa.table(_log_with(rng, x.size, {"x": current_x}, 0)), tmp_path / name / "current.parquet")
    found = {}
    for name in ("same", "only-inf"):
        for method in ("wasserstein", "auto"):
            spec = spec_for(tmp_path / name / "current.parquet", tmp_path / name / "reference.parquet")
            spec["drift"]["method"] = method
            results = run_checks(parse_spec(spec), now=NOW)
            found[name, method] = next(f for f in results.drift.features if f.feature == "x")
            assert [f.kind for f in results.data_quality if f.column == "x"] == ["infiniteValues"]
    assert found["same", "wasserstein"].status is Verdict.PASSED and found["same", "wasserstein"].statistic == 0.0
    assert found["same", "auto"].status is Verdict.PASSED and found["same", "auto"].effect_size == 0.0
    undefined = found["only-inf", "wasserstein"]
    assert undefined.status is Verdict.ERROR
    assert (
        undefined.reason
        == "column 'x': wasserstein is undefined here: it needs finite values on both sides (see dataQuality)"
    )
    assert found["only-inf", "auto"].status is Verdict.FAILED  # KS 1.0 decides: a clear drift never passes


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_streamed_infinities_are_reported_and_judged_as_the_exact_path_judges_them(tmp_path: Path) -> None:
    """Streamed, ±inf made the moments NaN: no finding, an infinite distance (identical columns Failed)."""
    rng = np.random.default_rng(0)
    x = np.append(rng.normal(size=3000), [np.inf, -np.inf])
    shifted = np.append(rng.normal(size=3000) + 0.5, [np.inf] * 2)
    cases = {"same": x, "only-inf": np.full(x.size, np.inf), "shifted": shifted}
    for name, current_x in cases.items():
        (tmp_path / name).mkdir()
        pq.write_table(pa.table(_log_with(rng, x.size, {"x": x}, 0)), tmp_path / name / "reference.parquet")
        pq.write_table(pa.table(_log_with(rng, x.size, {"x": current_x}, 0)), tmp_path / name / "current.parquet")
    for name in cases:
        for method in ("wasserstein", "auto", "ks", "psi"):
            found = {}
            for exact_max_rows in (None, 1000):
                spec = spec_for(tmp_path / name / "current.parquet", tmp_path / name / "reference.parquet")
                spec["drift"]["method"] = method
                if exact_max_rows:
                    spec["drift"]["exactMaxRows"] = exact_max_rows
                results = run_checks(parse_spec(spec), now=NOW)
                found[exact_max_rows] = next(f for f in results.drift.features if f.feature == "x")
                assert [f.kind for f in results.data_quality if f.column == "x"] == ["infiniteValues"]
            exact, streamed = found[None], found[1000]
            assert (streamed.status, streamed.drifted) == (exact.status, exact.drifted), (name, method)
            if method == "wasserstein" and exact.statistic is not None:
                assert abs(streamed.statistic - exact.statistic) <= streamed.approximation_error
