"""A rollout's comparison of two versions, as its document is read back (built by ``engine.sequential``).

The status, the metrics endpoint and the comparison API read these; the engine writes the
document (``VersionComparison.to_document``). Only what readers use is typed here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelmonitor.api.documents import DocumentError, from_document

ARMS = ("baseline", "candidate")


@dataclass(frozen=True)
class Interval:
    """An always-valid interval; an unbounded side is NaN (written as null)."""

    low: float = math.nan
    high: float = math.nan

    @classmethod
    def from_document(cls, document: Any, path: str = "interval") -> Interval:
        if document is None:
            return cls()
        if not isinstance(document, list | tuple) or len(document) != 2:
            raise DocumentError(path, f"expected [low, high], found {document!r}"[:300])
        low, high = (math.nan if bound is None else bound for bound in document)
        if not all(isinstance(bound, int | float) and not isinstance(bound, bool) for bound in (low, high)):
            raise DocumentError(path, f"expected numbers, found {document!r}"[:300])
        return cls(float(low), float(high))


@dataclass(frozen=True)
class ArmValue:
    """One arm's metric value (NaN: undefined) and the labelled rows it rests on."""

    value: float = math.nan
    labeled_rows: int = 0


@dataclass(frozen=True)
class MetricComparison:
    """Candidate − baseline for one metric."""

    metric: str
    baseline: ArmValue
    candidate: ArmValue
    difference: float
    interval: Interval = field(default_factory=Interval)

    def arm(self, name: str) -> ArmValue:
        return self.baseline if name == "baseline" else self.candidate


@dataclass(frozen=True)
class ComparisonDocument:
    """The primary metric's comparison and the guardrails'."""

    primary: MetricComparison
    guardrails: list[MetricComparison]

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ComparisonDocument:
        def read(item: Any, path: str) -> MetricComparison:
            if not isinstance(item, Mapping):
                raise DocumentError(path, f"expected an object, found {type(item).__name__}")
            compared = from_document(MetricComparison, {**item, "interval": None}, path)
            return MetricComparison(
                compared.metric,
                compared.baseline,
                compared.candidate,
                compared.difference,
                Interval.from_document(item.get("interval"), f"{path}.interval"),
            )

        guardrails = document.get("guardrails") or []
        return cls(
            read(document.get("primary"), "primary"),
            [read(item, f"guardrails[{index}]") for index, item in enumerate(guardrails)],
        )
