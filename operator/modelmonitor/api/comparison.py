"""Two versions compared on one metric: built by ``engine.sequential``, written as a document, read back as these.

The rollout's status, the metrics endpoint and the comparison API show the document; the
operator reads it back with :meth:`ComparisonDocument.from_document`, where a value the
API server pruned (an arm with no labelled rows yet has no value) is NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelmonitor.api.documents import DocumentError

ARMS = ("baseline", "candidate")


def finite(value: float) -> float | None:
    """JSON has no NaN or infinity: an undefined or unbounded value is null."""
    return value if math.isfinite(value) else None


def _number(value: Any, path: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DocumentError(path, f"expected a number, found {value!r}"[:300])
    return float(value)


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DocumentError(path, f"expected an object, found {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Interval:
    """An always-valid interval; written as ``[low, high]``, an unbounded side as null (read back as NaN)."""

    low: float
    high: float

    def to_document(self) -> list[float | None]:
        return [finite(self.low), finite(self.high)]

    @classmethod
    def from_document(cls, document: Any, path: str = "interval") -> Interval:
        if document is None:
            return cls(math.nan, math.nan)
        if not isinstance(document, list | tuple) or len(document) != 2:
            raise DocumentError(path, f"expected [low, high], found {document!r}"[:300])
        return cls(_number(document[0], f"{path}[0]"), _number(document[1], f"{path}[1]"))


@dataclass(frozen=True)
class ArmEstimate:
    """One arm's metric, its always-valid interval, and how many labelled rows it rests on."""

    value: float
    interval: Interval
    rows: int

    def to_document(self, rows_key: str = "labeledRows") -> dict[str, object]:
        return {"value": finite(self.value), "interval": self.interval.to_document(), rows_key: self.rows}

    @classmethod
    def from_document(cls, document: Any, path: str, rows_key: str = "labeledRows") -> ArmEstimate:
        arm = _object(document, path)
        rows = arm.get(rows_key) or 0
        if isinstance(rows, bool) or not isinstance(rows, int):
            raise DocumentError(f"{path}.{rows_key}", f"expected a whole number, found {rows!r}"[:300])
        value = _number(arm.get("value"), f"{path}.value")
        return cls(value, Interval.from_document(arm.get("interval"), f"{path}.interval"), rows)


@dataclass(frozen=True)
class Comparison:
    """Candidate − baseline for one metric, with an always-valid interval for the difference.

    ``estimated``: from CBPE's expected values on every row each arm served, not from labels; its arms count
    ``rows``, not ``labeledRows``.
    """

    metric: str
    higher_is_better: bool
    baseline: ArmEstimate
    candidate: ArmEstimate
    difference: float
    interval: Interval
    alpha: float
    method: str
    estimated: bool = False

    @property
    def improvement(self) -> Interval:
        """The interval of how much better the candidate is (negative: worse), whatever the metric's direction."""
        if self.higher_is_better:
            return self.interval
        return Interval(-self.interval.high, -self.interval.low)

    def arm(self, name: str) -> ArmEstimate:
        return self.baseline if name == "baseline" else self.candidate

    def to_document(self) -> dict[str, object]:
        rows = "rows" if self.estimated else "labeledRows"
        return {
            "metric": self.metric,
            "higherIsBetter": self.higher_is_better,
            "baseline": self.baseline.to_document(rows),
            "candidate": self.candidate.to_document(rows),
            "difference": finite(self.difference),
            "interval": self.interval.to_document(),
            "alpha": self.alpha,
            "method": self.method,
            **({"estimated": True} if self.estimated else {}),
        }

    @classmethod
    def from_document(cls, document: Any, path: str) -> Comparison:
        compared = _object(document, path)
        metric = compared.get("metric")
        if not isinstance(metric, str):
            raise DocumentError(
                f"{path}.metric", "is missing" if metric is None else f"expected text, found {metric!r}"
            )
        estimated = compared.get("estimated") is True
        rows = "rows" if estimated else "labeledRows"
        return cls(
            metric=metric,
            higher_is_better=compared.get("higherIsBetter") is not False,
            baseline=ArmEstimate.from_document(compared.get("baseline"), f"{path}.baseline", rows),
            candidate=ArmEstimate.from_document(compared.get("candidate"), f"{path}.candidate", rows),
            difference=_number(compared.get("difference"), f"{path}.difference"),
            interval=Interval.from_document(compared.get("interval"), f"{path}.interval"),
            alpha=_number(compared.get("alpha"), f"{path}.alpha"),
            method=str(compared.get("method") or ""),
            estimated=estimated,
        )


@dataclass(frozen=True)
class ComparisonDocument:
    """The primary metric's comparison and the guardrails' (and the estimated one), as a rollout's status or the
    comparison API holds them."""

    primary: Comparison
    guardrails: list[Comparison]
    estimated: Comparison | None = None  # analysis.estimated's primary metric, when it was estimated

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ComparisonDocument:
        guardrails = document.get("guardrails") or []
        if not isinstance(guardrails, list):
            raise DocumentError("guardrails", f"expected a list, found {type(guardrails).__name__}")
        estimated = _object(document.get("estimated"), "estimated").get("primary")
        return cls(
            Comparison.from_document(document.get("primary"), "primary"),
            [Comparison.from_document(item, f"guardrails[{index}]") for index, item in enumerate(guardrails)],
            None if estimated is None else Comparison.from_document(estimated, "estimated.primary"),
        )
