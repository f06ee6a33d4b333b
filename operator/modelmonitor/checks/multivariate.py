"""Multivariate drift (``spec.drift.multivariate``): the features read together, on a row sample of each side.

Each side's rows are drawn while they stream past, each kept with the chance that leaves about
``sampleRows`` of them (the side's rows are counted first), so memory is the sample's whatever
the window's size. The draw is seeded, so a run on the same data finds the same. Numerical
features are read as numbers (NaN where missing); categorical ones, and any column that is not
numeric, as text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelmonitor.api.drift import DriftSpec, MultivariateDriftSpec
from modelmonitor.api.results import DriftResult, MultivariateDriftResult
from modelmonitor.api.verdict import Verdict, worst
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.features import is_numeric
from modelmonitor.checks.labels import class_text
from modelmonitor.engine.multivariate import Frame, MultivariateSettings, method
from modelmonitor.errors import DataError

SEED = 20261207


def sample_frame(
    context: CheckContext, features: list[str], *, reference: bool, rows: int, as_text: Collection[str] = ()
) -> Frame:
    """About ``rows`` of one side's rows, drawn at random, as the engine reads them (``as_text``: as categories)."""
    source, selected = context.side(reference), context.side_rows(reference)
    total = context.side_count(reference)
    chance = min(1.0, rows / total) if total else 1.0
    generator = np.random.default_rng(SEED + int(reference))
    categorical = set(context.spec.data.columns.categorical or [])
    kept: list[pa.RecordBatch] = []
    for batch in source.record_batches(features, selected):
        chosen = generator.random(batch.num_rows) < chance
        if chosen.any():
            kept.append(batch.filter(pa.array(chosen)))
    table = pa.Table.from_batches(kept) if kept else source.read(features, selected).slice(0, 0)
    numbers, categories = {}, {}
    for name in features:
        column = table[name]
        if name in as_text:  # as the checks write a class or a segment: a whole float as an integer
            categories[name] = np.asarray(class_text(column).to_pylist(), dtype=object)
        elif is_numeric(column.type) and name not in categorical:
            numbers[name] = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False).astype(float)
        else:
            text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
            categories[name] = np.asarray(text.to_pylist(), dtype=object)
    return Frame(numbers, categories)


def _result(spec: MultivariateDriftSpec, name: str, reference: Frame, current: Frame) -> MultivariateDriftResult:
    settings = MultivariateSettings(spec.alpha, spec.variance_explained, SEED)
    try:
        found = method(name).measure(reference, current, settings)
    except ValueError as error:
        return MultivariateDriftResult(name, None, None, False, Verdict.INCONCLUSIVE, reason=str(error))
    status = Verdict.FAILED if found.drifted else Verdict.PASSED
    return MultivariateDriftResult(
        name, found.statistic, found.threshold, found.drifted, status, found.p_value, found.reason, found.details
    )


def with_multivariate(context: CheckContext, drift: DriftSpec, result: DriftResult) -> DriftResult:
    """``result`` with each multivariate method's verdict, which its status then includes."""
    spec = drift.multivariate
    if spec is None:
        return result
    features = [f.feature for f in result.features if f.status in (Verdict.PASSED, Verdict.FAILED)]
    try:
        reference = sample_frame(context, features, reference=True, rows=spec.sample_rows)
        current = sample_frame(context, features, reference=False, rows=spec.sample_rows)
    except DataError as error:
        unread = str(error)
        found = [MultivariateDriftResult(str(m), None, None, False, Verdict.ERROR, reason=unread) for m in spec.methods]
    else:
        found = [_result(spec, str(name), reference, current) for name in spec.methods]
    status = worst(result.status, *(r.status for r in found if r.status is not Verdict.INCONCLUSIVE))
    return dataclasses.replace(result, multivariate=found, status=status)
