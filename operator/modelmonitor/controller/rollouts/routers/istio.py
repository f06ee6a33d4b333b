"""Istio: the weights of the baseline's and candidate's destinations in one http route of a VirtualService.

A backend names a destination by its ``subset`` (the usual Istio canary: one host, two
subsets) or by its ``host``. As for Gateway API, a JSON patch tests that the
destinations are still where they were read before it sets the two weights.

A shadow step sets the route's ``mirror`` to the candidate's destination and its
``mirrorPercentage``; leaving the step removes both. A mirror to anything else is someone
else's: the router refuses to replace it and leaves it when the step ends.
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

    def _mirror_operations(self, route: Mapping[str, Any], index: int, candidate: int, mirror: int) -> list[Any]:
        base = f"/spec/http/{index}"
        destination = route["route"][candidate]["destination"]
        current = route.get("mirror")
        if current is not None and current != destination:
            if not mirror:
                return []  # someone else's mirror
            raise RouterError(
                f"VirtualService {self.spec.virtual_service} http route {index} mirrors to "
                f"{'/'.join(sorted(_names(current)))} already: a shadow step would replace it"
            )
        if current is None and not mirror:
            return []
        guard = [] if current is None else [{"op": "test", "path": f"{base}/mirror", "value": current}]
        if not mirror:
            operations = [*guard, {"op": "remove", "path": f"{base}/mirror"}]
            if "mirrorPercentage" in route:
                operations.append({"op": "remove", "path": f"{base}/mirrorPercentage"})
            return operations
        return [
            *guard,
            {"op": "add", "path": f"{base}/mirror", "value": destination},
            {"op": "add", "path": f"{base}/mirrorPercentage", "value": {"value": float(mirror)}},
        ]

    def set_weights(self, weights: Mapping[str, int], mirror: int = 0) -> None:
        service = self._service()
        index, positions = self._locate(service)
        base = f"/spec/http/{index}/route"
        operations: list[dict[str, Any]] = []
        for arm, position in positions.items():
            destination = service["spec"]["http"][index]["route"][position]["destination"]
            operations.append({"op": "test", "path": f"{base}/{position}/destination", "value": destination})
            operations.append({"op": "add", "path": f"{base}/{position}/weight", "value": int(weights[arm])})
        operations += self._mirror_operations(service["spec"]["http"][index], index, positions["candidate"], mirror)
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{self.namespace}/{PLURAL}/{self.spec.virtual_service}"
        patch(
            self.custom, path, operations, "application/json-patch+json", f"VirtualService {self.spec.virtual_service}"
        )

    def observed_weights(self) -> ObservedWeights:
        service = self._service()
        index, positions = self._locate(service)
        http = service["spec"]["http"][index]
        route = http["route"]
        weights = {arm: int(route[position].get("weight", 0)) for arm, position in positions.items()}
        mirror = 0
        if http.get("mirror") is not None and http["mirror"] == route[positions["candidate"]]["destination"]:
            # absent: Istio mirrors every request
            mirror = round(float((http.get("mirrorPercentage") or {}).get("value", 100.0)))
        return ObservedWeights(weights, last_writer(service, "http"), mirror)
