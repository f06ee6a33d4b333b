"""KServe: the predictor's ``canaryTrafficPercent`` of an InferenceService.

KServe splits traffic between the latest ready revision of the predictor (the
candidate) and the one before it (the baseline): the candidate gets
``canaryTrafficPercent``, the baseline the rest; without the field, the latest revision
gets everything. So for KServe the arms are revisions, and ``baseline.backend`` and
``candidate.backend`` only name them for people. KServe has no request mirroring: the spec
refuses a shadow step on it, and so does this router.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelmonitor.api.rollout import KServeRouter
from modelmonitor.controller.rollouts.routers import ObservedWeights, RouterError
from modelmonitor.controller.rollouts.routers.common import last_writer, patch, read

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"


class KServe:
    kind = "kserve"

    def __init__(self, custom: Any, namespace: str, spec: KServeRouter) -> None:
        self.custom, self.namespace, self.spec = custom, namespace, spec

    def _service(self) -> dict[str, Any]:
        return read(
            self.custom, GROUP, VERSION, self.namespace, PLURAL, self.spec.inference_service, "InferenceService"
        )

    def set_weights(self, weights: Mapping[str, int], mirror: int = 0) -> None:
        if mirror:
            raise RouterError("KServe has no request mirroring: a shadow step needs gatewayAPI, istio or seldon")
        self._service()  # says so if it is missing
        body = {"spec": {"predictor": {"canaryTrafficPercent": int(weights["candidate"])}}}
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{self.namespace}/{PLURAL}/{self.spec.inference_service}"
        patch(
            self.custom, path, body, "application/merge-patch+json", f"InferenceService {self.spec.inference_service}"
        )

    def observed_weights(self) -> ObservedWeights:
        service = self._service()
        percent = int(((service.get("spec") or {}).get("predictor") or {}).get("canaryTrafficPercent", 100))
        writer = last_writer(service, "predictor", "canaryTrafficPercent")
        return ObservedWeights({"baseline": 100 - percent, "candidate": percent}, writer)
