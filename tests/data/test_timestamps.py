"""Every form a timestamp column may take, read as the same UTC instants, as arrays and as scan filters."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from modelmonitor.data.table import open_table
from modelmonitor.data.timestamps import utc_instants, window_expression
from modelmonitor.errors import ColumnError

MOMENT = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
BERLIN = timezone(timedelta(hours=1))


def _epoch(unit: str) -> int:
    micros = int(MOMENT.timestamp()) * 1_000_000 + MOMENT.microsecond
    return {"s": micros // 1_000_000, "ms": micros // 1000, "us": micros, "ns": micros * 1000 + 789}[unit]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("zone", [None, "UTC", "Europe/Berlin", "America/Los_Angeles"])
def test_every_unit_and_zone_is_the_same_instant_truncated_to_microseconds(unit: str, zone: str | None) -> None:
    values = pa.array([_epoch(unit), None], pa.timestamp(unit, tz=zone))
    expected = (
        MOMENT.replace(microsecond=0) if unit == "s" else MOMENT.replace(microsecond=123000 if unit == "ms" else 123456)
    )
    assert utc_instants(values).to_pylist() == [expected, None]
    assert utc_instants(values).type == pa.timestamp("us", tz="UTC")


def test_nanoseconds_beyond_microseconds_were_refused_before() -> None:
    """The defect: a safe cast refused any timestamp with a sub-microsecond part."""
    values = pa.chunked_array([pa.array([_epoch("ns")], pa.timestamp("ns", tz="UTC"))])
    assert utc_instants(values).to_pylist() == [MOMENT]


@pytest.mark.parametrize("kind", [pa.date32(), pa.date64()])
def test_dates_are_midnight_utc(kind: pa.DataType) -> None:
    assert utc_instants(pa.array([date(2026, 1, 2)], kind)).to_pylist() == [datetime(2026, 1, 2, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-02T03:04:05.123456Z", MOMENT),
        ("2026-01-02T03:04:05.123456789Z", MOMENT),  # nanoseconds dropped
        ("2026-01-02 03:04:05.123456789+00:00", MOMENT),  # pandas' to_csv of a UTC column
        ("2026-01-02T04:04:05.123456+01:00", MOMENT),
        ("2026-01-01T19:04:05.123456-0800", MOMENT),
        ("2026-01-02T03:04:05.123456", MOMENT),  # naive: UTC
        ("2026-01-02 03:04:05.123456789", MOMENT),  # pandas' to_csv of a naive column
        ("2026-01-02T03:04:05", MOMENT.replace(microsecond=0)),
        ("2026-01-02", datetime(2026, 1, 2, tzinfo=UTC)),  # a date's last digits are no offset
        ("9999-12-31T00:00:00Z", datetime(9999, 12, 31, tzinfo=UTC)),  # past nanoseconds' reach (2262)
    ],
)
def test_iso_text_with_and_without_an_offset(text: str, expected: datetime) -> None:
    assert utc_instants(pa.array([text, None])).to_pylist() == [expected, None]
    assert utc_instants(pa.array([text]).dictionary_encode()).to_pylist() == [expected]


def test_epoch_seconds_and_non_finite_numbers() -> None:
    seconds = MOMENT.timestamp()
    values = pa.array([seconds, float("nan"), float("inf"), None])
    assert utc_instants(values).to_pylist() == [MOMENT, None, None, None]
    assert utc_instants(pa.array([int(seconds)])).to_pylist() == [MOMENT.replace(microsecond=0)]


@pytest.mark.parametrize(
    ("values", "says"),
    [
        (pa.array(["yesterday"]), "holds a value that is not a time"),
        (pa.array([True]), "must hold timestamps, dates, ISO-8601 text or epoch seconds"),
    ],
)
def test_what_is_no_time_is_a_column_error(values: pa.Array, says: str) -> None:
    with pytest.raises(ColumnError, match=says) as raised:
        utc_instants(values, "ts")
    assert "'ts'" in str(raised.value)


STEPS = (-2, -1, 0, 1)
FORMS = {  # each holds MOMENT - 2 steps, - 1 step, MOMENT, + 1 step
    "timestamp[ns]": pa.array([_epoch("us") * 1000 + step * 1000 for step in STEPS], pa.timestamp("ns")),
    "timestamp[s, Berlin]": pa.array([_epoch("s") + step for step in STEPS], pa.timestamp("s", "Europe/Berlin")),
    "text with offset": pa.array(
        [(MOMENT + timedelta(microseconds=step)).astimezone(BERLIN).isoformat() for step in STEPS]
    ),
    "naive text": pa.array(
        [(MOMENT + timedelta(microseconds=step)).replace(tzinfo=None).isoformat() for step in STEPS]
    ),
    "epoch seconds": pa.array([MOMENT.timestamp() + step for step in STEPS]),
}


@pytest.mark.parametrize("form", FORMS)
def test_the_window_filter_keeps_start_out_and_end_in(form: str) -> None:
    table = pa.table({"ts": FORMS[form]})
    whole_seconds = form in ("timestamp[s, Berlin]", "epoch seconds")
    step = timedelta(seconds=1) if whole_seconds else timedelta(microseconds=1)
    end = MOMENT.replace(microsecond=0) if form == "timestamp[s, Berlin]" else MOMENT
    expression = window_expression("ts", table.schema.field("ts").type, end, end - 2 * step)
    kept = ds.dataset(table).to_table(filter=expression)
    assert utc_instants(kept["ts"]).to_pylist() == [end - step, end]


def test_the_time_range_of_a_data_set(tmp_path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text('{"ts": "2026-01-02T03:04:05+01:00"}\n{"ts": "2025-12-31T23:00:00"}\n{"ts": null}\n')
    source = open_table(str(path), "jsonl")
    assert source.time_range("ts") == (
        datetime(2025, 12, 31, 23, tzinfo=UTC),
        datetime(2026, 1, 2, 2, 4, 5, tzinfo=UTC),
    )
