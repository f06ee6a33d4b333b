"""The API server itself refuses bad ModelMonitors, with a message that says what to fix."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from modelmonitor.api.parsing import parse_spec
from modelmonitor.errors import SpecError
from tests.controller.conftest import GROUP, VERSION
from tests.helpers import DELETE, with_value

pytestmark = pytest.mark.cluster

JOB = {"spec": {"template": {"spec": {"containers": [{"name": "train", "image": "trainer:1"}]}}}}
VALID: dict[str, Any] = {
    "apiVersion": f"{GROUP}/{VERSION}",
    "kind": "ModelMonitor",
    "metadata": {"name": "valid"},
    "spec": {
        "model": {"name": "credit-risk", "task": "binaryClassification"},
        "schedule": {"interval": "1h"},
        "data": {
            "current": {"uri": "s3://logs/credit/", "window": "24h"},
            "reference": {"uri": "s3://logs/train.parquet"},
            "columns": {"timestamp": "ts", "label": "label", "score": "score"},
        },
        "metrics": [{"name": "accuracy", "min": 0.9}, {"name": "rocAuc", "min": 0.8}],
        "drift": {"method": "auto", "features": [{"name": "amount", "method": "psi"}]},
        "conceptDrift": [{"method": "ddm"}],
    },
}


CASES = [
    ("spec.schedule", {"interval": "1h", "cron": "0 * * * *"}, "set exactly one of interval or cron"),
    ("spec.schedule", {}, "set exactly one of interval or cron"),
    ("spec.schedule", {"interval": "30s"}, "spec.schedule.interval: Invalid value: interval must be at least 1m"),
    (
        "spec.schedule",
        {"cron": "0 * * * *", "spread": True},
        "spec.schedule.spread: Invalid value: spread needs an interval",
    ),
    (
        "spec.schedule",
        {"interval": "soon"},
        'spec.schedule.interval: Invalid value: "soon": spec.schedule.interval in body should match',
    ),
    ("spec.schedule", {"cron": "every hour"}, "cron must be five fields separated by one space: minute (0-59)"),
    ("spec.schedule", {"cron": "61 * * * *"}, "spec.schedule.cron: Invalid value: cron must be five fields"),
    ("spec.metrics.0", {"name": "accuracy", "min": 0.9, "max": 0.5}, "min must not exceed max"),
    ("spec.metrics.0", {"name": "precisionAt10"}, 'spec.metrics[0].name: Unsupported value: "precisionAt10"'),
    ("spec.metrics.0", {"name": "accuracy", "min": 5}, "balancedAccuracy lie in [0, 1]: min and max must too"),
    ("spec.metrics.0", {"name": "rocAuc", "max": -1}, "lie in [0, 1]: min and max must too"),
    (
        "spec.metrics.0",
        {"name": "accuracy", "min": 0.5, "average": "macro"},
        "spec.metrics[0].average: Invalid value: average is for precision, recall and f1",
    ),
    (
        "spec.conceptDrift",
        [{"method": "pageHinkley", "alpha": 0.01}],
        "spec.conceptDrift[0]: Invalid value: metric, alpha and baseline are for performanceWindow only",
    ),
    (
        "spec.model",
        {"name": "m", "task": "multiclassClassification", "positiveLabel": "yes"},
        "spec.model.positiveLabel: Invalid value: positiveLabel is for binaryClassification",
    ),
    ("spec.drift.method", "magic", 'spec.drift.method: Unsupported value: "magic"'),
    (
        "spec.drift.datasetDriftShare",
        1.5,
        "spec.drift.datasetDriftShare: Invalid value: 1.5: "
        "spec.drift.datasetDriftShare in body should be less than or equal to 1",
    ),
    ("spec.model.task", "ranking", 'spec.model.task: Unsupported value: "ranking"'),
    ("spec.data.current.format", "xlsx", 'spec.data.current.format: Unsupported value: "xlsx"'),
    ("spec.data.minSamples", 0, "spec.data.minSamples in body should be greater than or equal to 1"),
    ("spec.data.maxGatheredRows", 10, "spec.data.maxGatheredRows in body should be greater than or equal to 1000"),
    ("spec.dask", {"address": "tcp://dask:8786"}, "spec.dask is for runner dask: set runner: dask, or remove dask"),
    ("spec.dask", {"address": "dask:8786"}, "spec.dask.address in body should match"),
    ("spec.dask", {"address": "tcp://d:8786", "cluster": "a"}, "spec.dask: Invalid value: set exactly one of address"),
    ("spec.dask", {}, "spec.dask: Invalid value: set exactly one of address or cluster"),
    (
        "spec.dask",
        {"address": "tcp://d:8786", "clusterNamespace": "ml"},
        "spec.dask.clusterNamespace: Invalid value: clusterNamespace is for cluster",
    ),
    ("spec.dask", {"cluster": "Analytics"}, "spec.dask.cluster in body should match"),
    ("spec.data.columns.score", DELETE, "rocAuc and logLoss need data.columns.score"),
    ("spec.metrics", [{"name": "mae", "max": 3}], "need task regression"),
    ("spec.data.columns.label", DELETE, "metrics and conceptDrift need data.columns.label"),
    ("spec.data.columns.timestamp", DELETE, "data.current.window and conceptDrift need data.columns.timestamp"),
    ("spec.drift.features", [{"name": "a"}, {"name": "a"}], 'spec.drift.features[1]: Duplicate value: {"name":"a"}'),
    ("spec.runner", "cloud", 'spec.runner: Unsupported value: "cloud"'),
    ("spec.data", DELETE, "spec.data: Required value"),
    ("metadata.name", "m" * 49, "metadata.name must be at most 48 characters"),
    (
        "spec.successfulRunsHistoryLimit",
        -1,
        "spec.successfulRunsHistoryLimit in body should be greater than or equal to 0",
    ),
    ("spec.actions", {"retrain": {}}, "spec.actions.retrain: Invalid value: set exactly one of jobTemplate"),
    ("spec.data.current.window", "0s", "spec.data.current.window: Invalid value: window must be a positive duration"),
    (
        "spec.data.current",
        {"window": "24h"},
        "spec.data.current: Invalid value: set exactly one of kserve, seldon and uri",
    ),
    (
        "spec.data.current",
        {"uri": "a.parquet", "kserve": {"inferenceService": "credit-risk", "logs": "s3://l"}},
        "spec.data.current: Invalid value: set exactly one of kserve, seldon and uri",
    ),
    (
        "spec.data.current",
        {"kserve": {"inferenceService": "credit-risk", "logs": "s3://l"}, "format": "csv"},
        "spec.data.current.format: Invalid value: kserve logs are parquet: remove format",
    ),
    (
        "spec.data.current",
        {"kserve": {"inferenceService": "Credit_Risk", "logs": "s3://l"}},
        "spec.data.current.kserve.inferenceService in body should match",
    ),
    (
        "spec.data.current",
        {"seldon": {"model": "credit-risk", "bootstrapServers": "kafka:9092"}},
        "spec.data.current.window: Invalid value: seldon logs are a stream: set window",
    ),
    (
        "spec.data.current",
        {"seldon": {"model": "credit-risk", "bootstrapServers": "kafka:9092"}, "window": "24h", "format": "csv"},
        "spec.data.current.format: Invalid value: seldon logs are Kafka messages: remove format",
    ),
    (
        "spec.data.labels",
        {"seldon": {"model": "credit-risk", "bootstrapServers": "kafka:9092"}, "idColumn": "request_id"},
        "spec.data.labels.seldon: Invalid value: Seldon's topics hold requests and responses, not outcomes",
    ),
    (
        "spec.dataQuality",
        [{"missing": {"column": "income", "max": 0.05}, "unique": {"column": "id"}}],
        "spec.dataQuality[0]: Invalid value: set exactly one of schema, missing, range, allowedValues, unique and "
        "freshness",
    ),
    (
        "spec.dataQuality",
        [{"range": {"column": "age"}}],
        "spec.dataQuality[0].range: Invalid value: a range needs min, max or both",
    ),
    (
        "spec.dataQuality",
        [{"range": {"column": "age", "min": 120, "max": 18}}],
        "spec.dataQuality[0].range: Invalid value: min is above max: no value fits",
    ),
    (
        "spec.dataQuality",
        [{"freshness": {"maxAge": "0s", "column": "ts"}}],
        'spec.dataQuality[0].freshness.maxAge: Invalid value: "0s": maxAge must be a positive duration',
    ),
    (
        "spec.dataQuality",
        [{"missing": {"column": "income", "max": 1.5}}],
        "spec.dataQuality[0].missing.max in body should be less than or equal to 1",
    ),
    (
        "spec.drift.multivariate",
        {"methods": []},
        "spec.drift.multivariate.methods in body should have at least 1 items",
    ),
    ("spec.drift.multivariate", {"methods": ["umap"]}, 'spec.drift.multivariate.methods[0]: Unsupported value: "umap"'),
    (
        "spec.drift.multivariate",
        {"methods": ["pcaReconstruction", "pcaReconstruction"]},
        'spec.drift.multivariate.methods[1]: Duplicate value: "pcaReconstruction"',
    ),
    (
        "spec.drift.multivariate",
        {"methods": ["pcaReconstruction"], "varianceExplained": 1},
        "spec.drift.multivariate.varianceExplained in body should be less than 1",
    ),
    (
        "spec.fairness",
        {"protectedAttribute": "gender", "privileged": ["m"], "metrics": [{"name": "disparateImpactRatio"}]},
        "spec.fairness.metrics[0]: Invalid value: a fairness metric needs a bound",
    ),
    (
        "spec.fairness",
        {
            "protectedAttribute": "gender",
            "privileged": ["m"],
            "metrics": [{"name": "equalOpportunityDifference", "max": 2}],
        },
        "spec.fairness.metrics[0]: Invalid value: a difference takes max alone",
    ),
    (
        "spec.fairness",
        {
            "protectedAttribute": "gender",
            "privileged": ["m"],
            "metrics": [{"name": "disparateImpactRatio", "min": 1, "max": 0.9}],
        },
        "spec.fairness.metrics[0]: Invalid value: min must not exceed max",
    ),
    (
        "spec.fairness",
        {
            "protectedAttribute": "gender",
            "privileged": ["m"],
            "unprivileged": ["m"],
            "metrics": [{"name": "disparateImpactRatio", "min": 0.8}],
        },
        "spec.fairness.unprivileged: Invalid value: a value cannot be both privileged and unprivileged",
    ),
    (
        "spec.fairness",
        {
            "protectedAttribute": "gender",
            "privileged": ["m", "m"],
            "metrics": [{"name": "disparateImpactRatio", "min": 0.8}],
        },
        'spec.fairness.privileged[1]: Duplicate value: "m"',
    ),
    (
        "spec.fairness",
        {"protectedAttribute": "gender", "privileged": ["m"], "metrics": [{"name": "fair", "max": 0.1}]},
        'spec.fairness.metrics[0].name: Unsupported value: "fair"',
    ),
    (
        "spec.segments",
        [{"column": "region"}, {"column": "region"}],
        'spec.segments[1]: Duplicate value: {"column":"region"}',
    ),
    (
        "spec.segments",
        [{"column": "device", "values": ["ios", "ios"]}],
        'spec.segments[0].values[1]: Duplicate value: "ios"',
    ),
    ("spec.maxSegments", 1, "spec.maxSegments in body should be greater than or equal to 2"),
    ("spec.segmentAlpha", 1, "spec.segmentAlpha in body should be less than 1"),
    # past CEL's duration range: the API server still names the rule's message
    ("spec.data.current.window", "999999999999h", "evaluating rule: must be a duration of at most 87600h"),
    (
        "spec.data.current.window",
        "87601h",
        'spec.data.current.window: Invalid value: "87601h": must be a duration of at most 87600h',
    ),
    (
        "spec.schedule",
        {"interval": "87601h"},
        'spec.schedule.interval: Invalid value: "87601h": must be a duration of at most 87600h',
    ),
    (
        "spec.performanceEstimation",
        {"method": "cbpe", "confidence": 1.5},
        "spec.performanceEstimation.confidence in body should be less than or equal to 0.999",
    ),
    (
        "spec.performanceEstimation",
        {"method": "guess"},
        'spec.performanceEstimation.method: Unsupported value: "guess"',
    ),
    (
        "spec.actions",
        {"retrain": {"on": ["DataDrift"], "true": ["ConceptDrift"], "jobTemplate": JOB}},
        "spec.actions.retrain: Invalid value: on is given twice: once quoted and once unquoted",
    ),
    (
        "spec.actions",
        {"retrain": {"jobTemplate": JOB, "resourceTemplate": {"apiVersion": "v1", "kind": "Pod"}}},
        "set exactly one of jobTemplate or resourceTemplate",
    ),
    ("spec.actions", {"retrain": {"jobTemplate": JOB, "after": 0}}, "spec.actions.retrain.after in body should be"),
    (
        "spec.actions",
        {"retrain": {"jobTemplate": JOB, "cooldown": "a day"}},
        'spec.actions.retrain.cooldown: Invalid value: "a day"',
    ),
    (
        "spec.actions",
        {"retrain": {"jobTemplate": JOB, "on": ["Boredom"]}},
        'spec.actions.retrain.on[0]: Unsupported value: "Boredom"',
    ),
    (
        "spec.actions",
        {"retrain": {"jobTemplate": {"spec": {}}}},
        "spec.actions.retrain.jobTemplate.spec.template: Required value",
    ),
    (
        "spec.actions",
        {"retrain": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}},
        "spec.actions.retrain.jobTemplate.spec.template.spec.containers: Invalid value: 0",
    ),
    (
        "spec.actions",
        {"retrain": {"resourceTemplate": {"apiVersion": "argoproj.io/v1alpha1", "spec": {}}}},
        "spec.actions.retrain.resourceTemplate.kind: Required value",
    ),
    (
        "spec.actions",
        {"retrain": {"jobTemplate": JOB, "schedule": {"interval": "30s"}}},
        "spec.actions.retrain.schedule.interval: Invalid value: interval must be at least 1m",
    ),
    (
        "spec.model.mlflow",
        {"trackingUri": "http://mlflow:5000", "name": "credit-risk"},
        "spec.model.mlflow: Invalid value: name an alias or a version: one of them",
    ),
    (
        "spec.model.mlflow",
        {"trackingUri": "http://mlflow:5000", "name": "credit-risk", "alias": "champion", "version": "3"},
        "name an alias or a version: one of them",
    ),
    (
        "spec.model.mlflow",
        {"trackingUri": "file:///mlruns", "name": "credit-risk", "alias": "champion"},
        'spec.model.mlflow.trackingUri: Invalid value: "file:///mlruns"',
    ),
    (
        "spec.model",
        {
            "name": "credit-risk",
            "task": "binaryClassification",
            "version": "4",
            "mlflow": {"trackingUri": "http://m", "name": "m", "version": "3"},
        },
        "spec.model.version: Invalid value: with mlflow, the registry gives the version",
    ),
    (
        "spec.model.mlflow",  # a second reference beside data.reference
        {"trackingUri": "http://m", "name": "credit-risk", "alias": "champion", "referenceArtifact": "data/r.parquet"},
        "spec.data: Invalid value: name the reference data once",
    ),
    ("spec.data.reference", DELETE, "name the reference data once: data.reference, or model.mlflow.referenceArtifact"),
]


@pytest.mark.parametrize(("path", "value", "message"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_the_api_server_refuses_a_bad_spec(api_client, installed_crds, namespace, path, value, message) -> None:
    custom = client.CustomObjectsApi(api_client)
    document = with_value(VALID, path, value)
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)
    assert caught.value.status == 422, caught.value.body
    assert message in json.loads(caught.value.body)["message"]


def test_the_valid_document_is_accepted_and_unknown_fields_are_refused(api_client, installed_crds, namespace) -> None:
    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", VALID)
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            "modelmonitors",
            with_value(with_value(VALID, "metadata.name", "other"), "spec.colour", "red"),
            field_validation="Strict",
        )
    assert 'unknown field "spec.colour"' in json.loads(caught.value.body)["message"]
    named_job = {**JOB, "metadata": {"name": "fixed"}}  # a new dict: JOB is shared by the generated specs' tests
    named = with_value(
        with_value(VALID, "metadata.name", "named"), "spec.actions", {"retrain": {"jobTemplate": named_job}}
    )
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, "modelmonitors", named, field_validation="Strict"
        )
    assert 'unknown field "spec.actions.retrain.jobTemplate.metadata.name"' in json.loads(caught.value.body)["message"]


def test_a_monitor_run_spec_is_immutable(api_client, installed_crds, namespace) -> None:
    custom = client.CustomObjectsApi(api_client)
    run = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "MonitorRun",
        "metadata": {"name": "r"},
        "spec": {"monitor": "m", "trigger": "runNow", "evaluateAt": "2026-11-23T12:00:00Z", "runner": "inline"},
    }
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "monitorruns", run)
    with pytest.raises(ApiException) as caught:
        custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "monitorruns", "r", {"spec": {"monitor": "x"}})
    assert "a MonitorRun's spec is immutable" in json.loads(caught.value.body)["message"]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("spec.model.task", "regression", "performanceEstimation needs a classification task"),
        (
            "spec.model.task",
            "multiclassClassification",
            "performanceEstimation on a multiclassClassification task needs data.columns.classScores",
        ),
        ("spec.data.columns", {"timestamp": "ts", "label": "label"}, "needs data.columns.score and data.columns.label"),
    ],
)
def test_performance_estimation_needs_a_classification_task_with_scores_and_labels(
    api_client, installed_crds, namespace, path, value, message
) -> None:
    custom = client.CustomObjectsApi(api_client)
    estimating = with_value(VALID, "spec.performanceEstimation", {"method": "cbpe"})
    estimating = with_value(estimating, "spec.metrics", [{"name": "accuracy", "min": 0.9}])
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", estimating)
    broken = with_value(with_value(estimating, "metadata.name", "broken"), path, value)
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", broken)
    assert message in json.loads(caught.value.body)["message"]


MULTICLASS = with_value(
    with_value(
        with_value(VALID, "spec.model.task", "multiclassClassification"),
        "spec.data.columns",
        {
            "timestamp": "ts",
            "label": "label",
            "classScores": [{"label": "cat", "column": "p_cat"}, {"label": "dog", "column": "p_dog"}],
        },
    ),
    "spec.metrics",
    [{"name": "accuracy", "min": 0.9}, {"name": "f1", "min": 0.8, "average": "weighted"}],
)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("spec.model.task", "binaryClassification", "data.columns.classScores needs a multiclassClassification task"),
        (
            "spec.data.columns.classScores",
            [{"label": "cat", "column": "p_cat"}, {"label": "cat", "column": "p_dog"}],
            'spec.data.columns.classScores[1]: Duplicate value: {"label":"cat"}',
        ),
        (
            "spec.data.columns.classScores",
            [{"label": "cat", "column": "p"}, {"label": "dog", "column": "p"}],
            "each class has one score column: a column appears twice",
        ),
        ("spec.data.columns.classScores", [{"label": "cat", "column": "p"}], "should have at least 2 items"),
    ],
)
def test_class_scores_are_taken_for_a_multiclass_task_one_column_per_class(
    api_client, installed_crds, namespace, path, value, message
) -> None:
    """The same refusals as the pydantic model's (tests/checks/test_estimation.py), from the API server."""
    custom = client.CustomObjectsApi(api_client)
    estimating = with_value(
        with_value(MULTICLASS, "spec.performanceEstimation", {"method": "cbpe"}), "metadata.name", "mc"
    )
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", estimating)
    broken = with_value(with_value(estimating, "metadata.name", "broken"), path, value)
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", broken)
    assert message in json.loads(caught.value.body)["message"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {
                "spec.data.current.window": DELETE,
                "spec.conceptDrift": [{"method": "performanceWindow", "baseline": "previousWindow"}],
            },
            "baseline previousWindow needs data.current.window",
        ),
        (
            {"spec.model.task": "multiclassClassification", "spec.metrics": [{"name": "f1", "average": "binary"}]},
            "average binary needs a binary task",
        ),
        # the schema's own minimum let a whole 0 past 0.5 (it compares whole values with a whole bound)
        ({"spec.performanceEstimation": {"method": "cbpe", "confidence": 0}}, "0.5"),
    ],
)
def test_rules_once_left_to_the_operator_are_the_api_servers_too(
    api_client, installed_crds, namespace, changes, message
) -> None:
    """Both were admitted by the API server and refused by the operator alone: the model and the CRD must agree."""
    document = VALID
    for path, value in changes.items():
        document = with_value(document, path, value)
    with pytest.raises(SpecError, match=message):
        parse_spec(document["spec"])
    with pytest.raises(ApiException) as caught:
        client.CustomObjectsApi(api_client).create_namespaced_custom_object(
            GROUP, VERSION, namespace, "modelmonitors", document
        )
    assert caught.value.status == 422 and message in json.loads(caught.value.body)["message"], caught.value.body


