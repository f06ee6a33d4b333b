"""How a timestamp column is read: every form a log may hold, as UTC instants in microseconds.

One home for both places that read time: the scan's window filter (an Arrow expression,
pushed into the read) and the checks that bucket and order rows (arrays). Accepted:

* Arrow timestamps of any unit (s, ms, us, ns), naive (taken as UTC) or zoned (any zone:
  the stored value is already the UTC instant);
* dates (``date32``, ``date64``): midnight UTC;
* ISO-8601 text, with an offset (``Z``, ``+02:00``, ``-0800``) or without one (taken as
  UTC), a ``T`` or a space between date and time, any number of fractional digits;
* numbers: epoch seconds.

Instants are truncated to whole microseconds: pandas writes nanoseconds, but no window or
time bucket is finer than a second, and microseconds reach the years 1 to 9999 that
Python's ``datetime`` holds (nanoseconds stop at 2262).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from modelmonitor.errors import ColumnError

INSTANT = pa.timestamp("us", tz="UTC")
# an offset ends the text: Z, or a sign and four digits (hh:mm or hhmm) after a digit of the time
_OFFSET = r"\d(?:[Zz]|[+-]\d\d:?\d\d)$"
_FRACTION_BEYOND_MICROS = r"(\.\d{6})\d+"

Values = TypeVar("Values", pa.Array, pa.ChunkedArray, ds.Expression)


def _is_time_type(kind: pa.DataType) -> bool:
    """Whether a column of this type can serve as the timestamp column."""
    return (
        pa.types.is_timestamp(kind)
        or pa.types.is_date(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or _is_text(kind)
    )


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)


def require_time_type(name: str, kind: pa.DataType) -> pa.DataType:
    """The column's value type (dictionaries decoded), or a ColumnError saying what a timestamp may be."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if not _is_time_type(kind):
        raise ColumnError(
            name, f"is {kind}: a timestamp column must hold timestamps, dates, ISO-8601 text or epoch seconds"
        )
    return kind


def utc_instants(values: pa.Array | pa.ChunkedArray, name: str = "timestamp") -> pa.Array | pa.ChunkedArray:
    """The values as UTC instants in whole microseconds (``timestamp[us, tz=UTC]``)."""
    if pa.types.is_dictionary(values.type):
        values = pc.cast(values, values.type.value_type)
    try:
        return as_instants(values, require_time_type(name, values.type))
    except pa.ArrowInvalid as error:
        raise ColumnError(name, f"holds a value that is not a time: {error}") from None


def as_instants(values: Values, kind: pa.DataType) -> Values:
    """An array, or a scan expression over a column of type ``kind``, as UTC instants in microseconds."""
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        seconds = _cast(values, pa.float64())
        seconds = pc.if_else(pc.is_finite(seconds), seconds, pa.scalar(None, pa.float64()))  # NaN and inf: no time
        micros = pc.round(pc.multiply(seconds, 1e6))
        return _cast(_cast(micros, pa.int64()), INSTANT)
    if pa.types.is_timestamp(kind):
        if kind.tz is None:  # naive: the same numbers, read as UTC
            values = _cast(values, pa.timestamp(kind.unit, tz="UTC"))
        return _cast(values, INSTANT, truncate=True)
    if pa.types.is_date(kind):
        return _cast(values, INSTANT)
    return _parsed_text(values)


def _parsed_text(values: Values) -> Values:
    """ISO-8601 text: the digits beyond microseconds dropped, each value read with or without its offset."""
    text = pc.replace_substring_regex(values, pattern=_FRACTION_BEYOND_MICROS, replacement=r"\1")
    has_offset = pc.match_substring_regex(text, pattern=_OFFSET)
    # each value is parsed by the branch its form calls for; the other branch sees it as null
    zoned = _cast(pc.if_else(has_offset, text, pa.scalar(None, pa.string())), INSTANT)
    naive = _cast(pc.if_else(has_offset, pa.scalar(None, pa.string()), text), pa.timestamp("us"))
    return pc.if_else(has_offset, zoned, _cast(naive, INSTANT))


def _cast(values: Values, target: pa.DataType, *, truncate: bool = False) -> Values:
    if isinstance(values, ds.Expression):
        # an expression's cast is checked when the scan runs; truncation is allowed by the unsafe cast,
        # which for a timestamp-to-timestamp cast only gives up the sub-microsecond part
        return values.cast(target, safe=not truncate)
    if truncate:
        return pc.cast(values, options=pc.CastOptions(target, allow_time_truncate=True))
    return pc.cast(values, target)


def instant(moment: datetime) -> pa.Scalar:
    """A moment as the instants above are compared with."""
    return pa.scalar(moment.astimezone(UTC), type=INSTANT)


def window_expression(name: str, kind: pa.DataType, end: datetime, start: datetime | None) -> ds.Expression:
    """``start < time <= end`` for a column of type ``kind``, as a scan filter.

    Timestamps and epoch seconds are compared as they are stored, so that Parquet's
    row-group statistics can skip what lies outside the window; dates and text are
    converted first.
    """
    column: ds.Expression = ds.field(name)
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
    kind = require_time_type(name, kind)
    if pa.types.is_timestamp(kind):

        def bound(moment: datetime) -> pa.Scalar:
            # a coarser unit floors the bound, which decides alike: a whole second is <= end iff <= floor(end)
            value = moment if kind.tz else moment.astimezone(UTC).replace(tzinfo=None)
            return pa.scalar(value, type=kind)
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):

        def bound(moment: datetime) -> pa.Scalar:
            return pa.scalar(moment.timestamp())
    else:
        column = as_instants(column, kind)
        bound = instant
    expression = column <= bound(end)
    if start is not None:
        expression = expression & (column > bound(start))
    return expression
