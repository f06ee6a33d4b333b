"""Fairness (``spec.fairness``) on the current window: the rows tallied by group and outcome, each metric judged.

One pass reads the protected attribute, the prediction and (when a metric needs it) the label, a
batch at a time, and counts the rows by (group, prediction, label) as text: the favorable outcome
is then chosen among the values seen, as the performance metrics choose the positive class. The
twelve counts of ``engine.fairness`` are all the metrics need. Rows without the attribute, or
in neither group, are left out and said so in a finding.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelmonitor.api.fairness import FAIRNESS_METRICS, FairnessMetricSpec, FairnessSpec
from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.api.results import DataQualityFinding, FairnessResult
from modelmonitor.api.verdict import Verdict
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.labels import ClassCoder, class_text, present
from modelmonitor.data.source_definition import RowFilter, Source
from modelmonitor.engine import fairness as engine
from modelmonitor.errors import ColumnError, DataError

_PRIVILEGED, _UNPRIVILEGED, _NEITHER, _NO_ATTRIBUTE = "privileged", "unprivileged", "neither", "none"


@dataclass
class GroupTally:
    """The window's predicted rows by (group, prediction, label), the label None where none has come."""

    counts: Counter[tuple[str, str, str | None]] = field(default_factory=Counter)

    def add(self, groups: pa.Array, predictions: pa.Array, labels: pa.Array | None) -> None:
        columns = {"group": groups, "prediction": predictions}
        if labels is not None:
            columns["label"] = labels
        counted = pa.table(columns).group_by(list(columns)).aggregate([([], "count_all")])
        for row in counted.to_pylist():
            self.counts[(row["group"], row["prediction"], row.get("label"))] += row["count_all"]

    def rows_in(self, group: str) -> int:
        return sum(count for (named, _, _), count in self.counts.items() if named == group)

    def classes(self) -> set[str]:
        return {value for (_, prediction, label) in self.counts for value in (prediction, label) if value is not None}

    def outcomes(self, favorable: str) -> engine.Counts:
        """The engine's counts[group, predicted, label] for the two groups, ``favorable`` naming the good outcome."""
        counts = np.zeros(engine.OUTCOMES, dtype=np.int64)
        groups = {_PRIVILEGED: engine.PRIVILEGED, _UNPRIVILEGED: engine.UNPRIVILEGED}
        for (group, prediction, label), count in self.counts.items():
            if group in groups:
                predicted = engine.PREDICTED_FAVORABLE if prediction == favorable else engine.PREDICTED_UNFAVORABLE
                known = engine.UNLABELED if label is None else engine.LABEL_FAVORABLE
                if label is not None and label != favorable:
                    known = engine.LABEL_UNFAVORABLE
                counts[groups[group], predicted, known] += count
        return counts


def _group_of(values: pa.Array, fairness: FairnessSpec) -> pa.Array:
    """Each row's group, by its protected attribute as text."""
    text = class_text(values)
    privileged = pc.is_in(text, value_set=pa.array(fairness.privileged, pa.string()))
    if fairness.unprivileged is None:
        unprivileged = pc.invert(privileged)
    else:
        unprivileged = pc.is_in(text, value_set=pa.array(fairness.unprivileged, pa.string()))
    group = pc.if_else(privileged, _PRIVILEGED, pc.if_else(unprivileged, _UNPRIVILEGED, _NEITHER))
    return pc.if_else(present(values), group, _NO_ATTRIBUTE)


def tally(source: Source, rows: RowFilter | None, spec: ModelMonitorSpec, fairness: FairnessSpec) -> GroupTally:
    """The rows of ``source`` with a prediction, counted by group, prediction and label."""
    columns = spec.data.columns
    label = columns.label if fairness.needs_labels else None
    if fairness.needs_labels and label is None:
        raise ColumnError("label", "data.columns.label is not set")
    wanted = list(dict.fromkeys([fairness.protected_attribute, columns.prediction, *([label] if label else [])]))
    for column in wanted:
        source.require(column)
    found = GroupTally()
    for batch in source.record_batches(wanted, rows):
        batch = batch.filter(present(batch.column(columns.prediction)))
        if not batch.num_rows:
            continue
        labels = None
        if label is not None:
            values = batch.column(label)
            labels = pc.if_else(present(values), class_text(values), pa.scalar(None, pa.string()))
        groups = _group_of(batch.column(fairness.protected_attribute), fairness)
        found.add(groups, class_text(batch.column(columns.prediction)), labels)
    return found


