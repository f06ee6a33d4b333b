"""Generated specs against both gates: the pydantic model (what `modelmonitor validate` and the operator use)
and the real API server's CRD schema with its CEL rules. They must agree both ways: each spec is accepted by
both or refused by both, and a refusal names the field. And each CEL rule is held against its twin validator."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.api.parsing import parse_spec
from tests.controller.both_gates import assert_generated_specs_agree, mutated
from tests.controller.test_validation import JOB, VALID
from tests.helpers import DELETE, with_value

pytestmark = pytest.mark.cluster

DURATIONS = st.sampled_from(["1m", "30s", "1h", "24h", "0s", "90m", "1h30m", "87600h", "87601h", "soon", "-1h", "1.5h"])
NUMBERS = st.one_of(
    st.sampled_from([0, 1, -1, 0.5, 1.5, 5, 1e-9, 100, 1000, 10**12]), st.floats(-2, 2, allow_nan=False)
)
FAIRNESS_METRICS = st.sampled_from(
    [
        "statisticalParityDifference",
        "disparateImpactRatio",
        "equalOpportunityDifference",
        "averageOddsDifference",
        "predictiveParityDifference",
        "parity",
    ]
)
METRICS = st.sampled_from(
    ["accuracy", "rocAuc", "logLoss", "f1", "precision", "recall", "balancedAccuracy", "mae", "rmse", "r2", "mape"]
)
WORKFLOW = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {"entrypoint": "train"}}
# each mutation sets one field to a value drawn around its boundaries; several are applied to one spec
MUTATIONS: dict[str, Any] = {
    "spec.schedule": st.one_of(
        st.fixed_dictionaries({"interval": DURATIONS}),
        st.fixed_dictionaries({"cron": st.sampled_from(["0 * * * *", "*/5 * * * *", "61 * * * *", "daily"])}),
        st.just({}),
        st.just({"interval": "1h", "cron": "0 * * * *"}),
        st.just({"cron": "0 * * * *", "spread": True}),
        st.fixed_dictionaries(
            {"spread": st.booleans()}, optional={"interval": DURATIONS, "cron": st.just("0 * * * *")}
        ),
    ),
    "spec.data.columns.label": st.sampled_from(["label", DELETE]),
    "spec.data.columns.timestamp": st.sampled_from(["ts", DELETE]),
    "spec.data.columns.score": st.sampled_from(["score", DELETE]),
    "spec.data.columns.classScores": st.one_of(
        st.just(DELETE),
        st.lists(
            st.fixed_dictionaries({"label": st.sampled_from("abc"), "column": st.sampled_from(["p_a", "p_b", "p_c"])}),
            min_size=1,
            max_size=3,
        ),
    ),
    "spec.data.current.window": st.one_of(DURATIONS, st.just(DELETE)),
    # the source's kind, drawn whole: a uri, a kserve source (good or bad name, any format), both, or neither
    "spec.data.current": st.one_of(
        st.just({"uri": "s3://logs/credit/", "window": "24h"}),
        st.fixed_dictionaries(  # a kserve source in another format: refused by its own rule alone
            {
                "kserve": st.just({"inferenceService": "credit-risk", "logs": "s3://l"}),
                "format": st.sampled_from(["csv", "jsonl"]),
            }
        ),
        st.fixed_dictionaries(
            {
                "kserve": st.fixed_dictionaries(
                    {"inferenceService": st.sampled_from(["credit-risk", "Credit_Risk"]), "logs": st.just("s3://l")},
                    optional={"namespace": st.sampled_from(["ml", ""])},
                )
            },
            optional={
                "format": st.sampled_from(["parquet", "csv", "jsonl"]),
                "window": st.just("24h"),
                "uri": st.just("s3://logs/credit/"),
            },
        ),
        st.just(  # Seldon's logs in a format: refused by their own rule alone
            {"seldon": {"model": "credit-risk", "bootstrapServers": "kafka:9092"}, "window": "24h", "format": "csv"}
        ),
        st.fixed_dictionaries(  # a Seldon model's Kafka logs: a stream needs a window and takes no format
            {
                "seldon": st.fixed_dictionaries(
                    {
                        "model": st.sampled_from(["credit-risk", "Credit_Risk"]),
                        "bootstrapServers": st.sampled_from(["kafka:9092", "a:9092,b:9092", "a:9092, b:9092"]),
                    },
                    optional={"namespace": st.sampled_from(["ml", ""]), "topicPrefix": st.sampled_from(["seldon", ""])},
                )
            },
            optional={"format": st.sampled_from(["parquet", "csv"]), "window": st.just("24h")},
        ),
        st.just({"window": "24h"}),
    ),
    # labels joined by request id, drawn whole: from the collector (kserve), a uri with or without its columns, or
    # Seldon's topics (which hold no labels)
    "spec.data.labels": st.one_of(
        st.just(DELETE),
        st.just({"kserve": {"inferenceService": "credit-risk", "logs": "s3://feedback"}}),
        st.just({"uri": "s3://labels/", "window": "24h", "idColumn": "request_id"}),  # refused by its window alone
        st.just({"uri": "s3://labels/"}),  # refused for want of an id column alone
        st.just({"seldon": {"model": "credit-risk", "bootstrapServers": "kafka:9092"}, "idColumn": "request_id"}),
        st.fixed_dictionaries(
            {"uri": st.just("s3://labels/"), "idColumn": st.just("request_id")},
            optional={"labelColumn": st.just("defaulted"), "timestampColumn": st.just("ts")},
        ),
    ),
    "spec.data.reference.window": st.one_of(DURATIONS, st.just(DELETE)),
    # a step from a shape to the rule that guards it (applied only where the shape has the field)
    "spec.dataQuality.0.freshness.column": st.just(DELETE),  # UNTIMED: the rule's column, or none at all
    "spec.data.labels.labelColumn": st.just(DELETE),  # JOINED: the label named nowhere
    "spec.drift.multivariate": st.one_of(
        st.just(DELETE),
        st.fixed_dictionaries(
            {"methods": st.lists(st.sampled_from(["pcaReconstruction", "domainClassifier", "umap"]), max_size=3)},
            optional={
                "varianceExplained": NUMBERS,
                "alpha": NUMBERS,
                "sampleRows": st.sampled_from([999, 1000, 50_000, 10**7]),
            },
        ),
    ),
    # fairness drawn whole: its groups (overlapping, repeated, empty), its metrics and bounds around their rules
    "spec.fairness": st.one_of(
        st.just(DELETE),
        st.fixed_dictionaries(
            {
                "protectedAttribute": st.just("gender"),
                "privileged": st.sampled_from([["m"], ["m", "m"], []]),
                "metrics": st.lists(
                    st.fixed_dictionaries(
                        {"name": FAIRNESS_METRICS},
                        optional={"min": NUMBERS, "max": NUMBERS},
                    ),
                    max_size=2,
                ),
            },
            optional={
                "unprivileged": st.sampled_from([["f"], ["m"], ["f", "f"]]),
                "favorableOutcome": st.just("approved"),
                "minRowsPerGroup": st.sampled_from([0, 1, 50]),
                "confidence": NUMBERS,
            },
        ),
    ),
    "spec.segments": st.one_of(
        st.just(DELETE),
        st.lists(
            st.fixed_dictionaries(
                {"column": st.sampled_from(["region", "device"])},
                optional={"values": st.sampled_from([["ios"], ["ios", "ios"], []])},
            ),
            max_size=2,
        ),
    ),
    "spec.maxSegments": st.sampled_from([1, 2, 50, 1000, 1001]),
    # steps from the FAIR shape to each of its rules alone
    "spec.fairness.metrics.0": st.sampled_from(
        [
            {"name": "disparateImpactRatio"},
            {"name": "statisticalParityDifference", "min": 0.1},
            {"name": "disparateImpactRatio", "min": 1.2, "max": 1},
            {"name": "equalOpportunityDifference", "max": 0.1},
        ]
    ),
    "spec.fairness.unprivileged": st.sampled_from([["m"], ["f"]]),
    "spec.metrics.0.average": st.just("binary"),  # MULTICLASS: average binary refused by its rule alone
    "spec.dataQuality.0.freshness.maxAge": st.just("0s"),  # UNTIMED: a maxAge refused by its rule alone
    # rules of each kind around their bounds; a freshness rule without a column leans on data.columns.timestamp
    "spec.dataQuality": st.lists(
        st.one_of(
            st.fixed_dictionaries({"missing": st.fixed_dictionaries({"column": st.just("x"), "max": NUMBERS})}),
            st.fixed_dictionaries(
                {"range": st.fixed_dictionaries({"column": st.just("age")}, optional={"min": NUMBERS, "max": NUMBERS})}
            ),
            st.fixed_dictionaries(
                {"freshness": st.fixed_dictionaries({"maxAge": DURATIONS}, optional={"column": st.just("ts")})}
            ),
            st.fixed_dictionaries(
                {"schema": st.fixed_dictionaries({}, optional={"allowExtra": st.booleans()})},
                optional={"unique": st.just({"column": "id"})},
            ),
            st.just({"allowedValues": {"column": "region", "maxShare": 0.01}}),
            st.just({}),
        ),
        max_size=3,
    ),
    "spec.data.minSamples": st.sampled_from([0, 1, 100, -5, 10**9, "100", 100.0, 100.5]),
    "spec.suspend": st.sampled_from([True, False, "yes", "true", 1]),
    "spec.data.current.format": st.sampled_from(["parquet", "csv", "jsonl", "xlsx"]),
    "spec.metrics": st.one_of(
        st.lists(
            st.fixed_dictionaries(
                {"name": METRICS},
                optional={"min": NUMBERS, "max": NUMBERS, "average": st.sampled_from(["binary", "macro", "micro"])},
            ),
            max_size=3,
        ),
        st.sampled_from(  # each refused by one rule alone on some shape (a bound outside the metric's range)
            [
                [{"name": "recall", "average": "binary"}],
                [{"name": "r2", "min": 1.5}],
                [{"name": "logLoss", "max": -0.5}],
                [{"name": "mae", "min": -1}],
            ]
        ),
    ),
    "spec.drift.method": st.sampled_from(["auto", "ks", "psi", "chi2", "wasserstein", "jensenshannon", "magic"]),
    "spec.drift.threshold": st.one_of(NUMBERS, st.just("0.1")),
    "spec.drift.datasetDriftShare": NUMBERS,
    "spec.drift.exactMaxRows": st.sampled_from([0, 999, 1000, 10**7, 10**12]),
    "spec.model.task": st.sampled_from(["binaryClassification", "multiclassClassification", "regression", "rank"]),
    "spec.model.positiveLabel": st.sampled_from(["yes", "1", DELETE]),
    "spec.runner": st.sampled_from(["inline", "job", "dask", "auto", "cloud", DELETE]),
    "spec.dask": st.one_of(
        st.just(DELETE),
        st.just({"address": "tcp://d:8786", "clusterNamespace": "ml"}),
        st.fixed_dictionaries(
            {},
            optional={
                "address": st.sampled_from(["tcp://d:8786", "d:8786", "tls://a.b.svc:1"]),
                "cluster": st.sampled_from(["analytics", "Analytics", "a" * 54]),
                "clusterNamespace": st.sampled_from(["ml", "ML"]),
            },
        ),
    ),
    "spec.conceptDrift": st.one_of(
        st.just([{"method": "ddm"}]),
        st.lists(
            st.fixed_dictionaries(
                {"method": st.sampled_from(["ddm", "pageHinkley", "performanceWindow", "adwin"])},
                optional={
                    "baseline": st.sampled_from(["reference", "previousWindow", "yesterday"]),
                    "alpha": st.sampled_from([0.01, 0.05, 0, 1, "0.05"]),
                    "metric": st.sampled_from(["accuracy", "rocAuc", "mae"]),
                },
            ),
            max_size=2,
        ),
    ),
    "spec.successfulRunsHistoryLimit": st.sampled_from([-1, 0, 10, 1000]),
    "spec.actions": st.one_of(
        st.just(DELETE),
        st.fixed_dictionaries(
            {
                "retrain": st.fixed_dictionaries(
                    {},
                    optional={
                        "jobTemplate": st.just(JOB),
                        "resourceTemplate": st.just(WORKFLOW),
                        "cooldown": DURATIONS,
                        "on": st.just(["DataDrift"]),
                        "true": st.just(["ConceptDrift"]),  # an unquoted `on:` as YAML 1.1 reads it
                    },
                )
            }
        ),
    ),
    "spec.model.version": st.sampled_from(["3", "4", DELETE]),
    "spec.model.mlflow": st.one_of(
        st.just(DELETE),
        st.fixed_dictionaries(
            {
                "trackingUri": st.sampled_from(["http://mlflow.mlflow:5000", "https://m/", "file:///mlruns"]),
                "name": st.sampled_from(["credit-risk", "Credit Risk"]),
            },
            optional={
                "alias": st.sampled_from(["champion", "", "the best"]),
                "version": st.sampled_from(["3", "v3"]),
                "referenceArtifact": st.sampled_from(["data/reference.parquet", "/data/reference.parquet"]),
                "referenceFormat": st.sampled_from(["csv", "xlsx"]),
                "logRuns": st.sampled_from([False, "no"]),
            },
        ),
    ),
    "spec.data.reference": st.sampled_from([DELETE, {"uri": "s3://logs/train.parquet"}]),
    "spec.performanceEstimation": st.one_of(
        st.just(DELETE),
        st.just({"method": "cbpe"}),
        st.fixed_dictionaries({"method": st.sampled_from(["cbpe", "guess"])}, optional={"confidence": NUMBERS}),
    ),
}


def shaped(changes: dict[str, Any]) -> dict[str, Any]:
    document = VALID
    for path, value in changes.items():
        document = with_value(document, path, value)
    return document


# Valid specs of other shapes, each a mutation or two from the rules about its task: a rule across fields is
# held against its twin only where the validators before it pass
MULTICLASS = shaped(
    {
        "spec.model.task": "multiclassClassification",
        "spec.data.columns": {
            "timestamp": "ts",
            "label": "label",
            "classScores": [{"label": "a", "column": "p_a"}, {"label": "b", "column": "p_b"}],
        },
        "spec.metrics": [{"name": "precision", "average": "macro", "min": 0.5}],
        "spec.conceptDrift": [{"method": "performanceWindow", "baseline": "previousWindow"}],
        "spec.performanceEstimation": {"method": "cbpe"},
    }
)
REGRESSION = shaped(
    {
        "spec.model.task": "regression",
        "spec.metrics": [{"name": "mae", "max": 3}],
        "spec.conceptDrift": [{"method": "pageHinkley"}],
    }
)
JOINED = shaped(  # the labels name the label column: a labels source without labelColumn is refused alone
    {
        "spec.data.labels": {"uri": "s3://labels/", "idColumn": "request_id", "labelColumn": "defaulted"},
        "spec.data.columns.label": DELETE,
    }
)
REGISTERED = shaped(  # the reference is the registered version's artifact: a data.reference beside it is refused
    {
        "spec.data.reference": DELETE,
        "spec.model.mlflow": {
            "trackingUri": "http://mlflow.mlflow:5000",
            "name": "credit-risk",
            "alias": "champion",
            "referenceArtifact": "data/reference.parquet",
        },
    }
)
UNTIMED = shaped(  # no time column, and nothing that needs one: a freshness rule must name its column
    {
        "spec.data.current.window": DELETE,
        "spec.data.columns.timestamp": DELETE,
        "spec.conceptDrift": DELETE,
        "spec.dataQuality": [{"freshness": {"maxAge": "1h", "column": "ts"}}],
    }
)
ESTIMATING = shaped(
    {"spec.metrics": [{"name": "accuracy", "min": 0.9}], "spec.performanceEstimation": {"method": "cbpe"}}
)

FAIR = shaped(  # fairness alone needs the labels: a label column deleted is refused by its rule alone
    {
        "spec.metrics": DELETE,
        "spec.conceptDrift": DELETE,
        "spec.fairness": {
            "protectedAttribute": "gender",
            "privileged": ["m"],
            "metrics": [{"name": "equalOpportunityDifference", "max": 0.1}],
        },
    }
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    shapes = [VALID, MULTICLASS, REGRESSION, ESTIMATING, JOINED, REGISTERED, UNTIMED, FAIR]
    return mutated(draw, draw(st.sampled_from(shapes)), MUTATIONS)


@pytest.mark.timeout(900)
def test_the_spec_model_and_the_crd_agree_both_ways(api_client, installed_crds, namespace) -> None:
    assert_generated_specs_agree(
        api_client, namespace, "modelmonitors", documents(), parse_spec, ModelMonitorSpec, 3000
    )
