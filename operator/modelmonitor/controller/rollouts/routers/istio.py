"""Istio: the weights of the baseline's and candidate's destinations in one http route of a VirtualService.

A backend names a destination by its ``subset`` (the usual Istio canary: one host, two
subsets) or by its ``host``. As for Gateway API, a JSON patch tests that the
destinations are still where they were read before it sets the two weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelmonitor.api.rollout import IstioRouter
from modelmonitor.controller.rollouts.routers import ObservedWeights, RouterError
from modelmonitor.controller.rollouts.routers.common import last_writer, patch, read

GROUP, VERSION, PLURAL = "networking.istio.io", "v1", "virtualservices"


def _names(destination: Mapping[str, Any]) -> set[str]:
    return {str(destination[key]) for key in ("subset", "host") if destination.get(key)}


class Istio:
    kind = "istio"

    def __init__(self, custom: Any, namespace: str, spec: IstioRouter, backends: Mapping[str, str]) -> None:
        self.custom, self.namespace, self.spec, self.backends = custom, namespace, spec, dict(backends)

    def _service(self) -> dict[str, Any]:
        return read(self.custom, GROUP, VERSION, self.namespace, PLURAL, self.spec.virtual_service, "VirtualService")

    def _locate(self, service: dict[str, Any]) -> tuple[int, dict[str, int]]:
        routes = (service.get("spec") or {}).get("http") or []
        where = f"VirtualService {self.spec.virtual_service}"
        if self.spec.route_name is None:
            if not routes:
                raise RouterError(f"{where} has no http routes")
            index = 0
        else:
            named = [i for i, route in enumerate(routes) if route.get("name") == self.spec.route_name]
            if not named:
                found = ", ".join(str(route.get("name")) for route in routes) or "none"
                raise RouterError(f"{where} has no http route named {self.spec.route_name} (it has {found})")
            index = named[0]
        destinations = [(entry.get("destination") or {}) for entry in routes[index].get("route") or []]
        positions = {}
        for arm, backend in self.backends.items():
            matches = [i for i, destination in enumerate(destinations) if backend in _names(destination)]
            if not matches:
                have = ", ".join("/".join(sorted(_names(d))) for d in destinations) or "none"
                raise RouterError(f"{where} http route {index} has no destination {backend} (it has {have})")
            positions[arm] = matches[0]
        return index, positions

    def set_weights(self, weights: Mapping[str, int]) -> None:
        service = self._service()
        index, positions = self._locate(service)
        base = f"/spec/http/{index}/route"
        operations: list[dict[str, Any]] = []
        for arm, position in positions.items():
            destination = service["spec"]["http"][index]["route"][position]["destination"]
            operations.append({"op": "test", "path": f"{base}/{position}/destination", "value": destination})
            operations.append({"op": "add", "path": f"{base}/{position}/weight", "value": int(weights[arm])})
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{self.namespace}/{PLURAL}/{self.spec.virtual_service}"
        patch(
            self.custom, path, operations, "application/json-patch+json", f"VirtualService {self.spec.virtual_service}"
        )

    def observed_weights(self) -> ObservedWeights:
        service = self._service()
        index, positions = self._locate(service)
        route = service["spec"]["http"][index]["route"]
        weights = {arm: int(route[position].get("weight", 0)) for arm, position in positions.items()}
        return ObservedWeights(weights, last_writer(service, "http"))