def favorable_outcome(spec: ModelMonitorSpec, fairness: FairnessSpec, classes: set[str]) -> str:
    """The outcome that benefits the person: as the spec names it, else the model's positive class."""
    if fairness.favorable_outcome is not None:
        if classes and fairness.favorable_outcome not in classes:
            shown = ", ".join(sorted(classes)[:20])
            raise DataError(
                f"fairness.favorableOutcome {fairness.favorable_outcome!r} is neither a prediction nor a label "
                f"of the window (those are: {shown})"
            )
        return fairness.favorable_outcome
    coder = ClassCoder(classes, spec.model.positive_label)
    return coder.classes[coder.positive] if coder.classes else ""


def _groups_named(fairness: FairnessSpec) -> tuple[str, str]:
    attribute = fairness.protected_attribute
    privileged = f"{attribute} in [{', '.join(fairness.privileged)}]"
    if fairness.unprivileged is None:
        return privileged, f"{attribute} not in [{', '.join(fairness.privileged)}]"
    return privileged, f"{attribute} in [{', '.join(fairness.unprivileged)}]"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def judged(spec: FairnessMetricSpec, measured: engine.FairnessMeasure, fairness: FairnessSpec) -> FairnessResult:
    """A metric's verdict: Inconclusive on too few rows in a group, Failed outside its bounds, else Passed."""
    facts = FAIRNESS_METRICS[spec.name]
    privileged, unprivileged = _groups_named(fairness)
    fewest = min(measured.support)
    rates = (
        f"{facts.rate} {_number(measured.rates[1])} for {unprivileged} against {_number(measured.rates[0])} "
        f"for {privileged} ({measured.support[1]:,} and {measured.support[0]:,} rows)"
    )
    value = measured.value
    shown = f"{spec.name} {_number(value)}" + (
        f" [{_number(measured.lower)}, {_number(measured.upper)}]" if measured.lower is not None else ""
    )
    if fewest < fairness.min_rows_per_group:
        verdict, reason = Verdict.INCONCLUSIVE, f"too few rows to judge: {fewest:,} < minRowsPerGroup"
    elif value is None:
        verdict, reason = Verdict.INCONCLUSIVE, "undefined: the privileged group's rate is 0"
    elif facts.ratio:
        low, high = spec.min, spec.max
        broken = (low is not None and value < low) or (high is not None and value > high)
        bounds = " and ".join(f"{word} {bound:g}" for word, bound in (("min", low), ("max", high)) if bound is not None)
        verdict = Verdict.FAILED if broken else Verdict.PASSED
        reason = f"{'outside' if broken else 'within'} {bounds}"
    else:
        assert spec.max is not None  # a difference has its max (the spec's rule)
        broken = abs(value) > spec.max
        side = "unprivileged behind" if value < 0 else "unprivileged ahead"
        verdict = Verdict.FAILED if broken else Verdict.PASSED
        reason = f"a gap of {abs(value):.3g} ({side}), {'above' if broken else 'within'} max {spec.max:g}"
    return FairnessResult(
        name=str(spec.name),
        value=value,
        lower=measured.lower,
        upper=measured.upper,
        verdict=verdict,
        min=spec.min,
        max=spec.max,
        privileged_rate=measured.rates[0],
        unprivileged_rate=measured.rates[1],
        privileged_rows=measured.support[0],
        unprivileged_rows=measured.support[1],
        message=f"{shown}: {reason}; {rates}",
    )


def _left_out(fairness: FairnessSpec, found: GroupTally) -> list[DataQualityFinding]:
    rows = sum(found.counts.values())
    missing, neither = found.rows_in(_NO_ATTRIBUTE), found.rows_in(_NEITHER)
    findings = []
    attribute = fairness.protected_attribute
    if missing:
        findings.append(
            DataQualityFinding(
                "missingProtectedAttribute",
                attribute,
                f"{missing:,} of {rows:,} rows have no {attribute}: fairness leaves them out",
                {"rows": missing},
            )
        )
    if neither:
        findings.append(
            DataQualityFinding(
                "outsideProtectedGroups",
                attribute,
                f"{neither:,} of {rows:,} rows have a {attribute} in neither group: fairness leaves them out",
                {"rows": neither},
            )
        )
    return findings


def evaluate_fairness(context: CheckContext) -> tuple[list[FairnessResult], list[DataQualityFinding]]:
    """Each fairness metric of the spec on the current window, and what was left out; Error where unreadable."""
    fairness = context.spec.fairness
    if fairness is None:
        return [], []
    try:
        found = tally(context.current, context.current_rows, context.spec, fairness)
        favorable = favorable_outcome(context.spec, fairness, found.classes())
    except DataError as error:
        failed = [
            FairnessResult(str(m.name), None, None, None, Verdict.ERROR, m.min, m.max, message=str(error))
            for m in fairness.metrics
        ]
        return failed, []
    counts = found.outcomes(favorable)
    results = [
        judged(metric, engine.measure(metric.name, counts, confidence=fairness.confidence), fairness)
        for metric in fairness.metrics
    ]
    return results, _left_out(fairness, found)
