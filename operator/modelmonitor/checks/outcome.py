"""One feature's drift outcome, and the steps every way of measuring it shares.

Whether a column is read whole, streamed in this process or counted partition by
partition on a cluster's workers, its outcome is judged the same way: its null counts
first (a column empty on either side is an error, too few current values inconclusive),
then the drift measurement, whose failure is an ``Error`` verdict for that feature alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from modelmonitor.api.drift import DriftMethod
from modelmonitor.api.results import CategoryCounts, DataQualityFinding, Histogram
from modelmonitor.api.verdict import Verdict
from modelmonitor.engine.distribution import category_counts
from modelmonitor.engine.drift import DriftMeasurement, categorical_drift, check_counts, check_method, column_kind

NULL_RATE_JUMP = 0.1  # absolute rise of the null rate that is reported ...
NULL_RATE_FACTOR = 2.0  # ... when the rate also at least doubles
_NEW_CATEGORIES_SHOWN = 10


@dataclass
class FeatureOutcome:
    feature: str
    method: DriftMethod
    measurement: DriftMeasurement | None = None
    status: Verdict = Verdict.PASSED
    reason: str = ""
    kind: str = ""
    reference_samples: int = 0
    current_samples: int = 0
    findings: list[DataQualityFinding] = field(default_factory=list)
    histogram: Histogram | None = None
    categories: CategoryCounts | None = None

    def unreadable(self, error: Exception) -> FeatureOutcome:
        """The column could not be read: an error, and a missing-column finding."""
        self.status, self.reason = Verdict.ERROR, str(error)
        self.findings.append(DataQualityFinding("missingColumn", self.feature, str(error)))
        return self

    def ready(self, reference: RowCounts, current: RowCounts, min_samples: int) -> bool:
        """Record the sample sizes and null findings; whether there is enough to measure drift on."""
        feature = self.feature
        self.reference_samples, self.current_samples = reference.count, current.count
        self.findings += _null_findings(feature, reference, current)
        if current.rows and not current.count:
            self.status, self.reason = Verdict.ERROR, f"column {feature!r}: every value is null in the current window"
        elif not reference.count:
            self.status, self.reason = Verdict.ERROR, f"column {feature!r}: every value is null in the reference data"
        elif current.count < min_samples:
            self.status = Verdict.INCONCLUSIVE
            self.reason = f"{current.count} current values < minSamples {min_samples}"
        else:
            return True
        return False

    def measured(self, measure: Callable[[], DriftMeasurement]) -> FeatureOutcome:
        """Record the measurement, or the error that prevented it."""
        try:
            measurement = measure()
        except (ValueError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            self.status, self.reason = Verdict.ERROR, f"column {self.feature!r}: {error}"
            return self
        self.kind = str(measurement.kind)
        if math.isnan(measurement.statistic):  # a NaN compares false with any threshold: it would pass
            self.status = Verdict.ERROR
            self.reason = (
                f"column {self.feature!r}: {measurement.method} is undefined here: "
                "it needs finite values on both sides (see dataQuality)"
            )
            return self
        self.measurement = measurement
        return self


@dataclass(frozen=True)
class Infinities:
    """How many of a side's non-null values are +inf and -inf."""

    positive: int = 0
    negative: int = 0

    @property
    def total(self) -> int:
        return self.positive + self.negative


def infinite_findings(
    feature: str, reference: Infinities, reference_count: int, current: Infinities, current_count: int
) -> list[DataQualityFinding]:
    """±inf in a numerical column: a data fault worth saying, whatever the drift test makes of it."""
    if not current.total and not reference.total:
        return []
    message = (
        f"{feature}: {current.total} of {current_count} current values are infinite "
        f"(+inf {current.positive}, -inf {current.negative}); reference: {reference.total} of {reference_count}"
    )
    details = {"currentInfinite": current.total, "referenceInfinite": reference.total}
    return [DataQualityFinding("infiniteValues", feature, message, details)]


@dataclass
class RowCounts:
    """How many rows a side had, and how many of them were null."""

    rows: int = 0
    nulls: int = 0

    @property
    def count(self) -> int:
        return self.rows - self.nulls

    @property
    def null_rate(self) -> float:
        return self.nulls / self.rows if self.rows else 0.0


def distinct_at_most(sorted_values: NDArray[np.float64], limit: int) -> bool:
    # neighbours compared, not subtracted: inf - inf would warn, and count as a change
    return sorted_values.size == 0 or int(np.count_nonzero(sorted_values[1:] != sorted_values[:-1])) + 1 <= limit


def add_counts(total: dict[Any, int], values: Iterable[Any], numbers: Iterable[int]) -> None:
    """Add counts of values into ``total``."""
    for value, number in zip(values, numbers, strict=True):
        total[value] = total.get(value, 0) + number


def measure_counts(
    ref_counts: dict[Any, int],
    cur_counts: dict[Any, int],
    method: DriftMethod,
    threshold: float | None,
    *,
    numeric: bool,
    categorical: bool,
    outcome: FeatureOutcome,
    find_new: bool = True,
) -> DriftMeasurement:
    """Drift from category counts; ``outcome`` gets their picture and, with ``find_new``, new categories."""
    check_counts(method)
    outcome.categories = category_counts(ref_counts, cur_counts, ordered=numeric)
    if find_new:
        outcome.findings += _new_categories(outcome.feature, ref_counts, cur_counts)
    kind = column_kind(
        numeric=numeric, declared_categorical=categorical, distinct_values=len(set(ref_counts) | set(cur_counts))
    )
    check_method(method, kind)
    return categorical_drift(ref_counts, cur_counts, method=method, threshold=threshold, kind=kind)


def _null_findings(feature: str, reference: RowCounts, current: RowCounts) -> list[DataQualityFinding]:
    details = {"referenceNullRate": round(reference.null_rate, 6), "currentNullRate": round(current.null_rate, 6)}
    if current.rows and current.nulls == current.rows:
        return [
            DataQualityFinding("allNull", feature, f"{feature}: every value is null in the current window", details)
        ]
    jump = current.null_rate - reference.null_rate
    if jump >= NULL_RATE_JUMP and current.null_rate >= NULL_RATE_FACTOR * reference.null_rate:
        message = f"{feature}: null rate rose from {reference.null_rate:.1%} to {current.null_rate:.1%}"
        return [DataQualityFinding("nullRateJump", feature, message, details)]
    return []


def _new_categories(feature: str, reference: dict[Any, int], current: dict[Any, int]) -> list[DataQualityFinding]:
    new = sorted((value for value in current if value not in reference), key=lambda value: -current[value])
    if not new:
        return []
    rows = sum(current[value] for value in new)
    share = rows / sum(current.values())
    shown = ", ".join(repr(value) for value in new[:_NEW_CATEGORIES_SHOWN])
    message = f"{feature}: {len(new)} categories never seen in the reference ({shown}) in {share:.1%} of rows"
    details = {
        "categories": [str(value) for value in new[:_NEW_CATEGORIES_SHOWN]],
        "count": len(new),
        "rowShare": round(share, 6),
    }
    return [DataQualityFinding("newCategory", feature, message, details)]
