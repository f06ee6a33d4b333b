"""Data drift and data quality, one feature column at a time."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.streaming import NumericScan, RowCounts
from modelmonitor.engine.distribution import CategoryCounts, Histogram, category_counts, sorted_histogram
from modelmonitor.engine.drift import (
    DISCRETE_MAX_VALUES,
    DriftMeasurement,
    adjust_p_values,
    categorical_drift,
    check_method,
    column_kind,
    numerical_drift,
)
from modelmonitor.engine.results import DataQualityFinding, DriftResult, FeatureDriftResult, RanOn
from modelmonitor.engine.verdict import Verdict
from modelmonitor.errors import DataError
from modelmonitor.spec import DriftMethod, DriftSpec

NULL_RATE_JUMP = 0.1  # absolute rise of the null rate that is reported ...
NULL_RATE_FACTOR = 2.0  # ... when the rate also at least doubles
_COUNT_METHODS = frozenset({DriftMethod.CHI2, DriftMethod.ZTEST})
_SORTED_METHODS = frozenset({DriftMethod.KS, DriftMethod.WASSERSTEIN})
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


@dataclass
class _Column(RowCounts):
    values: pa.ChunkedArray = field(default_factory=lambda: pa.chunked_array([], pa.null()))  # without nulls


def _read(context: CheckContext, feature: str, *, reference: bool) -> _Column:
    values = context.side(reference).read([feature], context.side_rows(reference))[feature]
    if pa.types.is_floating(values.type):
        values = pc.if_else(pc.is_nan(values), None, values)
    valid = values.drop_null()
    return _Column(rows=len(values), nulls=len(values) - len(valid), values=valid)


def _is_numeric(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def _counts(values: pa.ChunkedArray | pa.Array) -> dict[Any, int]:
    if len(values) == 0:
        return {}
    counted = pc.value_counts(values)
    return dict(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True))


def _sorted_counts(values: NDArray[np.float64]) -> dict[Any, int]:
    distinct, counts = np.unique(values, return_counts=True)
    return dict(zip(distinct.tolist(), counts.tolist(), strict=True))


def _distinct_at_most(sorted_values: NDArray[np.float64], limit: int) -> bool:
    return sorted_values.size == 0 or int(np.count_nonzero(np.diff(sorted_values))) + 1 <= limit


def _numeric_in_both(context: CheckContext, feature: str) -> bool:
    return all(
        feature in source.column_names and _is_numeric(source.schema.field(feature).type)
        for source in (context.reference, context.current)
    )


def measure_feature(
    context: CheckContext,
    feature: str,
    method: DriftMethod,
    threshold: float | None,
    *,
    categorical: bool,
    stream: bool = False,
) -> FeatureOutcome:
    """Read one feature from both sources and measure its drift and data quality.

    With ``stream``, a numerical feature is streamed into histograms instead of being
    sorted in memory (see ``checks.streaming``), and its result says it is approximate.
    """
    outcome = FeatureOutcome(feature, method)
    measure: Callable[[], DriftMeasurement]
    try:
        if stream and not categorical and method not in _COUNT_METHODS and _numeric_in_both(context, feature):
            scan = NumericScan.first_pass(context, feature)
            reference, current = scan.reference, scan.current

            def measure() -> DriftMeasurement:
                measurement = scan.measure(method, threshold)
                outcome.histogram, outcome.categories = scan.histogram, scan.categories
                return measurement
        elif stream:
            counted = _count_stream(context, feature, reference=True), _count_stream(context, feature, reference=False)
            reference, current = counted
            numeric = _numeric_in_both(context, feature)

            def measure() -> DriftMeasurement:
                return _measure_counts(
                    counted[0].counts,
                    counted[1].counts,
                    method,
                    threshold,
                    numeric=numeric,
                    categorical=categorical,
                    outcome=outcome,
                )
        else:
            in_memory = _read(context, feature, reference=True), _read(context, feature, reference=False)
            reference, current = in_memory
            outcome.findings += _infinite_findings(feature, *in_memory)

            def measure() -> DriftMeasurement:
                return _measure(*in_memory, method, threshold, categorical=categorical, outcome=outcome)
    except DataError as error:
        outcome.status, outcome.reason = Verdict.ERROR, str(error)
        outcome.findings.append(DataQualityFinding("missingColumn", feature, str(error)))
        return outcome
    outcome.reference_samples, outcome.current_samples = reference.count, current.count
    outcome.findings += _null_findings(feature, reference, current)
    if current.rows and not current.count:
        outcome.status, outcome.reason = Verdict.ERROR, f"column {feature!r}: every value is null in the current window"
        return outcome
    if not reference.count:
        outcome.status, outcome.reason = Verdict.ERROR, f"column {feature!r}: every value is null in the reference data"
        return outcome
    if current.count < context.min_samples:
        outcome.status = Verdict.INCONCLUSIVE
        outcome.reason = f"{current.count} current values < minSamples {context.min_samples}"
        return outcome
    try:
        outcome.measurement = measure()
    except (ValueError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        outcome.status, outcome.reason = Verdict.ERROR, f"column {feature!r}: {error}"
        return outcome
    outcome.kind = str(outcome.measurement.kind)
    return outcome


def _measure(
    reference: _Column,
    current: _Column,
    method: DriftMethod,
    threshold: float | None,
    *,
    categorical: bool,
    outcome: FeatureOutcome,
) -> DriftMeasurement:
    numeric = _is_numeric(reference.values.type) and _is_numeric(current.values.type)
    if numeric and not categorical and method not in _COUNT_METHODS:
        ref = reference.values.to_numpy().astype(np.float64)
        cur = current.values.to_numpy().astype(np.float64)
        ref.sort()
        cur.sort()
        if method in _SORTED_METHODS or not _distinct_at_most(ref, DISCRETE_MAX_VALUES):
            outcome.histogram = sorted_histogram(ref, cur)
            return numerical_drift(ref, cur, method=method, threshold=threshold, assume_sorted=True)
        return _measure_counts(
            _sorted_counts(ref),
            _sorted_counts(cur),
            method,
            threshold,
            numeric=True,
            categorical=categorical,
            outcome=outcome,
            find_new=False,
        )
    return _measure_counts(
        _counts(reference.values),
        _counts(current.values),
        method,
        threshold,
        numeric=numeric,
        categorical=categorical,
        outcome=outcome,
    )


def _measure_counts(
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
    if method in _SORTED_METHODS:
        raise ValueError(f"method {method} needs a numerical column, not category counts")
    outcome.categories = category_counts(ref_counts, cur_counts, ordered=numeric)
    if find_new:
        outcome.findings += _new_categories(outcome.feature, ref_counts, cur_counts)
    kind = column_kind(
        numeric=numeric, declared_categorical=categorical, distinct_values=len(set(ref_counts) | set(cur_counts))
    )
    check_method(method, kind)
    return categorical_drift(ref_counts, cur_counts, method=method, threshold=threshold, kind=kind)


@dataclass
class _Counted(RowCounts):
    """A column read as category counts, a batch at a time."""

    counts: dict[Any, int] = field(default_factory=dict)


def _count_stream(context: CheckContext, feature: str, *, reference: bool) -> _Counted:
    counts: dict[Any, int] = {}
    total = nulls = 0
    for batch in context.side(reference).batches(feature, context.side_rows(reference)):
        if pa.types.is_floating(batch.type):
            batch = pc.if_else(pc.is_nan(batch), None, batch)
        total += len(batch)
        nulls += batch.null_count
        for value, number in _counts(batch.drop_null()).items():
            counts[value] = counts.get(value, 0) + number
    return _Counted(total, nulls, counts)


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


def _infinite_findings(feature: str, reference: _Column, current: _Column) -> list[DataQualityFinding]:
    """±inf in a numerical column: a data fault worth saying, whatever the drift test makes of it."""

    def infinite(column: _Column) -> tuple[int, int]:
        """How many +inf and -inf."""
        if not pa.types.is_floating(column.values.type):
            return 0, 0
        values = column.values.to_numpy()
        return int(np.count_nonzero(values == np.inf)), int(np.count_nonzero(values == -np.inf))

    (current_up, current_down), reference_inf = infinite(current), sum(infinite(reference))
    current_inf = current_up + current_down
    if not current_inf and not reference_inf:
        return []
    message = (
        f"{feature}: {current_inf} of {current.count} current values are infinite "
        f"(+inf {current_up}, -inf {current_down}); reference: {reference_inf} of {reference.count}"
    )
    details = {"currentInfinite": current_inf, "referenceInfinite": reference_inf}
    return [DataQualityFinding("infiniteValues", feature, message, details)]


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


def feature_names(context: CheckContext) -> list[str]:
    columns = context.spec.data.columns
    if columns.features is not None:
        return list(columns.features)
    named = columns.named()
    return [name for name in context.current.column_names if name not in named]


def _to_result(outcome: FeatureOutcome, adjusted: float | None = None) -> FeatureDriftResult:
    m = outcome.measurement
    if m is None:
        return FeatureDriftResult(
            outcome.feature,
            str(outcome.method),
            None,
            None,
            None,
            False,
            outcome.status,
            kind=outcome.kind,
            reference_samples=outcome.reference_samples,
            current_samples=outcome.current_samples,
            reason=outcome.reason,
            histogram=outcome.histogram,
            categories=outcome.categories,
        )
    drifted = m.drifted(adjusted)
    p_value = adjusted if adjusted is not None else m.p_value
    approximate = m.approximation_error is not None
    if m.p_value is None:
        reason = f"{m.method} {m.statistic:.4g} {'>=' if drifted else '<'} threshold {m.threshold:g}"
    else:
        reason = f"p={p_value:.3g} {'<' if p_value < m.threshold else '>='} {m.threshold:g}"
        if m.effect_floor is not None and m.effect_size is not None and np.isnan(m.effect_size):
            reason += ", effect undefined (infinite values): the test alone decides"
        elif m.effect_floor is not None and m.effect_size is not None:
            relation = ">=" if m.effect_size >= m.effect_floor else "<"
            reason += f", effect {m.effect_size:.3g} {relation} floor {m.effect_floor:g}"
    if approximate:
        reason += f" (approximate: statistic within {m.approximation_error:.2g} of exact)"
    return FeatureDriftResult(
        outcome.feature,
        str(m.method),
        m.statistic,
        m.p_value,
        m.threshold,
        drifted,
        Verdict.FAILED if drifted else Verdict.PASSED,
        kind=str(m.kind),
        adjusted_p_value=adjusted,
        effect_size=m.effect_size,
        reference_samples=outcome.reference_samples,
        current_samples=outcome.current_samples,
        reason=reason,
        approximate=approximate,
        approximation_error=m.approximation_error,
        histogram=outcome.histogram,
        categories=outcome.categories,
    )


@dataclass(frozen=True)
class FeatureTask:
    """One column's drift measurement, as :func:`measure_feature` takes it: the unit of work spread over workers."""

    feature: str
    method: DriftMethod
    threshold: float | None
    categorical: bool
    stream: bool = False

    def run(self, context: CheckContext) -> FeatureOutcome:
        return measure_feature(
            context, self.feature, self.method, self.threshold, categorical=self.categorical, stream=self.stream
        )


