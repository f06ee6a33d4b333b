"""Gateway API: the weights of the baseline's and candidate's backendRefs in one HTTPRoute rule.

Only those two ``weight`` fields are written, by a JSON patch that first tests the
backendRefs still name the two backends where they were read. So a concurrent edit of
the rule fails the patch instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelmonitor.controller.rollouts.routers import FIELD_MANAGER, ObservedWeights, RouterError
from modelmonitor.rollout_spec import GatewayAPIRouter

GROUP, VERSION, PLURAL = "gateway.networking.k8s.io", "v1", "httproutes"


class GatewayAPI:
    kind = "gatewayAPI"

    def __init__(self, custom: Any, namespace: str, spec: GatewayAPIRouter, backends: Mapping[str, str]) -> None:
        self.custom, self.namespace, self.spec, self.backends = custom, namespace, spec, dict(backends)

    def _route(self) -> dict[str, Any]:
        from kubernetes.client.rest import ApiException

        try:
            return dict(
                self.custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, self.spec.http_route)
            )
        except ApiException as error:
            if error.status == 404:
                where = f"{self.namespace}/{self.spec.http_route}"
                raise RouterError(f"HTTPRoute {where} not found (or the Gateway API CRDs are not installed)") from None
            raise RouterError(f"HTTPRoute {self.spec.http_route}: {error.status} {error.reason}") from None

    def _indexes(self, route: dict[str, Any]) -> dict[str, int]:
        rules = (route.get("spec") or {}).get("rules") or []
        if self.spec.rule_index >= len(rules):
            raise RouterError(
                f"HTTPRoute {self.spec.http_route} has {len(rules)} rules; ruleIndex is {self.spec.rule_index}"
            )
        refs = rules[self.spec.rule_index].get("backendRefs") or []
        names = [ref.get("name") for ref in refs]
        found = {arm: names.index(backend) for arm, backend in self.backends.items() if backend in names}
        missing = [backend for arm, backend in self.backends.items() if arm not in found]
        if missing:
            raise RouterError(
                f"HTTPRoute {self.spec.http_route} rule {self.spec.rule_index} has no backendRef named "
                f"{', '.join(missing)} (it has {', '.join(map(str, names)) or 'none'})"
            )
        return found

    def set_weights(self, weights: Mapping[str, int]) -> None:
        from kubernetes.client.rest import ApiException

        route = self._route()
        indexes = self._indexes(route)
        base = f"/spec/rules/{self.spec.rule_index}/backendRefs"
        patch: list[dict[str, Any]] = []
        for arm, index in indexes.items():
            patch.append({"op": "test", "path": f"{base}/{index}/name", "value": self.backends[arm]})
            patch.append({"op": "add", "path": f"{base}/{index}/weight", "value": int(weights[arm])})
        try:
            self.custom.api_client.call_api(
                f"/apis/{GROUP}/{VERSION}/namespaces/{self.namespace}/{PLURAL}/{self.spec.http_route}",
                "PATCH",
                query_params=[("fieldManager", FIELD_MANAGER)],
                header_params={"Content-Type": "application/json-patch+json", "Accept": "application/json"},
                body=patch,
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _preload_content=False,
            )
        except ApiException as error:
            raise RouterError(
                f"HTTPRoute {self.spec.http_route}: setting weights failed: {error.status} {error.reason}"
            ) from None

    def observed_weights(self) -> ObservedWeights:
        route = self._route()
        indexes = self._indexes(route)  # first: it says what is missing
        refs = route["spec"]["rules"][self.spec.rule_index]["backendRefs"]
        weights = {arm: int(refs[index].get("weight", 1)) for arm, index in indexes.items()}
        return ObservedWeights(weights, _last_writer(route))


def _last_writer(route: dict[str, Any]) -> str:
    """Who owns the route's rules (an atomic list, so the weights with them), other than this operator."""
    owners = [
        entry
        for entry in (route.get("metadata") or {}).get("managedFields") or []
        if "f:rules" in ((entry.get("fieldsV1") or {}).get("f:spec") or {})
        and entry.get("subresource", "") == ""
        and entry.get("manager") != FIELD_MANAGER
    ]
    if not owners:
        return ""
    latest = max(owners, key=lambda entry: entry.get("time") or "")
    return f"{latest.get('manager', '?')} ({latest.get('operation', '?')} at {latest.get('time', '?')})"
