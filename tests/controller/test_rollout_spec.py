"""The ModelRollout spec: refused with a message naming the field, by the model and by the API server alike."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from modelmonitor.api.parsing import parse_rollout_spec
from modelmonitor.errors import SpecError
from tests.controller.conftest import GROUP, VERSION
from tests.helpers import DELETE, with_value

VALID: dict[str, Any] = {
    "apiVersion": f"{GROUP}/{VERSION}",
    "kind": "ModelRollout",
    "metadata": {"name": "credit-risk-v8"},
    "spec": {
        "monitorRef": {"name": "credit-risk"},
        "baseline": {"version": "7", "backend": "credit-risk-v7"},
        "candidate": {"version": "8", "backend": "credit-risk-v8"},
        "trafficRouter": {"gatewayAPI": {"httpRoute": "credit-risk", "ruleIndex": 0}},
        "steps": [
            {"weight": 10, "minDuration": "30m"},
            {"weight": 25, "minDuration": "1h"},
            {"weight": 50, "minDuration": "2h"},
        ],
        "analysis": {
            "metric": "accuracy",
            "nonInferiorityMargin": 0.01,
            "guardrails": [{"metric": "rocAuc", "nonInferiorityMargin": 0.02}],
            "fairnessGuardrails": [{"metric": "statisticalParityDifference", "nonInferiorityMargin": 0.02}],
            "alpha": 0.05,
            "minSamplesPerArm": 500,
            "interval": "5m",
        },
        "onInconclusive": "pause",
        "decision": "",
    },
}

# (path, value, the pydantic message, the API server's message)
CASES = [
    (
        "spec.analysis.promoteOn",
        "estimated",
        "promoteOn: estimated needs estimated: true",
        "spec.analysis.promoteOn: Invalid value: promoteOn: estimated needs estimated: true",
    ),
    (
        "spec.candidate.reference",
        {"uri": "s3://ml/validation-v8.parquet", "format": "xls"},
        "Input should be",
        "spec.candidate.reference.format: Unsupported value",
    ),
    (
        "spec.trafficRouter",
        {"gatewayAPI": {"httpRoute": "r"}, "istio": {"virtualService": "v"}},
        "set exactly one of gatewayAPI, istio, kserve or seldon",
        "spec.trafficRouter: Invalid value: set exactly one of gatewayAPI, istio, kserve or seldon",
    ),
    ("spec.trafficRouter", {}, "set exactly one of", "set exactly one of gatewayAPI, istio, kserve or seldon"),
    (
        "spec.steps",
        [{"weight": 50, "minDuration": "1h"}, {"weight": 25, "minDuration": "1h"}],
        "steps: weights must increase, got [50, 25]",
        "spec.steps: Invalid value: steps: weights must increase",
    ),
    (
        "spec.steps",
        [{"weight": 10, "minDuration": "1h"}, {"weight": 10, "minDuration": "2h"}],
        "weights must increase",
        "spec.steps: Invalid value: steps: weights must increase",
    ),
    (
        "spec.steps",
        [{"weight": 10, "minDuration": "1h"}, {"mirror": 100, "minDuration": "2h"}],
        "steps: shadow steps (mirror) come before the live ones (weight)",
        "spec.steps: Invalid value: steps: shadow steps (mirror) come before the live ones (weight)",
    ),
    (
        "spec.steps",
        [{"weight": 10, "mirror": 100, "minDuration": "1h"}],
        "a step sets weight or mirror: one of them",
        "spec.steps[0]: Invalid value: a step sets weight or mirror: one of them",
    ),
    (
        "spec.steps",
        [{"minDuration": "1h"}],
        "a step sets weight or mirror: one of them",
        "spec.steps[0]: Invalid value: a step sets weight or mirror: one of them",
    ),
    (
        "spec.steps.0.mirror",
        101,
        "spec.steps[0].mirror: Input should be less than or equal to 100",
        "spec.steps[0].mirror",
    ),
    (
        "spec",
        {
            **VALID["spec"],
            "trafficRouter": {"kserve": {"inferenceService": "credit-risk"}},
            "steps": [{"mirror": 100, "minDuration": "1h"}, {"weight": 50, "minDuration": "1h"}],
        },
        "trafficRouter.kserve cannot mirror requests",
        "spec.steps: Invalid value: trafficRouter.kserve cannot mirror requests",
    ),
    ("spec.steps", [], "spec.steps: List should have at least 1 item", "spec.steps: Invalid value: 0"),
    (
        "spec.steps.0.weight",
        0,
        "spec.steps[0].weight: Input should be greater than or equal to 1",
        "spec.steps[0].weight",
    ),
    (
        "spec.steps.0.minDuration",
        "half an hour",
        "spec.steps[0].minDuration: String should match",
        "spec.steps[0].minDuration",
    ),
    (
        "spec.candidate.version",
        "7",
        "candidate.version must differ from baseline.version",
        "candidate.version must differ",
    ),
    (
        "spec.analysis.metric",
        "vibes",
        "spec.analysis.metric: Input should be",
        'spec.analysis.metric: Unsupported value: "vibes"',
    ),
    ("spec.analysis.alpha", 0.7, "spec.analysis.alpha: Input should be less than 0.5", "spec.analysis.alpha"),
    (
        "spec.analysis.minSamplesPerArm",
        5,
        "spec.analysis.minSamplesPerArm: Input should be greater than",
        "minSamplesPerArm",
    ),
    (
        "spec.analysis.nonInferiorityMargin",
        -0.1,
        "nonInferiorityMargin: Input should be greater than",
        "nonInferiorityMargin",
    ),
    (
        "spec.analysis.guardrails",
        [{"metric": "rocAuc"}, {"metric": "rocAuc"}],
        "each guardrail metric may appear once",
        'spec.analysis.guardrails[1]: Duplicate value: {"metric":"rocAuc"}',
    ),
    (
        "spec.analysis.fairnessGuardrails",
        [{"metric": "disparateImpactRatio"}, {"metric": "disparateImpactRatio", "nonInferiorityMargin": 0.1}],
        "each guardrail metric may appear once",
        'spec.analysis.fairnessGuardrails[1]: Duplicate value: {"metric":"disparateImpactRatio"}',
    ),
    (
        "spec.analysis.fairnessGuardrails",
        [{"metric": "accuracy"}],
        "spec.analysis.fairnessGuardrails[0].metric: Input should be",
        'spec.analysis.fairnessGuardrails[0].metric: Unsupported value: "accuracy"',
    ),
    (
        "spec.onInconclusive",
        "shrug",
        "spec.onInconclusive: Input should be",
        'spec.onInconclusive: Unsupported value: "shrug"',
    ),
    ("spec.decision", "yolo", "spec.decision: Input should be", 'spec.decision: Unsupported value: "yolo"'),
    ("spec.monitorRef", DELETE, "spec.monitorRef: Field required", "spec.monitorRef: Required value"),
    (
        "spec.candidate",
        {"version": "8", "mlflow": {"alias": "challenger"}, "backend": "credit-risk-v8"},
        "name the version, or its registry alias: one of them",
        "spec.candidate: Invalid value: name the version, or its registry alias: one of them",
    ),
    (
        "spec.candidate",
        {"backend": "credit-risk-v8"},
        "name the version, or its registry alias: one of them",
        "spec.candidate: Invalid value: name the version, or its registry alias: one of them",
    ),
    (
        "spec.candidate.mlflow",
        {"alias": "the best"},
        "spec.candidate.mlflow.alias: String should match pattern",
        "spec.candidate.mlflow.alias: Invalid value",
    ),
    (
        "spec",
        {
            **VALID["spec"],
            "baseline": {"mlflow": {"alias": "champion"}, "backend": "credit-risk-v7"},
            "candidate": {"mlflow": {"alias": "champion"}, "backend": "credit-risk-v8"},
        },
        "candidate.mlflow.alias must differ from baseline.mlflow.alias",
        "spec: Invalid value: candidate.mlflow.alias must differ from baseline.mlflow.alias",
    ),
]
IDS = [f"{case[0]}-{index}" for index, case in enumerate(CASES)]


def test_the_valid_spec_parses() -> None:
    spec = parse_rollout_spec(VALID["spec"])
    assert spec.traffic_router.gateway_api is not None and spec.traffic_router.gateway_api.http_route == "credit-risk"
    assert [step.weight for step in spec.steps] == [10, 25, 50] and spec.analysis.guardrails[0].metric == "rocAuc"
    assert spec.analysis.guardrail_margins == {"rocAuc": 0.02, "statisticalParityDifference": 0.02}


def test_a_shadow_step_mirrors_the_candidate_before_the_live_steps() -> None:
    steps = [{"mirror": 100, "minDuration": "1h"}, {"weight": 20, "minDuration": "1h"}]
    spec = parse_rollout_spec(with_value(VALID, "spec.steps", steps)["spec"])
    assert [step.describe() for step in spec.steps] == ["candidate mirrored 100% (shadow)", "candidate at 20%"]
    assert [step.shadow for step in spec.steps] == [True, False]


def test_an_arm_may_be_named_by_its_registry_alias_and_is_pinned_to_the_version_it_names() -> None:
    document = with_value(VALID, "spec.candidate", {"mlflow": {"alias": "challenger"}, "backend": "credit-risk-v8"})
    spec = parse_rollout_spec(document["spec"])
    assert spec.by_alias and spec.candidate.version is None and spec.candidate.named() == "mlflow alias challenger"
    assert spec.pinned({}) is None and spec.pinned({"baseline": "7"}) is None  # the alias's version is not known yet
    pinned = spec.pinned({"baseline": "3", "candidate": "9"})
    assert pinned is not None
    assert (pinned.baseline.version, pinned.candidate.version) == ("7", "9")  # a written version stays as written
    plain = parse_rollout_spec(VALID["spec"])
    assert not plain.by_alias and plain.pinned({}) == plain


@pytest.mark.parametrize(("path", "value", "message", "_"), CASES, ids=IDS)
def test_a_bad_rollout_spec_names_the_field(path: str, value: Any, message: str, _: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_rollout_spec(with_value(VALID, path, value)["spec"])
    assert message in str(caught.value)


@pytest.mark.cluster
@pytest.mark.parametrize(("path", "value", "_", "message"), CASES, ids=IDS)
def test_the_api_server_refuses_a_bad_rollout(api_client, installed_crds, namespace, path, value, _, message) -> None:
    custom = client.CustomObjectsApi(api_client)
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, "modelrollouts", with_value(VALID, path, value)
        )
    assert caught.value.status == 422, caught.value.body
    assert message in json.loads(caught.value.body)["message"]


@pytest.mark.cluster
def test_the_valid_rollout_is_accepted_and_listed_with_its_columns(
    api_client, installed_crds, namespace, control_plane, kubeconfig
) -> None:
    from tests.controller.conftest import kubectl

    client.CustomObjectsApi(api_client).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "modelrollouts", VALID
    )
    table = kubectl(control_plane, kubeconfig, "get", "mro", "-n", namespace)
    assert table.returncode == 0, table.stderr
    assert table.stdout.split("\n")[0].split() == [
        "NAME",
        "MONITOR",
        "BASELINE",
        "CANDIDATE",
        "STEP",
        "WEIGHT",
        "MIRROR",
        "PHASE",
        "DIFFERENCE",
        "REASON",
        "AGE",
    ]
    assert table.stdout.split("\n")[1].split()[:2] == ["credit-risk-v8", "credit-risk"]  # versions: once it starts
    everything = kubectl(control_plane, kubeconfig, "get", "modelmonitoring", "-n", namespace)
    assert "modelrollout.modelmonitor.io/credit-risk-v8" in everything.stdout