class FeatureMeasurer(Protocol):
    """Runs feature tasks, in this process or elsewhere, and says where they ran."""

    def measure(self, context: CheckContext, tasks: list[FeatureTask]) -> list[FeatureOutcome]:
        """The outcomes, in the tasks' order."""
        ...

    def ran_on(self) -> RanOn: ...


class LocalMeasurer:
    """Two threads of this process (the column reads and sorts release the GIL)."""

    def __init__(self) -> None:
        self.threads = min(2, os.cpu_count() or 1)

    def measure(self, context: CheckContext, tasks: list[FeatureTask]) -> list[FeatureOutcome]:
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            return list(pool.map(lambda task: task.run(context), tasks))

    def ran_on(self) -> RanOn:
        return RanOn("local", workers=self.threads)


def evaluate_drift(
    context: CheckContext, drift: DriftSpec, *, largest_rows: int = 0, measurer: FeatureMeasurer | None = None
) -> tuple[DriftResult, list[DataQualityFinding]]:
    """Drift of every feature; numerical ones are streamed when ``largest_rows`` exceeds exactMaxRows."""
    measurer = measurer or LocalMeasurer()
    stream = largest_rows > drift.exact_max_rows
    overrides = {feature.name: feature for feature in drift.features}
    categorical = set(context.spec.data.columns.categorical or [])
    names = feature_names(context)
    if unknown := sorted(set(overrides) - set(names)):
        raise DataError(f"spec.drift.features names {', '.join(unknown)}, not among the features being checked")

    def task(name: str) -> FeatureTask:
        override = overrides.get(name)
        method = override.method if override else drift.method
        threshold = override.threshold if override and override.threshold is not None else drift.threshold
        return FeatureTask(name, method, threshold, name in categorical, stream)

    targets = _target_tasks(context)
    measured = measurer.measure(context, [task(name) for name in names] + list(targets.values()))
    outcomes = measured[: len(names)]
    target = dict(zip(targets, measured[len(names) :], strict=True))

    tested = [o for o in outcomes if o.measurement is not None and o.measurement.p_value is not None]
    adjusted = dict(
        zip(
            (o.feature for o in tested),
            adjust_p_values([o.measurement.p_value for o in tested], drift.correction),  # type: ignore[union-attr]
            strict=True,
        )
    )
    results = [_to_result(o, adjusted.get(o.feature)) for o in outcomes]
    judged = [r for r in results if r.status in (Verdict.PASSED, Verdict.FAILED)]
    share = sum(r.drifted for r in judged) / len(judged) if judged else 0.0
    dataset_drift = bool(judged) and share >= drift.dataset_drift_share
    status = Verdict.FAILED if dataset_drift else (Verdict.PASSED if judged else Verdict.INCONCLUSIVE)
    findings = [finding for outcome in outcomes for finding in outcome.findings]
    return DriftResult(
        results,
        share,
        dataset_drift,
        drift.dataset_drift_share,
        str(drift.correction),
        status,
        prediction=_to_result(target["prediction"]) if "prediction" in target else None,
        label=_to_result(target["label"]) if "label" in target else None,
    ), findings


def _target_tasks(context: CheckContext) -> dict[str, FeatureTask]:
    """Prediction and label drift, uncorrected and outside the dataset-drift share."""
    columns = context.spec.data.columns
    categorical = context.spec.model.task.value != "regression"
    found: dict[str, FeatureTask] = {}
    for key, column in (("prediction", columns.prediction), ("label", columns.label)):
        if column and column in context.reference.column_names and column in context.current.column_names:
            found[key] = FeatureTask(column, DriftMethod.AUTO, None, categorical)
    return found
