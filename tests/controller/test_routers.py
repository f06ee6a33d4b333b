"""Traffic routers against the real CRDs: set, read back, and who changed the weights."""

from __future__ import annotations

import pytest
from kubernetes import client

from modelmonitor.api.rollout import GatewayAPIRouter
from modelmonitor.controller.rollouts.routers import FIELD_MANAGER, ObservedWeights, RouterError
from modelmonitor.controller.rollouts.routers.gateway_api import GatewayAPI

pytestmark = pytest.mark.cluster
BACKENDS = {"baseline": "credit-risk-v7", "candidate": "credit-risk-v8"}
GATEWAY = ("gateway.networking.k8s.io", "v1")


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
    path = f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/httproutes/{route['metadata']['name']}"
    put_as(custom, path, route, "argocd-controller")


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


def test_gateway_api_mirrors_the_candidate_on_a_shadow_step_and_stops_after_it(
    api_client, namespace, gateway_api_crds
) -> None:
    custom = client.CustomObjectsApi(api_client)
    route = http_route()
    header = {"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "x-model", "value": "cr"}]}}
    route["spec"]["rules"][1]["filters"] = [header]
    custom.create_namespaced_custom_object("gateway.networking.k8s.io", "v1", namespace, "httproutes", route)
    router = GatewayAPI(custom, namespace, GatewayAPIRouter(httpRoute="credit-risk", ruleIndex=1), BACKENDS)
    router.set_weights({"baseline": 100, "candidate": 0}, mirror=100)
    live = custom.get_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", namespace, "httproutes", "credit-risk"
    )
    filters = live["spec"]["rules"][1]["filters"]
    assert filters[0] == header  # the rule's other filter: left as it was
    assert filters[1]["type"] == "RequestMirror"
    assert filters[1]["requestMirror"]["percent"] == 100
    assert filters[1]["requestMirror"]["backendRef"]["name"] == "credit-risk-v8"
    assert filters[1]["requestMirror"]["backendRef"]["port"] == 8080
    assert router.observed_weights().mirror == 100
    router.set_weights({"baseline": 100, "candidate": 0}, mirror=25)
    assert router.observed_weights().mirror == 25
    router.set_weights({"baseline": 80, "candidate": 20})
    live = custom.get_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", namespace, "httproutes", "credit-risk"
    )
    assert live["spec"]["rules"][1]["filters"] == [header]
    assert router.observed_weights() == ObservedWeights({"baseline": 80, "candidate": 20}, "", 0)


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


def put_as(custom: client.CustomObjectsApi, path: str, document: dict, manager: str) -> None:
    custom.api_client.call_api(
        path,
        "PUT",
        query_params=[("fieldManager", manager)],
        header_params={"Content-Type": "application/json", "Accept": "application/json"},
        body=document,
        auth_settings=["BearerToken"],
        _preload_content=False,
    )


ISTIO = ("networking.istio.io", "v1")


def virtual_service() -> dict:
    destinations = [({"host": "credit-risk", "subset": f"credit-risk-v{v}"}, w) for v, w in (("7", 100), ("8", 0))]
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "credit-risk"},
        "spec": {
            "hosts": ["credit-risk"],
            "http": [
                {
                    "name": "health",
                    "match": [{"uri": {"prefix": "/health"}}],
                    "route": [{"destination": {"host": "health"}}],
                },
                {"name": "primary", "route": [{"destination": d, "weight": w} for d, w in destinations]},
            ],
        },
    }


