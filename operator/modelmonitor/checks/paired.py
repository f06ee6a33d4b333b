"""A shadow step's pairs: each candidate row matched with the baseline's row of the same request.

The monitor's ``data.columns.requestId`` names the request; without it there are no pairs,
and a shadow step's rows are compared as two arms. A request logged twice by one
version counts once (its first row). The pairs feed the paired comparison
(``engine.paired``): the primary metric and the guardrails that are means over rows, on the
labelled pairs; the agreement and the movement of predictions and scores, on every pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelmonitor.api.comparison import ARMS
from modelmonitor.api.monitor import ModelMonitorSpec, Task
from modelmonitor.checks.labels import ClassCoder, all_present, class_text, numeric_column
from modelmonitor.engine.paired import PairedSigns, paired_signs

_ROW = "__modelmonitor_row"


@dataclass(frozen=True)
class Pairs:
    """The two arms' rows of the requests both answered: row i of each is the same request."""

    baseline: pa.Table
    candidate: pa.Table

    @property
    def count(self) -> int:
        return self.baseline.num_rows

    @property
    def arms(self) -> tuple[pa.Table, pa.Table]:
        return self.baseline, self.candidate


NO_REQUEST_ID = (
    "the monitor has no data.columns.requestId to pair the versions' answers to the same requests by: the shadow "
    "step's rows are compared as two arms (valid, and wider)"
)


def pair_rows(tables: Mapping[str, pa.Table], request: str) -> Pairs:
    """The requests both arms logged (a request without an id is in no pair), in the baseline's order."""
    firsts = {}
    for arm in ARMS:
        table = tables[arm].filter(pc.is_valid(tables[arm][request]))
        numbered = table.append_column(_ROW, pa.array(np.arange(table.num_rows, dtype=np.int64)))
        first = numbered.group_by(request).aggregate([(_ROW, "min")])
        firsts[arm] = (table, first.rename_columns([request, arm]))
    joined = firsts["baseline"][1].join(firsts["candidate"][1], request, join_type="inner").sort_by("baseline")
    return Pairs(
        firsts["baseline"][0].take(joined["baseline"]),
        firsts["candidate"][0].take(joined["candidate"]),
    )


def signs_of_pairs(
    spec: ModelMonitorSpec,
    answered: Mapping[str, pa.Table],
    coder: ClassCoder | None,
    *,
    alpha: float,
    n_star: int,
) -> PairedSigns | None:
    """The agreement, and how predictions and scores move, over every pair, labelled or not (None: no pair);
    ``answered``: every row each arm served, with its request id, prediction and score."""
    columns = spec.data.columns
    if spec.model.task is Task.REGRESSION or coder is None:
        return None  # a regression's answers are numbers: no class to agree on
    request = columns.request_id
    assert request is not None
    scored = [columns.score] if columns.score else []
    tables = {arm: answered[arm].filter(all_present(answered[arm], [columns.prediction, *scored])) for arm in ARMS}
    pairs = pair_rows(tables, request)
    if not pairs.count:
        return None
    classes = [class_text(table[columns.prediction]).to_numpy(zero_copy_only=False) for table in pairs.arms]
    scores = [numeric_column(table, columns.score) for table in pairs.arms] if columns.score else [None, None]
    return paired_signs(
        classes[0],
        classes[1],
        baseline_scores=scores[0],
        candidate_scores=scores[1],
        positive=coder.classes[coder.positive] if spec.model.task is Task.BINARY else None,
        alpha=alpha,
        n_star=n_star,
    )
