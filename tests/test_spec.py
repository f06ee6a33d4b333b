"""The spec model: what it accepts, and errors that name the field and say what to fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelmonitor.api.drift import DriftMethod
from modelmonitor.api.parsing import load_documents, parse_spec
from modelmonitor.errors import SpecError
from tests.helpers import DELETE, with_value

VALID: dict[str, Any] = {
    "model": {"name": "credit-risk", "version": "7", "task": "binaryClassification"},
    "schedule": {"interval": "1h"},
    "data": {
        "current": {"uri": "s3://logs/credit/", "format": "parquet", "window": "24h"},
        "reference": {"uri": "./train.parquet"},
        "columns": {
            "timestamp": "ts",
            "prediction": "prediction",
            "label": "label",
            "score": "score",
            "features": ["age", "income", "amount", "region"],
            "categorical": ["region"],
        },
        "minSamples": 200,
    },
    "metrics": [{"name": "accuracy", "min": 0.9}, {"name": "rocAuc", "min": 0.85}],
    "drift": {
        "method": "auto",
        "threshold": 0.05,
        "datasetDriftShare": 0.5,
        "correction": "none",
        "features": [{"name": "amount", "method": "psi", "threshold": 0.2}],
    },
    "conceptDrift": [{"method": "performanceWindow", "metric": "accuracy", "alpha": 0.05}, {"method": "ddm"}],
}


def test_the_documented_example_is_valid() -> None:
    spec = parse_spec(VALID)
    assert spec.data.min_samples == 200
    assert spec.drift is not None and spec.drift.features[0].method is DriftMethod.PSI


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("schedule", {"interval": "1h", "cron": "0 * * * *"}, "spec.schedule: set exactly one of interval or cron"),
        ("schedule", {}, "spec.schedule: set exactly one of interval or cron"),
        ("schedule", {"cron": "0 * * * *", "spread": True}, "spec.schedule: spread needs an interval"),
        ("schedule", {"interval": "30s"}, "spec.schedule: interval must be at least 1m"),
        ("schedule", {"interval": "soon"}, "spec.schedule.interval: String should match pattern"),
        ("schedule", {"cron": "every hour"}, "spec.schedule: invalid cron expression 'every hour'"),
        # accepted by the CRD before, which only counted five fields (found by the generated specs)
        ("schedule", {"cron": "61 * * * *"}, "spec.schedule: invalid cron expression '61 * * * *': five fields"),
        (
            "metrics.0",
            {"name": "accuracy", "min": 0.9, "max": 0.5},
            "spec.metrics[0]: min (0.9) must not exceed max (0.5)",
        ),
        ("metrics.0", {"name": "precisionAt10"}, "spec.metrics[0].name: Input should be 'accuracy'"),
        ("drift.method", "magic", "spec.drift.method: Input should be 'auto'"),
        ("drift.datasetDriftShare", 1.5, "spec.drift.datasetDriftShare: Input should be less than or equal to 1"),
        ("model.task", "ranking", "spec.model.task: Input should be 'binaryClassification'"),
        ("data.current.format", "xlsx", "spec.data.current.format: Input should be 'parquet', 'csv' or 'jsonl'"),
        ("data.minSamples", 0, "spec.data.minSamples: Input should be greater than or equal to 1"),
        ("data.maxGatheredRows", 10, "spec.data.maxGatheredRows: Input should be greater than or equal to 1000"),
        ("data.columns.score", DELETE, "spec: metrics[1]: rocAuc needs data.columns.score"),
        ("metrics", [{"name": "mae", "max": 3}], "spec: metrics[0]: mae needs a regression task"),
        ("data.columns.label", None, "spec: metrics and conceptDrift need data.columns.label"),
        ("drift.features", [{"name": "a"}, {"name": "a"}], "spec.drift.features: Value error, features named more"),
        ("model.colour", "red", "spec.model.colour: Extra inputs are not permitted"),
        (
            "data.reference",
            DELETE,
            "spec: name the reference data once: data.reference, or model.mlflow.referenceArtifact",
        ),
        ("data.current", {"window": "24h"}, "spec.data.current: set exactly one of kserve, seldon and uri"),
        (
            "data.current",
            {"uri": "a.parquet", "kserve": {"inferenceService": "credit-risk", "logs": "s3://l"}},
            "spec.data.current: set exactly one of kserve, seldon and uri",
        ),
        (
            "data.current",
            {"kserve": {"inferenceService": "credit-risk", "logs": "s3://l"}, "format": "csv"},
            "spec.data.current: kserve logs are parquet: remove format",
        ),
        (
            "data.current",
            {"kserve": {"inferenceService": "Credit_Risk", "logs": "s3://l"}},
            "spec.data.current.kserve.inferenceService: String should match pattern",
        ),
        (
            "data.current",
            {"seldon": {"model": "credit-risk", "bootstrapServers": "kafka:9092"}},
            "spec.data.current: seldon logs are a stream: set window, the span of messages each run reads",
        ),
        (
            "data.current",
            {"seldon": {"model": "credit-risk", "bootstrapServers": "kafka:9092"}, "window": "24h", "format": "csv"},
            "spec.data.current: seldon logs are Kafka messages: remove format",
        ),
        (
            "data.labels",
            {"seldon": {"model": "credit-risk", "bootstrapServers": "kafka:9092"}, "idColumn": "request_id"},
            "spec.data.labels: Seldon's topics hold requests and responses, not outcomes",
        ),
        (
            "dataQuality",
            [{"missing": {"column": "income", "max": 0.05}, "unique": {"column": "id"}}],
            "spec.dataQuality[0]: set exactly one of schema, missing, range, allowedValues, unique and freshness",
        ),
        ("dataQuality", [{"range": {"column": "age"}}], "spec.dataQuality[0].range: a range needs min, max or both"),
        (
            "dataQuality",
            [{"range": {"column": "age", "min": 120, "max": 18}}],
            "spec.dataQuality[0].range: min is above max: no value fits",
        ),
        (
            "dataQuality",
            [{"freshness": {"maxAge": "0s", "column": "ts"}}],
            "spec.dataQuality[0].freshness.maxAge: maxAge must be a positive duration",
        ),
        (
            "dataQuality",
            [{"missing": {"column": "income", "max": 1.5}}],
            "spec.dataQuality[0].missing.max: Input should be less than or equal to 1",
        ),
        (
            "fairness",
            {"protectedAttribute": "gender", "privileged": ["m"], "metrics": [{"name": "disparateImpactRatio"}]},
            "spec.fairness.metrics[0]: a fairness metric needs a bound: max, or for a ratio min or max",
        ),
        (
            "fairness",
            {
                "protectedAttribute": "gender",
                "privileged": ["m"],
                "metrics": [{"name": "statisticalParityDifference", "min": 0.1}],
            },
            "spec.fairness.metrics[0]: statisticalParityDifference: a difference takes max alone",
        ),
        (
            "fairness",
            {
                "protectedAttribute": "gender",
                "privileged": ["m"],
                "metrics": [{"name": "disparateImpactRatio", "min": 1.2, "max": 1}],
            },
            "spec.fairness.metrics[0]: min (1.2) must not exceed max (1.0)",
        ),
        (
            "fairness",
            {
                "protectedAttribute": "gender",
                "privileged": ["m", "x"],
                "unprivileged": ["f", "x"],
                "metrics": [{"name": "statisticalParityDifference", "max": 0.1}],
            },
            "spec.fairness: a value cannot be both privileged and unprivileged: x",
        ),
        (
            "fairness",
            {
                "protectedAttribute": "gender",
                "privileged": ["m", "m"],
                "metrics": [{"name": "disparateImpactRatio", "min": 0.8}],
            },
            "spec.fairness.privileged: each value may appear once",
        ),
        (
            "fairness",
            {
                "protectedAttribute": "gender",
                "privileged": ["m"],
                "metrics": [
                    {"name": "disparateImpactRatio", "min": 0.8},
                    {"name": "disparateImpactRatio", "max": 1.25},
                ],
            },
            "spec.fairness.metrics: each fairness metric may appear once",
        ),
        (
            "fairness",
            {
                "protectedAttribute": "gender",
                "privileged": ["m"],
                "metrics": [{"name": "demographicParity", "max": 0.1}],
            },
            "spec.fairness.metrics[0].name: Input should be",
        ),
        (
            "segments",
            [{"column": "region"}, {"column": "region"}],
            "spec.segments: segments: each column may appear once",
        ),
        (
            "segments",
            [{"column": "device", "values": ["ios", "ios"]}],
            "spec.segments[0].values: each value may appear",
        ),
        ("maxSegments", 1, "spec.maxSegments: Input should be greater than or equal to 2"),
        ("segmentAlpha", 1, "spec.segmentAlpha: Input should be less than 1"),
        ("drift.multivariate", {"methods": []}, "spec.drift.multivariate.methods: List should have at least 1 item"),
        (
            "drift.multivariate",
            {"methods": ["pcaReconstruction", "pcaReconstruction"]},
            "spec.drift.multivariate.methods: each method once",
        ),
        (
            "drift.multivariate",
            {"methods": ["umap"]},
            "spec.drift.multivariate.methods[0]: Input should be 'domainClassifier' or 'pcaReconstruction'",
        ),
        (
            "drift.multivariate",
            {"methods": ["pcaReconstruction"], "varianceExplained": 1},
            "spec.drift.multivariate.varianceExplained: Input should be less than 1",
        ),
        # a traceback (OverflowError) and a window that held no rows, before
        ("data.current.window", "999999999999h", "spec.data.current.window: duration '999999999999h' is longer than"),
        ("data.current.window", "0s", "spec.data.current.window: window '0s' holds no rows"),
        ("schedule", {"interval": "99999999h"}, "spec.schedule.interval: duration '99999999h' is longer than 87600h"),
        # passed the model, which bounded a duration only where it read it (found by the generated specs)
        (
            "actions",
            {"retrain": {"jobTemplate": {"spec": {}}, "cooldown": "87601h"}},
            "spec.actions.retrain.cooldown: duration '87601h' is longer than 87600h",
        ),
        # accepted before: a threshold no value can meet
        ("metrics.0", {"name": "accuracy", "min": 5}, "spec.metrics[0]: accuracy lies in [0, 1]: min 5 is outside it"),
        ("metrics.0", {"name": "accuracy", "max": -0.1}, "spec.metrics[0]: accuracy lies in [0, 1]: max -0.1 is"),
        # accepted and ignored before: the figure did not change
        (
            "metrics.0",
            {"name": "accuracy", "min": 0.5, "average": "macro"},
            "spec.metrics[0]: average is for precision, recall and f1: accuracy takes none",
        ),
        (
            "conceptDrift.1",
            {"method": "ddm", "alpha": 0.01},
            "spec.conceptDrift[1]: alpha is for performanceWindow only: ddm takes none",
        ),
        (
            "conceptDrift.1",
            {"method": "adwin", "metric": "f1", "baseline": "previousWindow"},
            "spec.conceptDrift[1]: metric and baseline are for performanceWindow only: adwin takes none",
        ),
        (
            "model",
            {"name": "m", "task": "regression", "positiveLabel": "yes"},
            "spec.model: positiveLabel is for binaryClassification: a regression task has no positive class",
        ),
        ("dask", {"address": "tcp://dask:8786"}, "spec: spec.dask is for runner dask: set runner: dask, or remove"),
        ("dask", {"address": "dask:8786"}, "spec.dask.address: String should match pattern"),
        ("dask", {"address": "tcp://d:8786", "cluster": "a"}, "spec.dask: set exactly one of address or cluster"),
        ("dask", {}, "spec.dask: set exactly one of address or cluster"),
        ("dask", {"address": "tcp://d:8786", "clusterNamespace": "ml"}, "spec.dask: clusterNamespace is for cluster"),
        ("dask", {"cluster": "Analytics"}, "spec.dask.cluster: String should match pattern"),
    ],
)
def test_invalid_specs_name_the_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(with_value(VALID, path, value))
    assert message.removeprefix("spec.drift.features: Value error, ") in str(caught.value)
    assert str(caught.value).startswith(message.split(":")[0])


def test_load_documents_reports_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: modelmonitor.io/v1alpha1\nkind: ModelMonitor\nmetadata: {name: x}\nspec: [1")
    with pytest.raises(SpecError, match=r"broken.yaml: not valid YAML"):
        load_documents(broken)
    with pytest.raises(SpecError, match=r"missing.yaml: No such file"):
        load_documents(tmp_path / "missing.yaml")
    other = tmp_path / "other.yaml"
    other.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    with pytest.raises(SpecError, match="no ModelMonitor document"):
        load_documents(other)


UNQUOTED_ON = """
actions:
  retrain:
    on: [ConceptDrift, DataDrift]
    jobTemplate: {spec: {template: {spec: {containers: [{name: train, image: trainer:1}]}}}}
