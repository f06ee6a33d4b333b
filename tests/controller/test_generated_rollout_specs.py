"""Generated ModelRollout specs against both gates: the pydantic model the operator parses them with, and
the real API server's CRD schema with its CEL rules. As for monitors (test_generated_specs.py): each spec is
accepted by both or refused by both, and a refusal names the field."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st

from modelmonitor.api.parsing import parse_rollout_spec
from modelmonitor.api.rollout import ModelRolloutSpec
from tests.controller.both_gates import assert_generated_specs_agree, mutated
from tests.controller.test_generated_specs import DURATIONS, METRICS, NUMBERS
from tests.controller.test_generated_specs import MUTATIONS as MONITOR_MUTATIONS
from tests.controller.test_rollout_spec import VALID
from tests.helpers import DELETE

pytestmark = pytest.mark.cluster

NAMES = st.sampled_from(["credit-risk-v8", "v", "Credit_Risk", "", "a" * 63, "a" * 254, 8])
STEPS = st.one_of(
    st.fixed_dictionaries(
        {"weight": st.sampled_from([0, 1, 10, 25, 50, 100, 101, -5, 10.5, "10"]), "minDuration": DURATIONS},
        optional={"maxDuration": DURATIONS, "mirror": st.sampled_from([1, 100])},
    ),
    st.fixed_dictionaries(
        {"mirror": st.sampled_from([0, 1, 50, 100, 101, "100"]), "minDuration": DURATIONS},
        optional={"maxDuration": DURATIONS},
    ),
    st.fixed_dictionaries({"minDuration": DURATIONS}),
)
SHADOW_THEN_LIVE = [{"mirror": 100, "minDuration": "1h"}, {"weight": 50, "minDuration": "1h"}]
# each mutation sets one field to a value drawn around its boundaries; several are applied to one spec
MUTATIONS: dict[str, Any] = {
    "spec.monitorRef": st.one_of(st.fixed_dictionaries({"name": NAMES}), st.just({})),
    "spec.baseline.version": st.sampled_from(["7", "8", "", "v" * 128, "v" * 129, 7]),
    "spec.candidate.version": st.sampled_from(["7", "8", "", "v" * 128, "v" * 129, 8]),
    "spec.candidate.backend": NAMES,
    "spec.baseline.mlflow": st.sampled_from([{"alias": "champion"}, {"alias": "challenger"}, {"alias": ""}, {}]),
    "spec.candidate.mlflow": st.sampled_from([{"alias": "challenger"}, {"alias": "champion"}, {"alias": "a b"}]),
    "spec.candidate": st.sampled_from(
        [
            {"mlflow": {"alias": "challenger"}, "backend": "credit-risk-v8"},
            {"mlflow": {"alias": "champion"}, "backend": "credit-risk-v8"},
            {"backend": "credit-risk-v8"},
        ]
    ),
    "spec.baseline": st.sampled_from(
        [{"mlflow": {"alias": "champion"}, "backend": "credit-risk-v7"}, {"version": "8", "backend": "credit-risk-v7"}]
    ),
    "spec.trafficRouter": st.one_of(
        st.fixed_dictionaries(
            {
                "gatewayAPI": st.fixed_dictionaries(
                    {"httpRoute": NAMES}, optional={"ruleIndex": st.sampled_from([-1, 0, 63, 64, 1.5])}
                )
            }
        ),
        st.fixed_dictionaries(
            {
                "istio": st.fixed_dictionaries(
                    {"virtualService": NAMES}, optional={"routeName": st.sampled_from(["primary", "r" * 254])}
                )
            }
        ),
        st.fixed_dictionaries({"kserve": st.fixed_dictionaries({"inferenceService": NAMES})}),
        st.fixed_dictionaries({"seldon": st.fixed_dictionaries({"experiment": NAMES})}),
        st.just({}),
        st.just({"kserve": {"inferenceService": "a"}, "seldon": {"experiment": "b"}}),
    ),
    "spec.steps": st.one_of(
        st.lists(STEPS, max_size=4),
        st.just([{"weight": 50, "minDuration": "1h"}, {"weight": 10, "minDuration": "1h"}]),
        st.just(SHADOW_THEN_LIVE),
        st.just(SHADOW_THEN_LIVE[::-1]),
    ),
    # KServe cannot mirror: a whole spec, so that both halves of the rule meet often (the paths after it apply on top)
    # and two arms by the same alias: whole specs too, so that the rule meets its twin often
    "spec": st.sampled_from(
        [
            {**VALID["spec"], "trafficRouter": {"kserve": {"inferenceService": "cr"}}, "steps": SHADOW_THEN_LIVE},
            {
                **VALID["spec"],
                "baseline": {"mlflow": {"alias": "champion"}, "backend": "credit-risk-v7"},
                "candidate": {"mlflow": {"alias": "champion"}, "backend": "credit-risk-v8"},
            },
        ]
    ),
    # a version's validation data: any data source, drawn as the monitor's current data is
    "spec.candidate.reference": st.one_of(
        MONITOR_MUTATIONS["spec.data.current"],
        st.fixed_dictionaries({"uri": st.just("s3://validation/v8.parquet")}, optional={"window": DURATIONS}),
    ),
    "spec.baseline.reference": st.one_of(MONITOR_MUTATIONS["spec.data.current"], st.just(DELETE)),
    "spec.analysis.estimated": st.sampled_from([True, False, "yes", DELETE]),
    "spec.analysis.promoteOn": st.sampled_from(["labels", "estimated", "soon", DELETE]),
    "spec.analysis.metric": st.one_of(METRICS, st.just("magic")),
    "spec.analysis.nonInferiorityMargin": NUMBERS,
    "spec.analysis.alpha": st.one_of(NUMBERS, st.sampled_from([0.05, 0.4999, 0.5])),
    "spec.analysis.minSamplesPerArm": st.sampled_from([9, 10, 500, 10**8, 10**8 + 1, -1, 10.5]),
    "spec.analysis.interval": DURATIONS,
    "spec.analysis.guardrails": st.lists(
        st.fixed_dictionaries({"metric": METRICS}, optional={"nonInferiorityMargin": NUMBERS}), max_size=3
    ),
    "spec.analysis": st.just(DELETE),
    "spec.onInconclusive": st.sampled_from(["pause", "rollback", "retry", DELETE]),
    "spec.decision": st.sampled_from(["", "promote", "abort", "pause", "resume", "approve", DELETE]),
    "spec.updateMonitorOnPromotion": st.sampled_from([True, False, "yes", DELETE]),
}


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    return mutated(draw, VALID, MUTATIONS)


@pytest.mark.timeout(900)
def test_the_rollout_spec_model_and_the_crd_agree_both_ways(api_client, installed_crds, namespace) -> None:
    assert_generated_specs_agree(
        api_client, namespace, "modelrollouts", documents(), parse_rollout_spec, ModelRolloutSpec, 1500
    )