def test_istio_sets_reads_back_and_names_whoever_else_changed_the_weights(api_client, namespace, router_crds) -> None:
    from modelmonitor.api.rollout import IstioRouter
    from modelmonitor.controller.rollouts.routers.istio import Istio

    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(*ISTIO, namespace, "virtualservices", virtual_service())
    router = Istio(custom, namespace, IstioRouter(virtualService="credit-risk", routeName="primary"), BACKENDS)
    router.set_weights({"baseline": 75, "candidate": 25})
    service = custom.get_namespaced_custom_object(*ISTIO, namespace, "virtualservices", "credit-risk")
    assert [entry["weight"] for entry in service["spec"]["http"][1]["route"]] == [75, 25]
    assert service["spec"]["http"][0] == virtual_service()["spec"]["http"][0]  # the other route untouched
    assert router.observed_weights().weights == {"baseline": 75, "candidate": 25}
    for entry in service["spec"]["http"][1]["route"]:
        entry["weight"] = 50
    put_as(custom, f"/apis/networking.istio.io/v1/namespaces/{namespace}/virtualservices/credit-risk", service, "flux")
    observed = router.observed_weights()
    assert observed.weights == {"baseline": 50, "candidate": 50} and observed.written_by.startswith("flux (Update at ")
    unnamed = Istio(custom, namespace, IstioRouter(virtualService="credit-risk", routeName="canary"), BACKENDS)
    with pytest.raises(RouterError, match="has no http route named canary \\(it has health, primary\\)"):
        unnamed.observed_weights()


def test_istio_mirrors_the_candidate_on_a_shadow_step_and_leaves_someone_elses_mirror(
    api_client, namespace, router_crds
) -> None:
    from modelmonitor.api.rollout import IstioRouter
    from modelmonitor.controller.rollouts.routers.istio import Istio

    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(*ISTIO, namespace, "virtualservices", virtual_service())
    router = Istio(custom, namespace, IstioRouter(virtualService="credit-risk", routeName="primary"), BACKENDS)
    router.set_weights({"baseline": 100, "candidate": 0}, mirror=50)
    primary = custom.get_namespaced_custom_object(*ISTIO, namespace, "virtualservices", "credit-risk")["spec"]["http"][
        1
    ]
    assert primary["mirror"] == {"host": "credit-risk", "subset": "credit-risk-v8"}
    assert primary["mirrorPercentage"] == {"value": 50}
    assert router.observed_weights().mirror == 50
    router.set_weights({"baseline": 90, "candidate": 10})
    primary = custom.get_namespaced_custom_object(*ISTIO, namespace, "virtualservices", "credit-risk")["spec"]["http"][
        1
    ]
    assert "mirror" not in primary and "mirrorPercentage" not in primary
    assert router.observed_weights().mirror == 0
    audited = virtual_service()
    audited["metadata"]["name"] = "audited"
    audited["spec"]["http"][1]["mirror"] = {"host": "audit"}
    custom.create_namespaced_custom_object(*ISTIO, namespace, "virtualservices", audited)
    other = Istio(custom, namespace, IstioRouter(virtualService="audited", routeName="primary"), BACKENDS)
    assert other.observed_weights().mirror == 0
    with pytest.raises(RouterError, match="http route 1 mirrors to audit already: a shadow step would replace it"):
        other.set_weights({"baseline": 100, "candidate": 0}, mirror=100)
    other.set_weights({"baseline": 90, "candidate": 10})
    kept = _istio_route(custom, namespace, "audited")
    assert kept["mirror"] == {"host": "audit"}