@pytest.mark.parametrize(
    "logs",
    [
        {"kserve": {"inferenceService": "credit-risk", "logs": "s3://l"}},
        {"seldon": {"model": "credit-risk", "bootstrapServers": "kafka:9092"}},
    ],
    ids=["kserve", "seldon"],
)
def test_an_inference_log_needs_no_timestamp_column_for_its_window(
    api_client, installed_crds, namespace, logs: dict[str, Any]
) -> None:
    """Its rows keep their time in ts (api.payload_log): the API server takes it as the operator does."""
    kind = next(iter(logs))
    document = with_value(VALID, "metadata.name", f"logged-{kind}")
    document = with_value(document, "spec.data.current", {**logs, "window": "24h"})
    document = with_value(document, "spec.data.columns", {"label": "label", "score": "score"})
    client.CustomObjectsApi(api_client).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "modelmonitors", document
    )
    columns = parse_spec(document["spec"], namespace=namespace).data.columns
    assert (columns.timestamp, columns.model_version, columns.request_id) == ("ts", "model_version", "request_id")
    without = with_value(
        with_value(document, "metadata.name", f"unlogged-{kind}"),
        "spec.data.current",
        {"uri": "s3://l/", "window": "24h"},
    )
    with pytest.raises(ApiException) as caught:
        client.CustomObjectsApi(api_client).create_namespaced_custom_object(
            GROUP, VERSION, namespace, "modelmonitors", without
        )
    assert (
        "data.current.window and conceptDrift need data.columns.timestamp" in json.loads(caught.value.body)["message"]
    )
    with pytest.raises(SpecError, match=r"need data\.columns\.timestamp"):
        parse_spec(without["spec"])


