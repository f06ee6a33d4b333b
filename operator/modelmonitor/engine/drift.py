"""Data drift of one column: the registry of methods, the column kinds, and dispatch.

Each method is a module of ``modelmonitor.engine.drift_methods`` (see there); this module
imports them all, one per name of the spec's ``DriftMethod``, and hands each column to the
form its method takes.  Numerical columns arrive as 1-D float arrays without nulls (or, too
large to sort, as bin counts); categorical ones as category counts.

A column is **binary** when reference and current together hold two distinct values,
**categorical** when it is declared so, is not numeric, or is numeric with at most
``DISCRETE_MAX_VALUES`` distinct reference values, and **numerical** otherwise.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from modelmonitor.api.drift import Correction, DriftMethod
from modelmonitor.engine import drift_methods
from modelmonitor.engine.drift_definition import (
    BinnedForm,
    ColumnKind,
    CountsForm,
    DriftMethodDefinition,
    ExactForm,
    Measured,
)
from modelmonitor.engine.numerical_distance import BinnedColumn

DISCRETE_MAX_VALUES = 10


def _registered() -> dict[DriftMethod, DriftMethodDefinition]:
    """Each method's definition, from the module of its name (the spec's enum is read from the same folder)."""
    return {method: importlib.import_module(f"{drift_methods.__name__}.{method}").METHOD for method in DriftMethod}


METHODS = _registered()


@dataclass(frozen=True)
class DriftMeasurement:
    """What one method measured on one column, before any multiple-testing correction.

    ``approximation_error`` is set for statistics computed from histograms: the largest
    possible difference between the reported statistic and the exact one.
    """

    method: DriftMethod
    kind: ColumnKind
    statistic: float
    p_value: float | None
    threshold: float
    effect_size: float | None = None
    effect_floor: float | None = None
    approximation_error: float | None = None

    def drifted(self, adjusted_p_value: float | None = None) -> bool:
        if self.p_value is None:
            return self.statistic >= self.threshold
        p_value = self.p_value if adjusted_p_value is None else adjusted_p_value
        significant = p_value < self.threshold
        if self.effect_floor is None or self.effect_size is None or math.isnan(self.effect_size):
            return significant  # no effect to weigh (infinite values): a NaN must never hide a clear drift
        return significant and self.effect_size >= self.effect_floor


def _measurement(
    method: DriftMethod, kind: ColumnKind, measured: Measured, threshold: float | None
) -> DriftMeasurement:
    # as Python floats: a method's numpy scalars would otherwise reach the results (and JSON) as they are
    return DriftMeasurement(
        method,
        kind,
        float(measured.statistic),
        _float(measured.p_value),
        METHODS[method].default_threshold if threshold is None else threshold,
        _float(measured.effect_size),
        _float(measured.effect_floor),
        _float(measured.approximation_error),
    )


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def check_counts(method: DriftMethod) -> CountsForm:
    """The method's counts form; refuses a method that reads values only, before a column is counted for it."""
    counts = METHODS[method].counts
    if counts is None:
        raise ValueError(f"method {method} needs a numerical column, not category counts")
    return counts


def check_method(method: DriftMethod, kind: ColumnKind) -> CountsForm:
    """The method's counts form; refuses a method that does not measure counts of this kind of column."""
    counts = check_counts(method)
    if kind not in METHODS[method].counted_kinds:
        raise ValueError(f"method {method} does not apply to a {kind} column")
    return counts


def _value_forms(method: DriftMethod) -> tuple[ExactForm, BinnedForm]:
    definition = METHODS[method]
    if definition.exact is None or definition.binned is None:
        raise ValueError(f"method {method} measures category counts, not a numerical column's values")
    return definition.exact, definition.binned


def column_kind(*, numeric: bool, declared_categorical: bool, distinct_values: int) -> ColumnKind:
    """Classify a column (see the module docstring)."""
    if distinct_values == 2:
        return ColumnKind.BINARY
    if declared_categorical or not numeric or distinct_values <= DISCRETE_MAX_VALUES:
        return ColumnKind.CATEGORICAL
    return ColumnKind.NUMERICAL


def numerical_drift(
    reference: NDArray[np.float64],
    current: NDArray[np.float64],
    *,
    method: DriftMethod = DriftMethod.AUTO,
    threshold: float | None = None,
    assume_sorted: bool = False,
) -> DriftMeasurement:
    """Measure drift of a numerical column.  Both arrays are sorted in place, unless
    ``assume_sorted`` says they already are.

    >>> rng = np.random.default_rng(0)
    >>> numerical_drift(rng.normal(size=5000), rng.normal(1.0, size=5000)).drifted()
    True
    """
    if reference.size == 0 or current.size == 0:
        raise ValueError("drift needs values in both the reference and the current data")
    exact = _value_forms(method)[0]
    if not assume_sorted:
        reference.sort()
        current.sort()
    return _measurement(method, ColumnKind.NUMERICAL, exact(reference, current), threshold)


def binned_numerical_drift(
    edges: NDArray[np.float64],
    reference: BinnedColumn,
    current: BinnedColumn,
    *,
    method: DriftMethod = DriftMethod.AUTO,
    threshold: float | None = None,
) -> DriftMeasurement:
    """Drift of a numerical column too large to sort in memory, from shared-edge histograms.

    The result's ``approximation_error`` bounds how far its statistic may be from the exact one.
    """
    if reference.size == 0 or current.size == 0:
        raise ValueError("drift needs values in both the reference and the current data")
    binned = _value_forms(method)[1]
    return _measurement(method, ColumnKind.NUMERICAL, binned(edges, reference, current), threshold)


def categorical_drift(
    reference_counts: Mapping[Any, int],
    current_counts: Mapping[Any, int],
    *,
    method: DriftMethod = DriftMethod.AUTO,
    threshold: float | None = None,
    kind: ColumnKind = ColumnKind.CATEGORICAL,
) -> DriftMeasurement:
    """Measure drift of a categorical (or binary) column from its category counts.

    >>> categorical_drift({"a": 500, "b": 500}, {"a": 800, "b": 200}).drifted()
    True
    """
    categories = sorted(set(reference_counts) | set(current_counts), key=repr)
    expected = np.array([reference_counts.get(c, 0) for c in categories], dtype=np.float64)
    actual = np.array([current_counts.get(c, 0) for c in categories], dtype=np.float64)
    if expected.sum() == 0 or actual.sum() == 0:
        raise ValueError("drift needs values in both the reference and the current data")
    if len(categories) == 2 and kind is ColumnKind.CATEGORICAL:
        kind = ColumnKind.BINARY
    counts = check_method(method, kind)
    return _measurement(method, kind, counts(expected, actual, kind), threshold)


def adjust_p_values(p_values: list[float], correction: Correction) -> list[float]:
    """Bonferroni or Benjamini-Hochberg (false-discovery rate) adjusted p-values."""
    if not p_values or correction is Correction.NONE:
        return list(p_values)
    values = np.asarray(p_values, dtype=np.float64)
    if correction is Correction.BONFERRONI:
        return np.minimum(values * values.size, 1.0).tolist()
    return stats.false_discovery_control(values, method="bh").tolist()
