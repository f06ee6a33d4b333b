"""The one time module: each form written, and every form read back as the same UTC moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from modelmonitor.times import iso, parse_iso, precise_iso, rfc3339

MOMENT = datetime(2026, 12, 6, 3, 4, 5, 678901, tzinfo=UTC)


def test_the_three_forms() -> None:
    assert rfc3339(MOMENT) == "2026-12-06T03:04:05.678901Z"
    assert rfc3339(MOMENT.replace(microsecond=0)) == "2026-12-06T03:04:05Z"
    assert iso(MOMENT) == "2026-12-06T03:04:05Z"
    assert precise_iso(MOMENT.replace(microsecond=0)) == "2026-12-06T03:04:05.000000Z"
    assert iso(MOMENT.astimezone(timezone(timedelta(hours=5, minutes=30)))) == "2026-12-06T03:04:05Z"


@pytest.mark.parametrize("write", [rfc3339, precise_iso])
def test_each_form_reads_back_as_the_moment(write) -> None:
    assert parse_iso(write(MOMENT)) == MOMENT and parse_iso(write(MOMENT)).tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-12-06T08:34:05+05:30", datetime(2026, 12, 6, 3, 4, 5, tzinfo=UTC)),
        ("2026-12-06T03:04:05", datetime(2026, 12, 6, 3, 4, 5, tzinfo=UTC)),  # no offset: UTC, not local time
        ("2026-12-06", datetime(2026, 12, 6, tzinfo=UTC)),
    ],
)
def test_offsets_are_converted_and_none_is_utc(text: str, moment: datetime) -> None:
    assert parse_iso(text) == moment


def test_what_is_no_time_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_iso("yesterday")