FAIR = {
    "protectedAttribute": "gender",
    "privileged": ["m"],
    "metrics": [{"name": "equalOpportunityDifference", "max": 0.1}],
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"spec.model.task": "regression", "spec.metrics": [{"name": "mae", "max": 3}], "spec.conceptDrift": DELETE},
            "fairness needs a classification task",
        ),
        (
            {"spec.model.task": "multiclassClassification", "spec.metrics": DELETE, "spec.data.columns.score": DELETE},
            "fairness on a multiclassClassification task needs fairness.favorableOutcome",
        ),
        (
            {"spec.metrics": DELETE, "spec.conceptDrift": DELETE, "spec.data.columns.label": DELETE},
            "fairness metrics averageOddsDifference, equalOpportunityDifference and predictiveParityDifference need",
        ),
    ],
)
def test_fairness_needs_a_classification_task_its_favorable_outcome_and_labels(
    api_client, installed_crds, namespace, changes, message
) -> None:
    custom = client.CustomObjectsApi(api_client)
    fair = with_value(VALID, "spec.fairness", FAIR)
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", fair)
    broken = with_value(fair, "metadata.name", "broken")
    for path, value in changes.items():
        broken = with_value(broken, path, value)
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", broken)
    assert message in json.loads(caught.value.body)["message"]
    with pytest.raises(SpecError, match=message):
        parse_spec(broken["spec"])


def test_segments_need_metrics(api_client, installed_crds, namespace) -> None:
    custom = client.CustomObjectsApi(api_client)
    segmented = with_value(VALID, "spec.segments", [{"column": "region"}])
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", segmented)
    broken = with_value(with_value(segmented, "metadata.name", "broken"), "spec.metrics", DELETE)
    broken = with_value(broken, "spec.conceptDrift", DELETE)
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", broken)
    message = "segments judge the monitor's metrics in each segment: set metrics"
    assert message in json.loads(caught.value.body)["message"]
    with pytest.raises(SpecError, match=message):
        parse_spec(broken["spec"])