"""


@pytest.mark.parametrize("key", [True, "true"], ids=["pyyaml", "kubectl"])
def test_an_unquoted_on_key_read_as_true_by_yaml_1_1_still_means_on(key: Any) -> None:
    """kubectl, Argo CD, Flux and PyYAML turn an unquoted `on:` key into true; it failed "Keys should be strings"."""
    retrain = yaml.safe_load(UNQUOTED_ON)["actions"]["retrain"]
    assert True in retrain  # what YAML 1.1 made of it
    retrain[key] = retrain.pop(True)
    spec = parse_spec({**VALID, "actions": {"retrain": retrain}})
    assert spec.actions is not None and spec.actions.retrain is not None
    assert [str(trigger) for trigger in spec.actions.retrain.on] == ["ConceptDrift", "DataDrift"]


def test_on_given_quoted_and_unquoted_is_refused() -> None:
    retrain = yaml.safe_load(UNQUOTED_ON)["actions"]["retrain"] | {"on": ["DataDrift"]}
    with pytest.raises(SpecError, match="on is given twice"):
        parse_spec({**VALID, "actions": {"retrain": retrain}})


def test_every_cron_expression_the_spec_accepts_is_one_the_scheduler_reads() -> None:
    """The spec's cron grammar (shared with the CRD) admits nothing croniter, which schedules the runs, refuses."""
    import random

    from croniter import croniter

    from modelmonitor.api.schedule import CRON_PATTERN

    tokens = ["*", "0", "7", "59", "60", "23", "24", "31", "32", "12", "13", "jan", "MON", "Jan", "1-5", "5-1"]
    tokens += ["*/5", "*/0", "*/99", "1-5/2", "1,2,3", "1,,2", "L", "?", "00", "-1", "sun-sat"]
    rng = random.Random(0)
    accepted = 0
    for _ in range(20_000):
        expression = " ".join(rng.choice(tokens) for _ in range(5))
        if re.fullmatch(CRON_PATTERN, expression):
            accepted += 1
            assert croniter.is_valid(expression), expression
    assert accepted > 200  # 409 with this seed


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("data.minSamples", "100", "spec.data.minSamples: Input should be a valid integer"),
        ("suspend", "yes", "spec.suspend: Input should be a valid boolean"),
        ("drift.threshold", "0.1", "spec.drift.threshold: Input should be a valid number"),
    ],
)
def test_values_are_taken_as_they_are_written_as_the_api_server_takes_them(path: str, value: Any, message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        parse_spec(with_value(VALID, path, value))


def test_a_whole_float_is_an_integer_and_a_yaml_date_is_text_as_kubectl_sends_them() -> None:
    document = yaml.safe_load("minSamples: 100.0\nname: 2026-01-01\n")
    assert parse_spec(with_value(VALID, "data.minSamples", document["minSamples"])).data.min_samples == 100
    assert parse_spec(with_value(VALID, "model.name", document["name"])).model.name == "2026-01-01"
    with pytest.raises(SpecError, match=r"^spec: a bytes value is not allowed here"):
        parse_spec(with_value(VALID, "model.name", b"credit"))


def test_a_spec_dumped_whole_parses_again() -> None:
    """Dask workers get the spec dumped with every default: a detector's defaults must not read as given."""
    spec = parse_spec(VALID)
    assert parse_spec(spec.model_dump(mode="json", by_alias=True)) == spec
    kept = parse_spec(with_value(VALID, "conceptDrift.1", {"method": "ddm", "alpha": 0.05, "baseline": "reference"}))
    assert kept.concept_drift[1].method == "ddm"  # performanceWindow's settings at their defaults change nothing


FAIR = {
    "protectedAttribute": "gender",
    "privileged": ["m"],
    "metrics": [{"name": "equalOpportunityDifference", "max": 0.1}],
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"model.task": "regression", "metrics": [{"name": "mae", "max": 3}], "conceptDrift": []},
            "fairness needs a classification task",
        ),
        (
            {"model.task": "multiclassClassification", "metrics": [], "data.columns.score": DELETE},
            "fairness on a multiclassClassification task needs fairness.favorableOutcome",
        ),
        (
            {"metrics": [], "conceptDrift": [], "data.columns.label": DELETE},
            "fairness metrics averageOddsDifference, equalOpportunityDifference",
        ),
    ],
)
def test_fairness_needs_a_classification_task_its_favorable_outcome_and_labels(changes, message) -> None:
    document = with_value(VALID, "fairness", FAIR)
    parse_spec(document)
    for path, value in changes.items():
        document = with_value(document, path, value)
    with pytest.raises(SpecError, match=message):
        parse_spec(document)


def test_segments_judge_the_metrics_so_they_need_some() -> None:
    document = with_value(VALID, "segments", [{"column": "region"}])
    parse_spec(document)
    document = with_value(with_value(document, "metrics", []), "conceptDrift", [])
    with pytest.raises(SpecError, match="segments judge the monitor's metrics in each segment: set metrics"):
        parse_spec(document)
