"""Drift within each segment: a segment's window rows against the same segment's reference rows, feature by feature.

A shift confined to one region is diluted by the others in the overall test. Here each side is
sampled once, as multivariate drift samples it (at most ``SAMPLE_ROWS`` rows a side, seeded),
with the segment columns beside the features. Each feature of each segment is tested by the
method and threshold the overall test used for it (``auto``: as it decided), on that segment's
rows alone. The p-values of every segment and feature are corrected together
(Benjamini-Hochberg), and a segment drifts as the dataset does: when at least
``drift.datasetDriftShare`` of its judged features drifted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from modelmonitor.api.drift import Correction, DriftMethod
from modelmonitor.api.results import DriftResult, FeatureDriftResult
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.multivariate import sample_frame
from modelmonitor.engine.drift import (
    ColumnKind,
    DriftMeasurement,
    adjust_p_values,
    categorical_drift,
    numerical_drift,
)
from modelmonitor.engine.multivariate import Frame

SAMPLE_ROWS = 200_000  # a side: the segments share it
MIN_ROWS = 30  # a side, for one segment's feature to be tested


@dataclass
class SegmentDrift:
    """One segment's features: those that drifted, of those judged, and why any were not."""

    drifted: list[str] = field(default_factory=list)
    judged: int = 0
    reason: str = ""

    @property
    def share(self) -> float | None:
        return len(self.drifted) / self.judged if self.judged else None


def _values(frame: Frame, feature: str, mask: NDArray[np.bool_]) -> NDArray[np.float64] | NDArray[np.object_]:
    found = frame.numbers[feature] if feature in frame.numbers else frame.categories[feature]
    return found[mask]


def _measured(
    feature: FeatureDriftResult, reference: NDArray, current: NDArray, *, numeric: bool
) -> DriftMeasurement | None:
    """The overall test's method on one segment's values; None when a side has too few."""
    if numeric:
        reference, current = reference[~np.isnan(reference)], current[~np.isnan(current)]
    else:
        reference = reference[np.not_equal(reference, None)]
        current = current[np.not_equal(current, None)]
    if min(len(reference), len(current)) < MIN_ROWS:
        return None
    method, kind = DriftMethod(feature.method), ColumnKind(feature.kind)
    if numeric and kind is ColumnKind.NUMERICAL:
        return numerical_drift(reference.copy(), current.copy(), method=method, threshold=feature.threshold)
    return categorical_drift(
        Counter(reference.tolist()), Counter(current.tolist()), method=method, threshold=feature.threshold, kind=kind
    )


def segment_drift(
    context: CheckContext, drift: DriftResult, segments: Sequence[tuple[str, list[str], bool]], share: float
) -> dict[tuple[str, str], SegmentDrift]:
    """Each segment's drift by (column, value); ``segments``: each column, its values, whether the last is pooled."""
    features = [f for f in drift.features if f.statistic is not None and f.kind]
    names = [f.feature for f in features]
    columns = [column for column, _, _ in segments]
    missing = [column for column in columns if column not in context.reference.column_names]
    found: dict[tuple[str, str], SegmentDrift] = {}
    if missing or not features:
        reason = f"the reference has no {', '.join(missing)}" if missing else "no feature's drift was measured"
        return {(c, v): SegmentDrift(reason=reason) for c, values, _ in segments for v in values}
    wanted = list(dict.fromkeys([*names, *columns]))
    sides = [
        sample_frame(context, wanted, reference=side, rows=SAMPLE_ROWS, as_text=set(columns)) for side in (True, False)
    ]
    tested: list[tuple[tuple[str, str], str, DriftMeasurement]] = []
    for column, values, pooled in segments:
        named = values[:-1] if pooled else values
        for value in values:
            key = (column, value)
            found[key] = SegmentDrift()
            before = len(tested)
            masks = [
                ~np.isin(frame.categories[column], named) & np.not_equal(frame.categories[column], None)
                if pooled and value == values[-1]
                else frame.categories[column] == value
                for frame in sides
            ]
            for feature in features:
                pair = [_values(frame, feature.feature, mask) for frame, mask in zip(sides, masks, strict=True)]
                measured = _measured(feature, *pair, numeric=feature.feature in sides[0].numbers)
                if measured is not None:
                    tested.append((key, feature.feature, measured))
            if len(tested) == before:
                found[key].reason = f"fewer than {MIN_ROWS} rows a side in the sample"
    with_p = [item for item in tested if item[2].p_value is not None]
    adjusted = dict(
        zip(
            ((key, name) for key, name, _ in with_p),
            adjust_p_values([m.p_value for _, _, m in with_p], Correction.FDR),  # type: ignore[misc]
            strict=True,
        )
    )
    for key, name, measured in tested:
        found[key].judged += 1
        if measured.drifted(adjusted.get((key, name))):
            found[key].drifted.append(name)
    for result in found.values():
        if result.share is not None and result.share >= share:
            result.reason = f"{len(result.drifted)} of {result.judged} features drifted: {', '.join(result.drifted)}"
    return found
