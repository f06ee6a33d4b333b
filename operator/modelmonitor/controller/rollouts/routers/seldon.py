"""Seldon Core v2: the weights of the baseline's and candidate's entries in an Experiment's ``candidates``.

An Experiment (``mlops.seldon.io/v1alpha1``) splits a model's traffic between its
``candidates``, each a model (or pipeline) ``name`` with a relative ``weight``. The
arms' backends are those names. Only their two ``weight`` fields are written, by a JSON
patch that first tests each entry still names its backend, as for Gateway API: another
candidate and ``default`` are left as they are.

A shadow step sets the Experiment's ``mirror`` to ``{name: <candidate>, percent}``; leaving the
step removes it. A mirror to another model is someone else's: the router refuses to replace
it and leaves it when the step ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelmonitor.api.rollout import SeldonRouter
from modelmonitor.controller.rollouts.routers import ObservedWeights, RouterError
from modelmonitor.controller.rollouts.routers.common import arm_indexes, last_writer, patch, read, weight_operations

GROUP, VERSION, PLURAL = "mlops.seldon.io", "v1alpha1", "experiments"


class Seldon:
    kind = "seldon"

    def __init__(self, custom: Any, namespace: str, spec: SeldonRouter, backends: Mapping[str, str]) -> None:
        self.custom, self.namespace, self.spec, self.backends = custom, namespace, spec, dict(backends)

    def _experiment(self) -> dict[str, Any]:
        return read(self.custom, GROUP, VERSION, self.namespace, PLURAL, self.spec.experiment, "Experiment")

    def _indexes(self, experiment: dict[str, Any]) -> dict[str, int]:
        candidates = (experiment.get("spec") or {}).get("candidates") or []
        names = [candidate.get("name") for candidate in candidates]
        return arm_indexes(names, self.backends, f"Experiment {self.spec.experiment}", "candidate")

    def _mirror_operations(self, experiment: Mapping[str, Any], mirror: int) -> list[dict[str, Any]]:
        current = (experiment.get("spec") or {}).get("mirror")
        candidate = self.backends["candidate"]
        if current is not None and current.get("name") != candidate:
            if not mirror:
                return []  # someone else's mirror
            raise RouterError(
                f"Experiment {self.spec.experiment} mirrors to {current.get('name')} already: a shadow step would "
                "replace it"
            )
        if current is None and not mirror:
            return []
        guard = [] if current is None else [{"op": "test", "path": "/spec/mirror", "value": current}]
        if not mirror:
            return [*guard, {"op": "remove", "path": "/spec/mirror"}]
        return [*guard, {"op": "add", "path": "/spec/mirror", "value": {"name": candidate, "percent": int(mirror)}}]

    def set_weights(self, weights: Mapping[str, int], mirror: int = 0) -> None:
        experiment = self._experiment()
        operations = weight_operations("/spec/candidates", self._indexes(experiment), self.backends, weights)
        operations += self._mirror_operations(experiment, mirror)
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{self.namespace}/{PLURAL}/{self.spec.experiment}"
        patch(self.custom, path, operations, "application/json-patch+json", f"Experiment {self.spec.experiment}")

    def observed_weights(self) -> ObservedWeights:
        experiment = self._experiment()
        indexes = self._indexes(experiment)  # first: it says what is missing
        candidates = experiment["spec"]["candidates"]
        weights = {arm: int(candidates[index].get("weight", 0)) for arm, index in indexes.items()}
        mirrored = experiment["spec"].get("mirror") or {}
        mirror = int(mirrored.get("percent", 100)) if mirrored.get("name") == self.backends["candidate"] else 0
        # candidates is an atomic list: whoever wrote the weights last owns all of it
        writer = last_writer(experiment, "candidates") or (last_writer(experiment, "mirror") if mirror else "")
        return ObservedWeights(weights, writer, mirror)
