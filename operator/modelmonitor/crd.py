"""The CRDs, generated from the pydantic spec models: ``python -m modelmonitor.crd`` (crds/ and the chart's).

The spec's JSON schema becomes a structural OpenAPI v3 schema (references inlined,
optional values unwrapped, exclusive bounds in OpenAPI's form). What a schema alone cannot
say, CEL rules say: each is declared beside the validator that enforces it in the models
(``modelmonitor.api.cel``) and arrives here in their JSON schema; this module only adds the
rules it derives from bounds. ``tests/controller/test_pure.py`` checks that the YAML in
``crds/`` is what this module generates.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from modelmonitor.api.cel import VALIDATIONS, CelRule, add_rules
from modelmonitor.api.monitor import API_GROUP, API_VERSION, ModelMonitorSpec
from modelmonitor.api.rollout import KIND as KIND_ROLLOUT
from modelmonitor.api.rollout import ModelRolloutSpec

# `kubectl get modelmonitoring` lists every kind; a category must be no kind's name, or kubectl
# expands `kubectl get modelmonitor NAME` to every kind in it ("you must specify only one resource")
CATEGORY = "modelmonitoring"
MAX_MONITOR_NAME = 48  # leaves room for a run's suffix within the 63 characters of a Job name
_DROPPED = {"title", "default", "examples", "$defs"}


def _convert(node: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        target = definitions[node["$ref"].rsplit("/", 1)[-1]]
        return _convert(_merged(target, {k: v for k, v in node.items() if k != "$ref"}), definitions)
    if "anyOf" in node:
        choices = [choice for choice in node["anyOf"] if choice.get("type") != "null"]
        if len(choices) != 1:
            raise ValueError(f"cannot express a union in a structural schema: {node}")
        return _convert(_merged(choices[0], {k: v for k, v in node.items() if k != "anyOf"}), definitions)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key == "properties":
            out[key] = {name: _convert(child, definitions) for name, child in value.items()}
        elif key == "items":
            out[key] = _convert(value, definitions)
        elif key == "additionalProperties":
            if value is True or value == {}:  # dict[str, Any]: kept as written
                out["x-kubernetes-preserve-unknown-fields"] = True
            elif value is not False:
                out[key] = _convert(value, definitions)
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "const":
            out["enum"] = [value]
        else:
            out[key] = value
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    if out.get("type") == "number":
        add_rules(out, _fractional_bound_rules(out))
    if out.get("type") == "object" and "properties" not in out and "additionalProperties" not in out:
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _merged(definition: dict[str, Any], use: dict[str, Any]) -> dict[str, Any]:
    """A type's schema with what its use adds (a description, a default); the CEL rules of both, the type's first."""
    rules = [*definition.get(VALIDATIONS, []), *use.get(VALIDATIONS, [])]
    return {**definition, **use} | ({VALIDATIONS: rules} if rules else {})


def _fractional_bound_rules(node: dict[str, Any]) -> list[CelRule]:
    """CEL rules for a number's bounds that are not whole: the schema's own check misjudges whole values.

    The API server compares a whole value (``confidence: 0``) with a bound truncated to a
    whole number (0.5 as 0), so it admitted what the spec model refuses.
    """
    rules = []
    for bound, (strict, loose) in (("minimum", ("greater than", "at least")), ("maximum", ("less than", "at most"))):
        value = node.get(bound)
        if value is None or float(value).is_integer():
            continue
        exclusive = node.get(f"exclusive{bound.capitalize()}") is True
        operator = {"minimum": ">" if exclusive else ">=", "maximum": "<" if exclusive else "<="}[bound]
        rules.append(CelRule(f"self {operator} {value!r}", f"must be {strict if exclusive else loose} {value!r}"))
    return rules


def _rule(rule: str, message: str) -> dict[str, str]:
    return CelRule(rule, message).as_schema()


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A spec model's structural schema, with the CEL rules its validators declare."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return _convert(raw, raw.get("$defs", {}))


def _printer(
    name: str, json_path: str, kind: str = "string", priority: int = 0, description: str = ""
) -> dict[str, Any]:
    column: dict[str, Any] = {"name": name, "type": kind, "jsonPath": json_path}
    if priority:
        column["priority"] = priority
    if description:
        column["description"] = description
    return column


def _condition(kind: str) -> str:
    return f'.status.conditions[?(@.type=="{kind}")].status'


def _crd(plural: str, kind: str, short: str, schema: dict[str, Any], columns: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{API_GROUP}"},
        "spec": {
            "group": API_GROUP,
            "scope": "Namespaced",
            "names": {
                "plural": plural,
                "singular": kind.lower(),
                "kind": kind,
                "listKind": f"{kind}List",
                "shortNames": [short],
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": API_VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def model_monitor_crd() -> dict[str, Any]:
    schema = {
        "type": "object",
        "description": "A model to monitor: where its logged predictions and reference data live, and what to check.",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": model_schema(ModelMonitorSpec),
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
        "x-kubernetes-validations": [
            _rule(
                f"self.metadata.name.size() <= {MAX_MONITOR_NAME}",
                f"metadata.name must be at most {MAX_MONITOR_NAME} characters: runs and Jobs are named after it",
            ),
        ],
    }
    columns = [
        _printer("Model", ".spec.model.name"),
        _printer("Healthy", _condition("Healthy")),
        _printer("Drift", _condition("DataDrift")),
        _printer("Last Run", ".status.lastRun.completedAt", "date"),
        _printer("Age", ".metadata.creationTimestamp", "date"),
        _printer("Metrics", ".status.lastRun.summary", priority=1, description="The last run's metric values"),
        _printer("Next Run", ".status.nextRunAt", priority=1),
    ]
    return _crd("modelmonitors", "ModelMonitor", "mm", schema, columns)


def monitor_run_crd() -> dict[str, Any]:
    spec = {
        "type": "object",
        "required": ["monitor", "trigger", "evaluateAt"],
        "properties": {
            "monitor": {"type": "string", "description": "The ModelMonitor this run evaluates."},
            "trigger": {"type": "string", "enum": ["schedule", "specChange", "runNow"]},
            "evaluateAt": {
                "type": "string",
                "format": "date-time",
                "description": "The end of the evaluated window: the schedule slot, or when triggered.",
            },
            "runner": {"type": "string", "enum": ["inline", "job", "dask"]},
            "generation": {"type": "integer", "description": "The monitor's generation when the run was created."},
        },
        "x-kubernetes-validations": [_rule("self == oldSelf", "a MonitorRun's spec is immutable")],
    }
    schema = {
        "type": "object",
        "description": "One evaluation of a ModelMonitor, with the full results document in its status.",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }
    columns = [
        _printer("Monitor", ".spec.monitor"),
        _printer("Trigger", ".spec.trigger"),
        _printer("Phase", ".status.phase"),
        _printer("Verdict", ".status.results.verdict"),
        _printer("Completed", ".status.completedAt", "date"),
        _printer("Age", ".metadata.creationTimestamp", "date"),
    ]
    return _crd("monitorruns", "MonitorRun", "mrun", schema, columns)


def model_rollout_crd() -> dict[str, Any]:
    schema = {
        "type": "object",
        "description": "A traffic-split A/B rollout of a candidate model version, decided by its quality.",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": model_schema(ModelRolloutSpec),
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }
    columns = [
        _printer("Monitor", ".spec.monitorRef.name"),
        # the versions compared, as pinned when it started: a registry alias resolved
        _printer("Baseline", ".status.versions.baseline"),
        _printer("Candidate", ".status.versions.candidate"),
        _printer("Step", ".status.currentStep", "integer"),
        _printer("Weight", ".status.weights.candidate", "integer", description="The candidate's share set, percent"),
        _printer("Mirror", ".status.mirror", "integer", description="The share of requests mirrored to the candidate"),
        _printer("Phase", ".status.phase"),
        _printer("Difference", ".status.difference", description="candidate minus baseline, with its interval"),
        _printer("Reason", ".status.reason", description="why it is where it is: NonInferior, CandidateWorse, ..."),
        _printer("Age", ".metadata.creationTimestamp", "date"),
    ]
    return _crd("modelrollouts", KIND_ROLLOUT, "mro", schema, columns)


def kopf_peering_crds() -> list[dict[str, Any]]:
    """kopf's peering resources: how operator replicas agree which one is active."""
    crds = []
    for kind, scope in (("ClusterKopfPeering", "Cluster"), ("KopfPeering", "Namespaced")):
        plural = kind.lower() + "s"
        crds.append(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": f"{plural}.kopf.dev"},
                "spec": {
                    "group": "kopf.dev",
                    "scope": scope,
                    "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
                    "versions": [
                        {
                            "name": "v1",
                            "served": True,
                            "storage": True,
                            "schema": {
                                "openAPIV3Schema": {
                                    "type": "object",
                                    "properties": {
                                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                                    },
                                }
                            },
                        }
                    ],
                },
            }
        )
    return crds


HEADER = "# Generated by `python -m modelmonitor.crd` from modelmonitor/api/monitor.py and rollout.py: do not edit.\n"


def render() -> dict[str, str]:
    """File name -> YAML text, for every CRD."""
    return {
        f"{crd['metadata']['name']}.yaml": HEADER + yaml.safe_dump(crd, sort_keys=False, width=120)
        for crd in (model_monitor_crd(), monitor_run_crd(), model_rollout_crd(), *kopf_peering_crds())
    }


# the chart and the kustomize base ship the same files (kustomize loads no file outside its folder)
DEFAULT_TARGETS = ("crds", "helm/modelmonitor/crds", "manifests/crds")


def main() -> None:
    """``python -m modelmonitor.crd [DIR ...]``: write the CRDs to each DIR (default: crds/ and the chart's)."""
    for target in map(Path, sys.argv[1:] or DEFAULT_TARGETS):
        target.mkdir(parents=True, exist_ok=True)
        for name, text in render().items():
            (target / name).write_text(text)
            print(target / name)


if __name__ == "__main__":
    main()
