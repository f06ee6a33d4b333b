"""Results read back as types from the documents the API server stores: nulls pruned, optional fields absent.

The defect this guards: a run whose metrics had no value (Error, or Inconclusive while
labels are late) stored a document without ``value``; the metrics export indexed it,
raised KeyError, and the run was never recorded: the previous verdict stayed on show.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.comparison import ComparisonDocument
from modelmonitor.api.documents import DocumentError, from_document, to_document
from modelmonitor.api.metrics import MetricName
from modelmonitor.api.results import MetricResult, Results
from modelmonitor.api.verdict import Verdict
from modelmonitor.controller import metrics
from modelmonitor.controller.records import replacing
from tests.checks.conftest import check, logged, spec_for
from tests.readers import bare, every_reader, stored


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("documents")
    current = logged(600, seed=2)
    current = current.append_column("empty", pa.nulls(current.num_rows, pa.float64()))
    pq.write_table(current, directory / "current.parquet")
    text_scores = current.set_column(
        current.schema.get_field_index("score"), "score", pc.cast(current["score"], pa.string())
    )
    late = pa.array([None] * 300 + current["label"].to_pylist()[300:], pa.int64())  # rows to estimate on
    text_scores = text_scores.set_column(text_scores.schema.get_field_index("label"), "label", late)
    pq.write_table(text_scores, directory / "text-scores.parquet")
    reference = logged(2000, seed=1)
    pq.write_table(
        reference.append_column("empty", pa.array(range(reference.num_rows), pa.float64())),
        directory / "reference.parquet",
    )
    return directory


def _spec(data: Path, **overrides: Any) -> dict[str, Any]:
    spec = spec_for(data / "current.parquet", data / "reference.parquet", **overrides)
    spec["conceptDrift"] = [{"method": "ddm"}]
    return spec


CASES: dict[str, dict[str, Any]] = {
    "every metric Inconclusive (labels still to come)": {"data.minSamples": 100_000},
    "a metric in Error (no label column)": {"data.columns.label": "truth"},
    "a drift check in Error (a feature all null)": {"data.columns.features": ["x", "empty"]},
    "an estimated metric in Error (scores as text)": {"performanceEstimation": {"method": "cbpe"}, "text-scores": True},
    "data-quality rules, one in Error without a value": {
        "dataQuality": [
            {"missing": {"column": "x", "max": 0.1}},
            {"range": {"column": "colour", "min": 0}},
            {"schema": {"allowExtra": True}},
        ]
    },
    "multivariate drift, one method": {"drift": {"method": "auto", "multivariate": {"methods": ["pcaReconstruction"]}}},
    "fairness between colours": {
        "fairness": {
            "protectedAttribute": "colour",
            "privileged": ["red"],
            "metrics": [
                {"name": "statisticalParityDifference", "max": 0.1},
                {"name": "disparateImpactRatio", "min": 0.8},
            ],
        }
    },
    "fairness in Error (no such column)": {
        "fairness": {
            "protectedAttribute": "gender",
            "privileged": ["m"],
            "metrics": [{"name": "equalOpportunityDifference", "max": 0.1}],
        }
    },
    "segments by colour, one too small to judge": {
        "segments": [{"column": "colour", "values": ["red", "green", "purple"]}],
    },
    "healthy": {},
}


def _results(data: Path, case: str) -> Results:
    overrides = dict(CASES[case])
    estimation = overrides.pop("performanceEstimation", None)
    if overrides.pop("text-scores", False):
        overrides["data.current.uri"] = str(data / "text-scores.parquet")
    spec = _spec(data, **overrides)
    if estimation:
        spec["performanceEstimation"] = estimation
    return check(spec)


@pytest.mark.parametrize("sparse", [stored, bare], ids=["nulls pruned", "every optional field absent"])
@pytest.mark.parametrize("case", CASES)
def test_every_reader_accepts_a_stored_document(data: Path, case: str, sparse: Any) -> None:
    results = _results(data, case)
    document = json.loads(json.dumps(results.to_document()))
    read = every_reader(sparse(document))
    verdict = Results.from_document(sparse(document)).verdict  # without its optional checks, bare may judge fewer
    assert read["lastRun"]["verdict"] == verdict.value == read["cli"].verdict.value
    healthy = next(c for c in read["conditions"] if c.type == "Healthy")
    assert (
        healthy.reason
        == {
            Verdict.PASSED: "ChecksPassed",
            Verdict.INCONCLUSIVE: "Inconclusive",
            Verdict.ERROR: "CheckError",
            Verdict.FAILED: "ChecksFailed",
        }[verdict]
    )
    assert f"({verdict.value})" in read["table"].splitlines()[0]
    if sparse is stored:  # the pruned document still says everything the full one did
        assert Results.from_document(sparse(document)).to_document() == document


def test_the_verdicts_of_the_cases(data: Path) -> None:
    """Each case is what its name says, so that the readers above met what they are meant to meet."""
    inconclusive = _results(data, "every metric Inconclusive (labels still to come)")
    assert {m.status for m in inconclusive.metrics} == {Verdict.INCONCLUSIVE} and all(
        m.value is None for m in inconclusive.metrics
    )
    errored = _results(data, "a metric in Error (no label column)")
    assert {m.status for m in errored.metrics} == {Verdict.ERROR}
    drift = _results(data, "a drift check in Error (a feature all null)").drift
    assert drift is not None and {f.feature: f.status for f in drift.features}["empty"] is Verdict.ERROR
    estimated = _results(data, "an estimated metric in Error (scores as text)")
    assert estimated.performance_estimation is not None and estimated.performance_estimation.status is Verdict.ERROR
    rules = _results(data, "data-quality rules, one in Error without a value").quality_rules
    assert [(r.rule, r.status) for r in rules] == [
        ("missing", Verdict.PASSED),
        ("range", Verdict.ERROR),
        ("schema", Verdict.PASSED),
    ]
    assert rules[1].value is None


def test_data_quality_rules_are_exported_as_series_and_an_unjudged_one_as_a_gap(data: Path) -> None:
    results = _results(data, "data-quality rules, one in Error without a value")
    metrics.export_results("ns", "rules", "model", Results.from_document(stored(results.to_document())))
    labels = {"namespace": "ns", "monitor": "rules", "model": "model"}
    broken = metrics.REGISTRY.get_sample_value
    assert broken("modelmonitor_data_quality_rule_broken", {**labels, "rule": "missing", "column": "x"}) == 0
    assert broken("modelmonitor_data_quality_rule_value", {**labels, "rule": "missing", "column": "x"}) == 0
    assert broken("modelmonitor_data_quality_rule_broken", {**labels, "rule": "range", "column": "colour"}) is None
    metrics.forget_monitor("ns", "rules")
    assert broken("modelmonitor_data_quality_rule_broken", {**labels, "rule": "missing", "column": "x"}) is None


def test_fairness_is_exported_as_series_and_a_metric_in_error_as_a_gap(data: Path) -> None:
    labels = {"namespace": "ns", "monitor": "fair", "model": "model"}
    sample = metrics.REGISTRY.get_sample_value
    judged = _results(data, "fairness between colours")
    metrics.export_results("ns", "fair", "model", Results.from_document(stored(judged.to_document())))
    parity = judged.fairness[0]
    named = {**labels, "metric": "statisticalParityDifference"}
    assert sample("modelmonitor_fairness", {**named, "bound": "value"}) == parity.value
    assert sample("modelmonitor_fairness", {**named, "bound": "upper"}) == parity.upper
    assert sample("modelmonitor_fairness_violated", named) == (parity.verdict is Verdict.FAILED)
    errored = _results(data, "fairness in Error (no such column)")
    assert {m.verdict for m in errored.fairness} == {Verdict.ERROR}
    metrics.export_results("ns", "fair", "model", Results.from_document(stored(errored.to_document())))
    named = {**labels, "metric": "equalOpportunityDifference"}
    assert sample("modelmonitor_fairness", {**named, "bound": "value"}) is None
    assert sample("modelmonitor_fairness_violated", named) is None
    metrics.forget_monitor("ns", "fair")


@pytest.mark.parametrize(
    "case", ["every metric Inconclusive (labels still to come)", "a metric in Error (no label column)"]
)
def test_a_metric_without_a_value_is_exported_as_a_gap_not_a_crash(data: Path, case: str) -> None:
    """The defect: KeyError on metric["value"] when the stored document had none."""
    results = _results(data, case)
    document = stored(json.loads(json.dumps(results.to_document())))
    assert all("value" not in metric for metric in document["metrics"])
    metrics.export_results("ns", "waiting", "model", Results.from_document(document))
    labels = {"namespace": "ns", "monitor": "waiting", "model": "model", "metric": "accuracy"}
    assert metrics.REGISTRY.get_sample_value("modelmonitor_metric_value", labels) is None
    drift = [s for m in metrics.REGISTRY.collect() if m.name == "modelmonitor_feature_drift" for s in m.samples]
    exported = {s.labels["feature"] for s in drift if s.labels["monitor"] == "waiting"}
    assert results.drift is not None
    assert exported == {f.feature for f in results.drift.features if f.statistic is not None}
    metrics.forget_monitor("ns", "waiting")


def test_a_metric_that_lost_its_value_is_cleared_from_last_run_not_left_showing_the_old_one() -> None:
    """A merge patch merges lastRun key by key: a summary without accuracy kept the old accuracy."""
    before = {"name": "r1", "metrics": {"accuracy": 0.91, "f1": 0.8}, "driftedShare": 0.2, "verdict": "Passed"}
    after = {"name": "r2", "metrics": {"f1": 0.7}, "driftedShare": None, "verdict": "Inconclusive", "windowStart": None}
    patch = replacing(before, after)
    assert patch == {
        "name": "r2",
        "metrics": {"accuracy": None, "f1": 0.7},
        "driftedShare": None,
        "verdict": "Inconclusive",
    }
    assert "windowStart" not in patch  # no value now, none before: left out, never written as null
    assert replacing(None, after) == {"name": "r2", "metrics": {"f1": 0.7}, "verdict": "Inconclusive"}


def test_absent_fields_read_as_zero_values() -> None:
    metric = from_document(MetricResult, {"name": "accuracy", "status": "Inconclusive"})
    assert metric.value is None and metric.min is None and metric.samples == 0 and metric.reason == ""
    sparse = Results.from_document({"window": {}, "metrics": [], "conceptDrift": [], "dataQuality": [], "errors": []})
    assert sparse.window.rows == 0 and sparse.drift is None and sparse.verdict is Verdict.PASSED
    drift = from_document(Results, {"drift": {"features": [], "status": "Inconclusive"}}).drift
    assert drift is not None and math.isnan(drift.drifted_share)  # NaN was written as null, and read back as NaN


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"metrics": [{"name": "accuracy", "status": "Great"}]}, r"metrics\[0\]\.status: 'Great' is not one of Passed"),
        (
            {"metrics": [{"name": "accuracy", "status": "Passed", "value": "0.9"}]},
            r"metrics\[0\]\.value: expected float",
        ),
        ({"metrics": [{"name": "accuracy"}]}, r"metrics\[0\]\.status: is missing"),
        ({"window": []}, r"window: expected an object"),
        ({"metrics": {"accuracy": 1}}, r"metrics: expected a list"),
    ],
)
def test_a_document_of_the_wrong_shape_is_refused_with_the_path(document: dict[str, Any], where: str) -> None:
    with pytest.raises(DocumentError, match=where):
        Results.from_document(document)


def test_written_and_read_back_alike_with_nan_as_null(data: Path) -> None:
    results = _results(data, "a drift check in Error (a feature all null)")
    document = json.loads(json.dumps(results.to_document()))
    assert to_document(Results.from_document(document)) == to_document(results)


def test_a_rollout_comparison_without_values_is_read_and_exported() -> None:
    """comparison[arm]["value"] raised when a stored comparison had no value for an arm."""
    document = {
        "primary": {"metric": "accuracy", "baseline": {"labeledRows": 3}, "candidate": {}, "interval": [None, None]},
        "guardrails": [
            {"metric": "rocAuc", "baseline": {"value": 0.8}, "candidate": {"value": 0.7}, "difference": -0.1}
        ],
    }
    compared = ComparisonDocument.from_document(document)
    assert math.isnan(compared.primary.difference) and compared.primary.baseline.rows == 3
    assert math.isnan(compared.guardrails[0].interval.low)
    metrics.export_rollout("ns", "r", phase="Progressing", weights={"baseline": 90, "candidate": 10}, analysis=compared)
    sample = metrics.REGISTRY.get_sample_value
    labels = {"namespace": "ns", "rollout": "r", "metric": "rocAuc"}
    assert sample("modelmonitor_rollout_difference", {**labels, "bound": "value"}) == pytest.approx(-0.1)
    assert sample("modelmonitor_rollout_difference", {**labels, "bound": "low"}) is None
    assert sample("modelmonitor_rollout_metric_value", {**labels, "arm": "candidate"}) == pytest.approx(0.7)
    metrics.forget_rollout("ns", "r")
    with pytest.raises(DocumentError, match=r"primary\.interval: expected \[low, high\]"):
        ComparisonDocument.from_document({"primary": {"metric": "accuracy", "interval": [1]}})


def test_an_estimated_comparison_is_read_back_and_exported() -> None:
    estimated = {
        "metric": "accuracy",
        "estimated": True,
        "baseline": {"value": 0.84, "rows": 900},
        "candidate": {"value": 0.77, "rows": 900},
        "difference": -0.07,
        "interval": [-0.09, -0.05],
    }
    document = {"primary": {"metric": "accuracy"}, "estimated": {"primary": estimated}}
    compared = ComparisonDocument.from_document(document)
    assert compared.estimated is not None and compared.estimated.estimated
    assert compared.estimated.candidate.rows == 900 and compared.estimated.to_document()["candidate"]["rows"] == 900
    metrics.export_rollout("ns", "e", phase="Progressing", weights={"baseline": 100, "candidate": 0}, analysis=compared)
    labels = {"namespace": "ns", "rollout": "e", "metric": "accuracy"}
    sample = metrics.REGISTRY.get_sample_value
    assert sample("modelmonitor_rollout_estimated_difference", {**labels, "bound": "high"}) == pytest.approx(-0.05)
    metrics.forget_rollout("ns", "e")
    assert sample("modelmonitor_rollout_estimated_difference", {**labels, "bound": "high"}) is None
    refused = ComparisonDocument.from_document({"primary": {"metric": "accuracy"}, "estimated": {"refused": "no"}})
    assert refused.estimated is None


def test_a_comparison_is_written_and_read_back_as_the_same_type(tmp_path: Path) -> None:
    """The engine builds the api's Comparison; its stored document (nulls pruned) reads back as an equal one."""
    from tests.checks.test_compare import accuracy_since_start, write_logs

    write_logs(tmp_path / "logs.parquet", rows=4000, candidate_share=0.25, accuracy={"7": 0.75, "8": 0.85})
    compared = accuracy_since_start(tmp_path / "logs.parquet", guardrails=[MetricName.LOG_LOSS])
    document = json.loads(json.dumps(compared.to_document()))
    read = ComparisonDocument.from_document(stored(document))
    assert read.primary == compared.primary and read.guardrails == list(compared.guardrails)
    assert read.primary.to_document() == document["primary"]
    assert read.guardrails[0].improvement == compared.guardrails[0].improvement  # lower is better: turned round
