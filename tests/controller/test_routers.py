"""Traffic routers against the real CRDs: set, read back, and who changed the weights."""

from __future__ import annotations

import pytest
from kubernetes import client

from modelmonitor.controller.rollouts.routers import FIELD_MANAGER, RouterError
from modelmonitor.controller.rollouts.routers.gateway_api import GatewayAPI
from modelmonitor.rollout_spec import GatewayAPIRouter

pytestmark = pytest.mark.cluster
BACKENDS = {"baseline": "credit-risk-v7", "candidate": "credit-risk-v8"}


def http_route(name: str = "credit-risk") -> dict:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name},
        "spec": {
            "parentRefs": [{"name": "inference-gateway"}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/health"}}],
                    "backendRefs": [{"name": "health", "port": 80}],
                },
                {
                    "backendRefs": [
                        {"name": "credit-risk-v7", "port": 8080, "weight": 100},
                        {"name": "credit-risk-v8", "port": 8080, "weight": 0},
                    ]
                },
            ],
        },
    }


def set_half_and_half_as_argocd(custom: client.CustomObjectsApi, namespace: str, route: dict) -> None:
    """What a GitOps sync does to weights it does not know are managed: puts them back, under its own manager."""
    route["spec"]["rules"][1]["backendRefs"][0]["weight"] = 50
    route["spec"]["rules"][1]["backendRefs"][1]["weight"] = 50
    custom.api_client.call_api(
        f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/httproutes/{route['metadata']['name']}",
        "PUT",
        query_params=[("fieldManager", "argocd-controller")],
        header_params={"Content-Type": "application/json", "Accept": "application/json"},
        body=route,
        auth_settings=["BearerToken"],
        _preload_content=False,
    )


def test_gateway_api_sets_reads_back_and_names_whoever_else_changed_the_weights(
    api_client, namespace, gateway_api_crds
) -> None:
    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object("gateway.networking.k8s.io", "v1", namespace, "httproutes", http_route())
    router = GatewayAPI(custom, namespace, GatewayAPIRouter(httpRoute="credit-risk", ruleIndex=1), BACKENDS)
    router.set_weights({"baseline": 90, "candidate": 10})
    route = custom.get_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", namespace, "httproutes", "credit-risk"
    )
    assert [ref["weight"] for ref in route["spec"]["rules"][1]["backendRefs"]] == [90, 10]
    assert route["spec"]["rules"][0]["backendRefs"] == [
        {"group": "", "kind": "Service", "name": "health", "port": 80, "weight": 1}
    ]
    assert FIELD_MANAGER in {entry["manager"] for entry in route["metadata"]["managedFields"]}
    assert router.observed_weights().weights == {"baseline": 90, "candidate": 10}
    # someone else (a GitOps sync, say) puts the weights back
    set_half_and_half_as_argocd(custom, namespace, route)
    observed = router.observed_weights()
    assert observed.weights == {"baseline": 50, "candidate": 50}
    assert observed.written_by.startswith("argocd-controller (Update at ")


def test_gateway_api_errors_name_what_is_missing(api_client, namespace, gateway_api_crds) -> None:
    custom = client.CustomObjectsApi(api_client)
    missing = GatewayAPI(custom, namespace, GatewayAPIRouter(httpRoute="nowhere"), BACKENDS)
    with pytest.raises(RouterError, match=f"HTTPRoute {namespace}/nowhere not found"):
        missing.observed_weights()
    custom.create_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", namespace, "httproutes", http_route("other")
    )
    wrong = GatewayAPI(custom, namespace, GatewayAPIRouter(httpRoute="other", ruleIndex=0), BACKENDS)
    with pytest.raises(
        RouterError, match="rule 0 has no backendRef named credit-risk-v7, credit-risk-v8 \\(it has health\\)"
    ):
        wrong.set_weights({"baseline": 90, "candidate": 10})
    beyond = GatewayAPI(custom, namespace, GatewayAPIRouter(httpRoute="other", ruleIndex=5), BACKENDS)
    with pytest.raises(RouterError, match="has 2 rules; ruleIndex is 5"):
        beyond.observed_weights()
