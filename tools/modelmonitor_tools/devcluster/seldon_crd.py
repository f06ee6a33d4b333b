"""Seldon Core v2's Experiment CRD, written from Seldon's documented API: no artefact here carries the real one.

The Go module proxy refuses Seldon's modules and no package ships its CRDs, so the router's
tests install this one. It holds the documented facts and nothing more: group
``mlops.seldon.io``, version ``v1alpha1``, kind ``Experiment`` (plural ``experiments``, short
name ``mlx``), namespaced, with a status subresource; ``spec.candidates[]`` of ``name``
(string) and ``weight`` (int32), both required, and ``candidates`` itself required; optional
``spec.default`` (string), ``spec.mirror`` ``{name, percent}`` and ``spec.resourceType``
(``model`` or ``pipeline``); ``status.conditions`` as Knative writes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from modelmonitor_tools.devcluster.assets import cache_root

_STRING = {"type": "string"}
_INT32 = {"type": "integer", "format": "int32"}
KNATIVE_CONDITION = {
    "type": "object",
    "required": ["type", "status"],
    "properties": {
        "type": _STRING,
        "status": _STRING,
        "severity": _STRING,
        "lastTransitionTime": _STRING,
        "reason": _STRING,
        "message": _STRING,
    },
}
EXPERIMENT_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "experiments.mlops.seldon.io"},
    "spec": {
        "group": "mlops.seldon.io",
        "scope": "Namespaced",
        "names": {
            "kind": "Experiment",
            "listKind": "ExperimentList",
            "plural": "experiments",
            "singular": "experiment",
            "shortNames": ["mlx"],
        },
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "apiVersion": _STRING,
                            "kind": _STRING,
                            "metadata": {"type": "object"},
                            "spec": {
                                "type": "object",
                                "required": ["candidates"],
                                "properties": {
                                    "candidates": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["name", "weight"],
                                            "properties": {"name": _STRING, "weight": _INT32},
                                        },
                                    },
                                    "default": _STRING,
                                    "mirror": {"type": "object", "properties": {"name": _STRING, "percent": _INT32}},
                                    "resourceType": {"type": "string", "enum": ["model", "pipeline"]},
                                },
                            },
                            "status": {
                                "type": "object",
                                "properties": {
                                    "observedGeneration": {"type": "integer", "format": "int64"},
                                    "conditions": {"type": "array", "items": KNATIVE_CONDITION},
                                },
                            },
                        },
                    }
                },
            }
        ],
    },
}


def ensure_seldon_crds() -> Path:
    """A folder holding the Experiment CRD above, as the other ``ensure_*_crds`` give theirs."""
    target = cache_root() / "seldon-crds-documented"
    target.mkdir(parents=True, exist_ok=True)
    (target / "mlops.seldon.io_experiments.yaml").write_text(yaml.safe_dump(EXPERIMENT_CRD, sort_keys=False))
    return target
