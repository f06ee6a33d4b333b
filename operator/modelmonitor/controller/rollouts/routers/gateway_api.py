"""Gateway API: the weights of the baseline's and candidate's backendRefs in one HTTPRoute rule.

Only those two ``weight`` fields are written, by a JSON patch that first tests the
backendRefs still name the two backends where they were read. So a concurrent edit of
the rule fails the patch instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelmonitor.api.rollout import GatewayAPIRouter
from modelmonitor.controller.rollouts.routers import ObservedWeights, RouterError
from modelmonitor.controller.rollouts.routers.common import arm_indexes, last_writer, patch, read, weight_operations

GROUP, VERSION, PLURAL = "gateway.networking.k8s.io", "v1", "httproutes"


class GatewayAPI:
    kind = "gatewayAPI"

    def __init__(self, custom: Any, namespace: str, spec: GatewayAPIRouter, backends: Mapping[str, str]) -> None:
        self.custom, self.namespace, self.spec, self.backends = custom, namespace, spec, dict(backends)

    def _route(self) -> dict[str, Any]:
        return read(self.custom, GROUP, VERSION, self.namespace, PLURAL, self.spec.http_route, "HTTPRoute")

    def _indexes(self, route: dict[str, Any]) -> dict[str, int]:
        rules = (route.get("spec") or {}).get("rules") or []
        if self.spec.rule_index >= len(rules):
            raise RouterError(
                f"HTTPRoute {self.spec.http_route} has {len(rules)} rules; ruleIndex is {self.spec.rule_index}"
            )
        refs = rules[self.spec.rule_index].get("backendRefs") or []
        where = f"HTTPRoute {self.spec.http_route} rule {self.spec.rule_index}"
        return arm_indexes([ref.get("name") for ref in refs], self.backends, where, "backendRef")

    def set_weights(self, weights: Mapping[str, int]) -> None:
        indexes = self._indexes(self._route())
        base = f"/spec/rules/{self.spec.rule_index}/backendRefs"
        operations = weight_operations(base, indexes, self.backends, weights)
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{self.namespace}/{PLURAL}/{self.spec.http_route}"
        patch(self.custom, path, operations, "application/json-patch+json", f"HTTPRoute {self.spec.http_route}")

    def observed_weights(self) -> ObservedWeights:
        route = self._route()
        indexes = self._indexes(route)  # first: it says what is missing
        refs = route["spec"]["rules"][self.spec.rule_index]["backendRefs"]
        weights = {arm: int(refs[index].get("weight", 1)) for arm, index in indexes.items()}
        # rules is an atomic list: whoever wrote the weights last owns all of it
        return ObservedWeights(weights, last_writer(route, "rules"))