def _istio_route(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict:
    return custom.get_namespaced_custom_object(*ISTIO, namespace, "virtualservices", name)["spec"]["http"][1]


def test_kserve_refuses_a_shadow_step(api_client, namespace, router_crds) -> None:
    from modelmonitor.api.rollout import KServeRouter
    from modelmonitor.controller.rollouts.routers.kserve import KServe

    router = KServe(client.CustomObjectsApi(api_client), namespace, KServeRouter(inferenceService="credit-risk"))
    with pytest.raises(RouterError, match="KServe has no request mirroring"):
        router.set_weights({"baseline": 100, "candidate": 0}, mirror=100)


def test_kserve_sets_the_canary_percent_and_names_whoever_else_changed_it(api_client, namespace, router_crds) -> None:
    from modelmonitor.api.rollout import KServeRouter
    from modelmonitor.controller.rollouts.routers.kserve import KServe

    custom = client.CustomObjectsApi(api_client)
    service = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "credit-risk"},
        "spec": {
            "predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://models/credit-risk/8"}}
        },
    }
    custom.create_namespaced_custom_object("serving.kserve.io", "v1beta1", namespace, "inferenceservices", service)
    router = KServe(custom, namespace, KServeRouter(inferenceService="credit-risk"))
    assert router.observed_weights().weights == {"baseline": 0, "candidate": 100}  # no canary: the latest gets all
    router.set_weights({"baseline": 90, "candidate": 10})
    live = custom.get_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", namespace, "inferenceservices", "credit-risk"
    )
    assert live["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert live["spec"]["predictor"]["model"]["storageUri"] == "s3://models/credit-risk/8"
    assert router.observed_weights().weights == {"baseline": 90, "candidate": 10}
    live["spec"]["predictor"]["canaryTrafficPercent"] = 60
    put_as(
        custom,
        f"/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices/credit-risk",
        live,
        "kubectl-edit",
    )
    observed = router.observed_weights()
    assert observed.weights == {"baseline": 40, "candidate": 60} and observed.written_by.startswith("kubectl-edit (")
    missing = KServe(custom, namespace, KServeRouter(inferenceService="nowhere"))
    with pytest.raises(RouterError, match=r"its CRD, inferenceservices\.serving\.kserve\.io, is not installed"):
        missing.set_weights({"baseline": 90, "candidate": 10})


SELDON = ("mlops.seldon.io", "v1alpha1")


def experiment() -> dict:
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": "credit-risk"},
        "spec": {
            "default": "credit-risk-v7",
            "candidates": [
                {"name": "credit-risk-v7", "weight": 100},
                {"name": "credit-risk-shadow", "weight": 5},
                {"name": "credit-risk-v8", "weight": 0},
            ],
            "mirror": {"name": "credit-risk-audit", "percent": 10},
        },
    }


def test_seldon_sets_the_candidates_weights_and_names_whoever_else_changed_them(
    api_client, namespace, router_crds
) -> None:
    """Against an Experiment CRD written from Seldon Core v2's documented API (modelmonitor_tools.devcluster.
    seldon_crd): no artefact here carries Seldon's own."""
    from modelmonitor.api.rollout import SeldonRouter
    from modelmonitor.controller.rollouts.routers.common import patch, weight_operations
    from modelmonitor.controller.rollouts.routers.seldon import Seldon

    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(*SELDON, namespace, "experiments", experiment())
    router = Seldon(custom, namespace, SeldonRouter(experiment="credit-risk"), BACKENDS)
    assert router.observed_weights().weights == {"baseline": 100, "candidate": 0}
    router.set_weights({"baseline": 90, "candidate": 10})
    live = custom.get_namespaced_custom_object(*SELDON, namespace, "experiments", "credit-risk")
    assert live["spec"]["candidates"] == [
        {"name": "credit-risk-v7", "weight": 90},
        {"name": "credit-risk-shadow", "weight": 5},  # another candidate: left as it was
        {"name": "credit-risk-v8", "weight": 10},
    ]
    assert live["spec"]["default"] == "credit-risk-v7" and live["spec"]["mirror"]["percent"] == 10
    assert router.observed_weights() == ObservedWeights({"baseline": 90, "candidate": 10}, "")
    live["spec"]["candidates"][0]["weight"] = 50
    live["spec"]["candidates"][2]["weight"] = 50
    put_as(custom, f"/apis/mlops.seldon.io/v1alpha1/namespaces/{namespace}/experiments/credit-risk", live, "argocd")
    observed = router.observed_weights()
    assert observed.weights == {"baseline": 50, "candidate": 50} and observed.written_by.startswith("argocd (")
    # the list reordered by someone else between our read and our write: the patch's tests refuse it
    path = f"/apis/mlops.seldon.io/v1alpha1/namespaces/{namespace}/experiments/credit-risk"
    current = custom.get_namespaced_custom_object(*SELDON, namespace, "experiments", "credit-risk")
    read_before = router._indexes(current)
    reordered = {**current, "spec": {**current["spec"], "candidates": current["spec"]["candidates"][::-1]}}
    put_as(custom, path, reordered, "argocd")
    stale = weight_operations("/spec/candidates", read_before, BACKENDS, {"baseline": 75, "candidate": 25})
    with pytest.raises(RouterError, match="setting weights failed: 422"):
        patch(custom, path, stale, "application/json-patch+json", "Experiment credit-risk")
    after = custom.get_namespaced_custom_object(*SELDON, namespace, "experiments", "credit-risk")
    assert after["spec"]["candidates"] == reordered["spec"]["candidates"]
    unnamed = Seldon(custom, namespace, SeldonRouter(experiment="credit-risk"), {**BACKENDS, "candidate": "v9"})
    with pytest.raises(RouterError, match=r"Experiment credit-risk has no candidate named v9 \(it has credit-risk-v8,"):
        unnamed.observed_weights()
    missing = Seldon(custom, namespace, SeldonRouter(experiment="nowhere"), BACKENDS)
    with pytest.raises(RouterError, match=r"its CRD, experiments\.mlops\.seldon\.io, is not installed"):
        missing.set_weights({"baseline": 90, "candidate": 10})


