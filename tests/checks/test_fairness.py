"""spec.fairness on a window: a planted bias fails, parity passes, small groups stay Inconclusive, and the rows
left out (no attribute, in neither group) are said."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.results import Results
from modelmonitor.api.verdict import Verdict
from modelmonitor.controller.conditions import FAIRNESS, outcome_conditions
from modelmonitor.output import render_table
from modelmonitor.report.run import render_report
from tests.checks.conftest import check, logged, spec_for

METRICS = [
    {"name": "statisticalParityDifference", "max": 0.1},
    {"name": "disparateImpactRatio", "min": 0.8},
    {"name": "equalOpportunityDifference", "max": 0.1},
]


def _served(rows: int, *, bias: float, seed: int = 3, groups: tuple[str, ...] = ("m", "f")) -> pa.Table:
    """The usual logs with a gender; with ``bias``, a share of the women's favorable predictions (1) turned to 0."""
    table = logged(rows, seed=seed)
    rng = np.random.default_rng(seed + 100)
    gender = rng.choice(list(groups), rows)
    prediction = table["prediction"].to_numpy().copy()
    flipped = (gender == "f") & (prediction == 1) & (rng.random(rows) < bias)
    prediction[flipped] = 0
    table = table.set_column(table.schema.get_field_index("prediction"), "prediction", pa.array(prediction))
    return table.append_column("gender", pa.array(gender))


def _run(folder: Path, served: pa.Table, **fairness: Any) -> Results:
    pq.write_table(served, folder / "current.parquet")
    pq.write_table(logged(500, seed=1), folder / "reference.parquet")
    spec = spec_for(
        folder / "current.parquet",
        folder / "reference.parquet",
        fairness={"protectedAttribute": "gender", "privileged": ["m"], "metrics": METRICS, **fairness},
    )
    spec.pop("drift")
    return check(spec)


def test_a_model_that_favours_men_fails_on_every_metric_and_says_who_is_behind(tmp_path: Path) -> None:
    results = _run(tmp_path, _served(4000, bias=0.4))
    assert [m.verdict for m in results.fairness] == [Verdict.FAILED] * 3
    parity = results.fairness[0]
    assert parity.value is not None and parity.lower is not None and parity.upper is not None
    assert parity.lower < parity.value < parity.upper < -0.1  # the women get the favorable outcome less often
    assert parity.value == pytest.approx(parity.unprivileged_rate - parity.privileged_rate)
    assert "unprivileged behind" in parity.message and "gender not in [m]" in parity.message
    assert results.verdict is Verdict.FAILED  # accuracy still passes: only fairness fails the run
    assert all(metric.status is Verdict.PASSED for metric in results.metrics)
    [condition] = [c for c in outcome_conditions("Succeeded", results) if c.type == FAIRNESS]
    assert (condition.status, condition.reason) == ("True", "BoundsBreached")
    assert "statisticalParityDifference" in condition.message
    assert "FAIRNESS" in render_table(results) and 'id="fairness"' in render_report(results)


def test_a_model_that_treats_both_alike_passes(tmp_path: Path) -> None:
    results = _run(tmp_path, _served(4000, bias=0.0))
    assert [m.verdict for m in results.fairness] == [Verdict.PASSED] * 3
    [condition] = [c for c in outcome_conditions("Succeeded", results) if c.type == FAIRNESS]
    assert (condition.status, condition.reason) == ("False", "WithinBounds")


def test_groups_below_min_rows_are_inconclusive_not_judged(tmp_path: Path) -> None:
    results = _run(tmp_path, _served(300, bias=0.4), minRowsPerGroup=200)
    assert {m.verdict for m in results.fairness} == {Verdict.INCONCLUSIVE}
    assert "minRowsPerGroup" in results.fairness[0].message
    assert results.verdict is Verdict.INCONCLUSIVE and results.healthy


def test_rows_without_the_attribute_or_in_neither_group_are_left_out_and_said(tmp_path: Path) -> None:
    served = _served(3000, bias=0.0, groups=("m", "f", "x"))
    gender = served["gender"].to_pylist()
    gender[:100] = [None] * 100
    served = served.set_column(served.schema.get_field_index("gender"), "gender", pa.array(gender))
    results = _run(tmp_path, served, unprivileged=["f"])
    findings = {finding.kind: finding for finding in results.data_quality}
    assert findings["missingProtectedAttribute"].details == {"rows": 100}
    neither = sum(1 for value in gender if value == "x")
    assert findings["outsideProtectedGroups"].details == {"rows": neither}
    parity = results.fairness[0]
    assert parity.privileged_rows + parity.unprivileged_rows == 3000 - 100 - neither


def test_the_favorable_outcome_may_be_a_label_of_text_and_the_positive_label_is_its_default(tmp_path: Path) -> None:
    served = _served(4000, bias=0.4)
    words = {0: "declined", 1: "approved"}
    for column in ("prediction", "label"):
        text = [words[value] for value in served[column].to_pylist()]
        served = served.set_column(served.schema.get_field_index(column), column, pa.array(text))
    pq.write_table(served, tmp_path / "current.parquet")
    pq.write_table(logged(500, seed=1), tmp_path / "reference.parquet")
    spec = spec_for(
        tmp_path / "current.parquet",
        tmp_path / "reference.parquet",
        metrics=[],
        fairness={"protectedAttribute": "gender", "privileged": ["m"], "metrics": METRICS},
    )
    spec.pop("drift")
    spec["model"]["positiveLabel"] = "approved"
    by_default = check(spec)
    spec["fairness"]["favorableOutcome"] = "approved"
    named = check(spec)
    assert by_default.fairness == named.fairness
    assert by_default.fairness[0].verdict is Verdict.FAILED
    spec["fairness"]["favorableOutcome"] = "aproved"
    misspelt = check(spec)
    assert {m.verdict for m in misspelt.fairness} == {Verdict.ERROR}
    assert "'aproved' is neither a prediction nor a label" in misspelt.fairness[0].message
    assert any(error.check.startswith("fairness") for error in misspelt.errors)


def test_a_missing_protected_column_is_the_metrics_error_not_the_runs(tmp_path: Path) -> None:
    results = _run(tmp_path, _served(1000, bias=0.0), protectedAttribute="sex")
    assert {m.verdict for m in results.fairness} == {Verdict.ERROR}
    assert "sex" in results.fairness[0].message
    assert all(metric.status is Verdict.PASSED for metric in results.metrics)


def test_the_results_read_back_as_they_were_written(tmp_path: Path) -> None:
    results = _run(tmp_path, _served(2000, bias=0.4))
    document = results.to_document()
    assert document["fairness"][0].keys() >= {"name", "value", "lower", "upper", "verdict"}
    assert Results.from_document(document) == results
