"""Data drift and data quality, one feature column at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from modelmonitor.api.drift import DriftMethod, DriftSpec
from modelmonitor.api.results import DataQualityFinding, DriftResult, FeatureDriftResult
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.executors import Executor
from modelmonitor.checks.outcome import (
    FeatureOutcome,
    Infinities,
    RowCounts,
    distinct_at_most,
    infinite_findings,
    measure_counts,
)
from modelmonitor.checks.streaming import plan_numeric, plan_values
from modelmonitor.engine.distribution import sorted_histogram
from modelmonitor.engine.drift import (
    DISCRETE_MAX_VALUES,
    METHODS,
    DriftMeasurement,
    adjust_p_values,
    numerical_drift,
)
from modelmonitor.errors import DataError


@dataclass
class _Column(RowCounts):
    values: pa.ChunkedArray = field(default_factory=lambda: pa.chunked_array([], pa.null()))  # without nulls


def _read(context: CheckContext, feature: str, *, reference: bool) -> _Column:
    values = context.side(reference).read([feature], context.side_rows(reference))[feature]
    if pa.types.is_floating(values.type):
        values = pc.if_else(pc.is_nan(values), None, values)
    valid = values.drop_null()
    return _Column(rows=len(values), nulls=len(values) - len(valid), values=valid)


def is_numeric(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def _counts(values: pa.ChunkedArray | pa.Array) -> dict[Any, int]:
    if len(values) == 0:
        return {}
    counted = pc.value_counts(values)
    return dict(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True))


def _sorted_counts(values: NDArray[np.float64]) -> dict[Any, int]:
    distinct, counts = np.unique(values, return_counts=True)
    return dict(zip(distinct.tolist(), counts.tolist(), strict=True))


def _numeric_in_both(context: CheckContext, feature: str) -> bool:
    return all(
        feature in source.column_names and is_numeric(source.schema.field(feature).type)
        for source in (context.reference, context.current)
    )


def _in_both(context: CheckContext, feature: str) -> bool:
    return all(feature in source.column_names for source in (context.reference, context.current))


def measure_feature(
    context: CheckContext, feature: str, method: DriftMethod, threshold: float | None, categorical: bool
) -> FeatureOutcome:
    """Read one feature whole from both sources and measure its drift and data quality exactly."""
    outcome = FeatureOutcome(feature, method)
    try:
        reference, current = _read(context, feature, reference=True), _read(context, feature, reference=False)
    except DataError as error:
        return outcome.unreadable(error)
    outcome.findings += _infinite_findings(feature, reference, current)
    if not outcome.ready(reference, current, context.min_samples):
        return outcome
    return outcome.measured(
        lambda: _measure(reference, current, method, threshold, categorical=categorical, outcome=outcome)
    )


def _failed(context: CheckContext, feature: str, method: DriftMethod, message: str) -> FeatureOutcome:
    return FeatureOutcome(feature, method).unreadable(DataError(message))


def _measure(
    reference: _Column,
    current: _Column,
    method: DriftMethod,
    threshold: float | None,
    *,
    categorical: bool,
    outcome: FeatureOutcome,
) -> DriftMeasurement:
    numeric = is_numeric(reference.values.type) and is_numeric(current.values.type)
    if numeric and not categorical and not METHODS[method].reads_counts_only:
        ref = reference.values.to_numpy().astype(np.float64)
        cur = current.values.to_numpy().astype(np.float64)
        ref.sort()
        cur.sort()
        if METHODS[method].reads_values_only or not distinct_at_most(ref, DISCRETE_MAX_VALUES):
            outcome.histogram = sorted_histogram(ref, cur)
            return numerical_drift(ref, cur, method=method, threshold=threshold, assume_sorted=True)
        return measure_counts(
            _sorted_counts(ref),
            _sorted_counts(cur),
            method,
            threshold,
            numeric=True,
            categorical=categorical,
            outcome=outcome,
            find_new=False,
        )
    return measure_counts(
        _counts(reference.values),
        _counts(current.values),
        method,
        threshold,
        numeric=numeric,
        categorical=categorical,
        outcome=outcome,
    )


def _infinite_findings(feature: str, reference: _Column, current: _Column) -> list[DataQualityFinding]:
    def infinities(column: _Column) -> Infinities:
        if not pa.types.is_floating(column.values.type):
            return Infinities()
        values = column.values.to_numpy()
        return Infinities(int(np.count_nonzero(values == np.inf)), int(np.count_nonzero(values == -np.inf)))

    return infinite_findings(feature, infinities(reference), reference.count, infinities(current), current.count)


def feature_names(context: CheckContext) -> list[str]:
    columns = context.spec.data.columns
    if columns.features is not None:
        return list(columns.features)
    # a time partition's keys change with every window by design, and a request id with every row: not features
    named = {*columns.named(), *context.current.non_feature_columns, *context.reference.non_feature_columns}
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
    """One column's drift measurement: read whole, or (``stream``) partition by partition."""

    feature: str
    method: DriftMethod
    threshold: float | None
    categorical: bool
    stream: bool = False

    def submit(self, context: CheckContext, executor: Executor) -> Any:
        """Submit the task's stages to ``executor``; the handle of its outcome.

        Streamed, a numerical column is binned in two passes (``checks.streaming``) and its
        result says it is approximate; any other column is counted by value, exactly.
        """
        if not self.stream or not _in_both(context, self.feature):
            return executor.submit(measure_feature, self.feature, self.method, self.threshold, self.categorical)
        try:
            numeric = _numeric_in_both(context, self.feature)
            if numeric and not self.categorical and not METHODS[self.method].reads_counts_only:
                return plan_numeric(executor, context, self.feature, self.method, self.threshold)
            kind = (numeric, self.categorical)
            return plan_values(executor, context, self.feature, self.method, self.threshold, kind)
        except DataError as error:  # the partitions could not be listed, or the rows counted
            return executor.submit(_failed, self.feature, self.method, str(error))


@dataclass(frozen=True)
class DriftTasks:
    """A check's drift tasks: one per feature, then prediction and label drift (``targets``)."""

    features: list[str]
    targets: list[str]
    tasks: list[FeatureTask]


def drift_tasks(context: CheckContext, drift: DriftSpec, *, largest_rows: int = 0) -> DriftTasks:
    """Every column's task; numerical ones are streamed when ``largest_rows`` exceeds exactMaxRows."""
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

    targets = _target_tasks(context, stream)
    return DriftTasks(names, list(targets), [task(name) for name in names] + list(targets.values()))


def drift_result(
    drift: DriftSpec, planned: DriftTasks, measured: list[FeatureOutcome]
) -> tuple[DriftResult, list[DataQualityFinding]]:
    """The drift of every feature from its task's outcome, p-values corrected together."""
    outcomes = measured[: len(planned.features)]
    target = dict(zip(planned.targets, measured[len(planned.features) :], strict=True))
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


def _target_tasks(context: CheckContext, stream: bool) -> dict[str, FeatureTask]:
    """Prediction and label drift, uncorrected and outside the dataset-drift share."""
    columns = context.spec.data.columns
    categorical = context.spec.model.task.value != "regression"
    found: dict[str, FeatureTask] = {}
    for key, column in (("prediction", columns.prediction), ("label", columns.label)):
        if column and column in context.reference.column_names and column in context.current.column_names:
            found[key] = FeatureTask(column, DriftMethod.AUTO, None, categorical, stream)
    return found