def test_seldon_mirrors_the_candidate_on_a_shadow_step_and_leaves_someone_elses_mirror(
    api_client, namespace, router_crds
) -> None:
    from modelmonitor.api.rollout import SeldonRouter
    from modelmonitor.controller.rollouts.routers.seldon import Seldon

    custom = client.CustomObjectsApi(api_client)
    plain = experiment()
    del plain["spec"]["mirror"]
    custom.create_namespaced_custom_object(*SELDON, namespace, "experiments", plain)
    router = Seldon(custom, namespace, SeldonRouter(experiment="credit-risk"), BACKENDS)
    router.set_weights({"baseline": 100, "candidate": 0}, mirror=100)
    live = custom.get_namespaced_custom_object(*SELDON, namespace, "experiments", "credit-risk")
    assert live["spec"]["mirror"] == {"name": "credit-risk-v8", "percent": 100}
    assert router.observed_weights().mirror == 100
    router.set_weights({"baseline": 90, "candidate": 10})
    live = custom.get_namespaced_custom_object(*SELDON, namespace, "experiments", "credit-risk")
    assert "mirror" not in live["spec"] and router.observed_weights().mirror == 0
    audited = experiment()
    audited["metadata"]["name"] = "audited"
    custom.create_namespaced_custom_object(*SELDON, namespace, "experiments", audited)
    other = Seldon(custom, namespace, SeldonRouter(experiment="audited"), BACKENDS)
    with pytest.raises(RouterError, match="mirrors to credit-risk-audit already: a shadow step would replace it"):
        other.set_weights({"baseline": 100, "candidate": 0}, mirror=100)
    other.set_weights({"baseline": 90, "candidate": 10})
    kept = custom.get_namespaced_custom_object(*SELDON, namespace, "experiments", "audited")
    assert kept["spec"]["mirror"] == {"name": "credit-risk-audit", "percent": 10}


def test_the_seldon_sample_is_taken_by_both_crds_and_names_the_experiments_candidates(
    api_client, namespace, router_crds, installed_crds
) -> None:
    import yaml

    from modelmonitor.api.parsing import parse_rollout_spec
    from tests.controller.conftest import ROOT

    experiment_document, rollout_document = yaml.safe_load_all(
        (ROOT / "manifests" / "samples" / "seldon-experiment-rollout.yaml").read_text()
    )
    rollout = parse_rollout_spec(rollout_document["spec"])
    names = [candidate["name"] for candidate in experiment_document["spec"]["candidates"]]
    assert rollout.traffic_router.seldon is not None and rollout.traffic_router.seldon.experiment == "credit-risk"
    assert names == [rollout.baseline.backend, rollout.candidate.backend]
    custom = client.CustomObjectsApi(api_client)
    for (group, version, plural), document in (
        ((*SELDON, "experiments"), experiment_document),
        (("modelmonitor.io", "v1alpha1", "modelrollouts"), rollout_document),
    ):
        document["metadata"]["namespace"] = namespace
        custom.create_namespaced_custom_object(group, version, namespace, plural, document, dry_run="All")
