"""Segments (``spec.segments``): the monitor's metrics judged in each region, device or tier, as well as overall.

A failure confined to one segment is averaged away by the rest: a model that fails one region
in five can keep its overall accuracy above its min. Each segment is the rows whose column has
one value; a column's values are those listed, or its most frequent ``maxSegments`` in the
window, with the rest pooled as ``other``.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from modelmonitor.api.base import Name, SpecModel, each_once


class SegmentSpec(SpecModel):
    """The segments one column makes."""

    column: Name
    values: list[str] | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="The segments, compared as text; omitted: the column's most frequent values in the window "
        "(at most maxSegments, the rest pooled as other).",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )

    @field_validator("values")
    @classmethod
    def _distinct(cls, values: list[str] | None) -> list[str] | None:
        return each_once(values)


SEGMENTS_FIELD = Field(
    default_factory=list,
    max_length=20,
    description="Columns whose values make segments: the metrics are judged in each (docs/checks.md).",
    json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["column"]},
)
MAX_SEGMENTS_FIELD = Field(
    50,
    ge=2,
    le=1000,
    description="The most segments a column makes (the rest pooled as other): a bound on the series exported.",
)
SEGMENT_ALPHA_FIELD = Field(
    0.05,
    gt=0,
    lt=1,
    description="A segment fails a metric's threshold when its value breaks it and a one-sided test says so at "
    "this false-discovery rate (Benjamini-Hochberg across every segment and metric).",
)


def named_once(segments: list[SegmentSpec]) -> list[SegmentSpec]:
    """The CRD's list map key, said by the model too."""
    columns = [segment.column for segment in segments]
    if repeated := sorted({column for column in columns if columns.count(column) > 1}):
        raise ValueError(f"segments: each column may appear once ({', '.join(repeated)})")
    return segments
