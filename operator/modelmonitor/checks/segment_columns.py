"""A monitor's segments (``spec.segments``): each column's values, chosen by counting them over the window.

The segments of a column are the values listed, or its ``maxSegments`` most frequent values in
the window with the rest pooled as ``other``. The segment checks (metrics, drift, estimates)
all take them from here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from modelmonitor.api.segments import SegmentSpec
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.labels import class_text

OTHER = "other"


@dataclass
class ColumnSegments:
    """One column's segments: their values (the pooled rest last, if any) and their rows in the window."""

    spec: SegmentSpec
    values: list[str]
    rows: list[int]
    pooled: bool = False

    def codes(self, values: pa.Array | pa.ChunkedArray) -> NDArray[np.int64]:
        """Each row's segment, -1 for none (no value, or a value not listed)."""
        named = len(self.values) - self.pooled
        found = pc.index_in(class_text(values), value_set=pa.array(self.values[:named], pa.string()))
        codes = found.to_numpy(zero_copy_only=False)
        codes = np.where(np.isnan(codes.astype(np.float64)), -1, codes).astype(np.int64)
        if self.pooled:
            codes[(codes < 0) & np.asarray(pc.is_valid(values).to_numpy(zero_copy_only=False))] = named
        return codes


def choose_segments(context: CheckContext) -> list[ColumnSegments]:
    """Pass one: each column's values counted over the window, and its segments chosen."""
    spec = context.spec
    for segment in spec.segments:
        context.current.require(segment.column)
    counted: dict[str, Counter[str]] = {segment.column: Counter() for segment in spec.segments}
    for batch in context.current.record_batches(list(counted), context.current_rows):
        for column, counts in counted.items():
            tally = pc.value_counts(class_text(batch.column(column)).drop_null())
            counts.update(dict(zip(tally.field("values").to_pylist(), tally.field("counts").to_pylist(), strict=True)))
    chosen = []
    for segment in spec.segments:
        counts = counted[segment.column]
        if segment.values is not None:
            chosen.append(ColumnSegments(segment, list(segment.values), [counts.get(v, 0) for v in segment.values]))
        elif len(counts) <= spec.max_segments:
            top = counts.most_common()
            chosen.append(ColumnSegments(segment, [v for v, _ in top], [n for _, n in top]))
        else:
            top = counts.most_common(spec.max_segments - 1)
            rest = sum(counts.values()) - sum(n for _, n in top)
            chosen.append(ColumnSegments(segment, [*(v for v, _ in top), OTHER], [*(n for _, n in top), rest], True))
    return chosen
