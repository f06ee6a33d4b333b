"""How many of the labels joined by request id (``data.labels``) match no prediction of the window.

A label whose id no prediction has is never dropped without a word. The labels that can belong
to the window (known by the run's moment, none from before the window's start) are counted where
the join indexed them; those the window's labelled rows did not take are reported in
``dataQuality``. Each labelled row takes one label, so with request ids unique in the window (a
collector writes a retried request once) the difference is exactly the labels no prediction has.
Most are ordinarily labels of predictions made before the window (a label comes after its
prediction); all of them point at ids that do not meet: the labels' ``idColumn`` holding another
id than the predictions' ``requestId``, or labels sent for another model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelmonitor.api.results import DataQualityFinding
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.executors import Executor
from modelmonitor.data.label_join import LabeledSource
from modelmonitor.errors import DataError


@dataclass(frozen=True)
class IndexedLabels:
    labels: int  # distinct ids with a label that can belong to the window
    absent: str | None = None  # why there are none at all: nothing at the labels' URI yet


def _indexed(context: CheckContext) -> IndexedLabels | str:
    """The labels the join indexed, where the label checks ran (the index is built once per process)."""
    joined = context.current
    if not isinstance(joined, LabeledSource):
        raise ValueError("counting labels without data.labels")  # the task is planned only with labels
    try:
        return IndexedLabels(joined.index().size, joined.absent)
    except DataError as error:
        return str(error)


@dataclass(frozen=True)
class IndexedLabelsTask:
    """Count the labels the join indexed: a :class:`IndexedLabels`, or why they could not be read."""

    def submit(self, context: CheckContext, executor: Executor) -> Any:
        return executor.submit(_indexed)


def unmatched_finding(
    context: CheckContext, indexed: IndexedLabels | str, labeled_rows: int
) -> list[DataQualityFinding]:
    """The finding about labels no prediction of the window took, if any (or why the labels are missing)."""
    labels, columns = context.spec.data.labels, context.spec.data.columns
    if labels is None or columns.label is None:
        return []
    if isinstance(indexed, str):  # the label checks report it as their error
        return []
    if indexed.absent is not None:
        return [DataQualityFinding("noLabels", columns.label, f"no labels yet: {indexed.absent}")]
    unmatched = max(0, indexed.labels - labeled_rows)
    if not unmatched:
        return []
    meeting = f"{labels.id_column} of {labels.named} against {columns.request_id}"
    why = (
        f"none meets a prediction: do the ids meet ({meeting})?"
        if not labeled_rows
        else f"labels of earlier predictions, or ids never logged ({meeting})"
    )
    return [
        DataQualityFinding(
            "unmatchedLabels",
            columns.label,
            f"{unmatched:,} of {indexed.labels:,} labels known since the window's start match no prediction "
            f"in it: {why}",
            {"labels": indexed.labels, "matched": indexed.labels - unmatched, "unmatched": unmatched},
        )
    ]
