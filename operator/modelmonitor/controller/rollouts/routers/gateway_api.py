"""Gateway API: the weights of the baseline's and candidate's backendRefs in one HTTPRoute rule, and its mirror.

Only those two ``weight`` fields are written, by a JSON patch that first tests the
backendRefs still name the two backends where they were read. So a concurrent edit of
the rule fails the patch instead of being overwritten.

A shadow step adds a ``RequestMirror`` filter to the rule whose ``backendRef`` is the
candidate's (its port, kind and namespace copied from the rule's backendRef) with the step's
``percent`` (Gateway API 1.3's standard channel, GEP-3171); leaving the step removes it. The
rule's other filters are left as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelmonitor.api.rollout import GatewayAPIRouter
from modelmonitor.controller.rollouts.routers import ObservedWeights, RouterError
from modelmonitor.controller.rollouts.routers.common import arm_indexes, last_writer, patch, read, weight_operations

GROUP, VERSION, PLURAL = "gateway.networking.k8s.io", "v1", "httproutes"
MIRROR = "RequestMirror"
_REFERENCE_FIELDS = ("group", "kind", "name", "namespace", "port")


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

    def _mirror_index(self, rule: Mapping[str, Any]) -> int | None:
        """Where the rule's filter mirroring to the candidate is, if it has one."""
        for index, found in enumerate(rule.get("filters") or []):
            mirrored = ((found.get("requestMirror") or {}).get("backendRef") or {}).get("name")
            if found.get("type") == MIRROR and mirrored == self.backends["candidate"]:
                return index
        return None

    def _mirror_operations(self, rule: Mapping[str, Any], candidate: int, mirror: int) -> list[dict[str, Any]]:
        base = f"/spec/rules/{self.spec.rule_index}/filters"
        index = self._mirror_index(rule)
        if index is None and not mirror:
            return []
        # test the filter is still there and as read: a concurrent edit fails the patch
        guard = [] if index is None else [{"op": "test", "path": f"{base}/{index}", "value": rule["filters"][index]}]
        if not mirror:
            return [*guard, {"op": "remove", "path": f"{base}/{index}"}]
        reference = rule["backendRefs"][candidate]
        wanted = {
            "type": MIRROR,
            "requestMirror": {
                "backendRef": {key: reference[key] for key in _REFERENCE_FIELDS if key in reference},
                "percent": int(mirror),
            },
        }
        if index is not None:
            return [*guard, {"op": "replace", "path": f"{base}/{index}", "value": wanted}]
        if rule.get("filters") is None:
            return [{"op": "add", "path": base, "value": [wanted]}]
        return [{"op": "add", "path": f"{base}/-", "value": wanted}]

    def set_weights(self, weights: Mapping[str, int], mirror: int = 0) -> None:
        route = self._route()
        indexes = self._indexes(route)
        base = f"/spec/rules/{self.spec.rule_index}/backendRefs"
        operations = weight_operations(base, indexes, self.backends, weights)
        rule = route["spec"]["rules"][self.spec.rule_index]
        operations += self._mirror_operations(rule, indexes["candidate"], mirror)
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{self.namespace}/{PLURAL}/{self.spec.http_route}"
        patch(self.custom, path, operations, "application/json-patch+json", f"HTTPRoute {self.spec.http_route}")

    def observed_weights(self) -> ObservedWeights:
        route = self._route()
        indexes = self._indexes(route)  # first: it says what is missing
        rule = route["spec"]["rules"][self.spec.rule_index]
        refs = rule["backendRefs"]
        weights = {arm: int(refs[index].get("weight", 1)) for arm, index in indexes.items()}
        index = self._mirror_index(rule)
        mirror = _mirrored_percent(rule["filters"][index]["requestMirror"]) if index is not None else 0
        # rules is an atomic list: whoever wrote the weights last owns all of it
        return ObservedWeights(weights, last_writer(route, "rules"), mirror)


def _mirrored_percent(mirror: Mapping[str, Any]) -> int:
    """A RequestMirror filter's share of the requests, in percent: its percent, its fraction, or all of them."""
    if "percent" in mirror:
        return int(mirror["percent"])
    if fraction := mirror.get("fraction"):
        return round(100 * int(fraction["numerator"]) / int(fraction.get("denominator", 100)))
    return 100
