"""Traffic routers behind one small interface, one module per router, as Argo Rollouts lays them out.

A router sets the two arms' weights (and, on a shadow step, the share of requests mirrored
to the candidate) on the object it manages, reads back the weights in force, and names
whoever else last changed them. The rollout reconciler never knows
which router it drives: ``router_for`` picks one from the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from modelmonitor.api.rollout import ModelRolloutSpec


class RouterError(RuntimeError):
    """The router's object cannot be read or written: missing CRD or object, or a shape it cannot manage.

    A rollout reports it as a Paused reason; it never crashes the operator.
    """


@dataclass(frozen=True)
class ObservedWeights:
    """The weights in force (arm -> percent), the percent of requests mirrored to the candidate, and the field
    manager that last wrote them."""

    weights: Mapping[str, int]
    written_by: str = ""
    mirror: int = 0


class Router(Protocol):
    kind: str

    def set_weights(self, weights: Mapping[str, int], mirror: int = 0) -> None:
        """Set the arms' weights (percent, summing to 100) and the percent of requests mirrored to the candidate
        (0: none), touching nothing else."""

    def observed_weights(self) -> ObservedWeights:
        """The weights in force now, as the router's object says."""


FIELD_MANAGER = "modelmonitor-rollouts"


def router_for(spec: ModelRolloutSpec, namespace: str, custom: Any) -> Router:
    """The router the spec names."""
    backends = {"baseline": spec.baseline.backend, "candidate": spec.candidate.backend}
    chosen = spec.traffic_router
    if chosen.gateway_api is not None:
        from modelmonitor.controller.rollouts.routers.gateway_api import GatewayAPI

        return GatewayAPI(custom, namespace, chosen.gateway_api, backends)
    if chosen.istio is not None:
        from modelmonitor.controller.rollouts.routers.istio import Istio

        return Istio(custom, namespace, chosen.istio, backends)
    if chosen.kserve is not None:
        from modelmonitor.controller.rollouts.routers.kserve import KServe

        return KServe(custom, namespace, chosen.kserve)
    if chosen.seldon is not None:
        from modelmonitor.controller.rollouts.routers.seldon import Seldon

        return Seldon(custom, namespace, chosen.seldon, backends)
    raise RouterError("no traffic router in the spec")  # TrafficRouter's validation makes this unreachable
