"""The CRDs, generated from the pydantic spec models: ``python -m modelmonitor.crd`` (crds/ and the chart's).

The spec's JSON schema becomes a structural OpenAPI v3 schema (references inlined,
optional values unwrapped, exclusive bounds in OpenAPI's form), and CEL rules add what
a schema alone cannot say.  ``tests/controller/test_crd.py`` checks that the YAML in
``crds/`` is what this module generates.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from modelmonitor.api.concept_drift import CONCEPT_DRIFT_METHODS
from modelmonitor.api.metrics import AVERAGED_METRICS, METRIC_RANGES, REGRESSION_METRICS, SCORE_METRICS
from modelmonitor.durations import DURATION_PATTERN, LONGEST_TEXT
from modelmonitor.rollout_spec import KIND as KIND_ROLLOUT
from modelmonitor.rollout_spec import ModelRolloutSpec
from modelmonitor.spec import (
    API_GROUP,
    API_VERSION,
    CRON_PATTERN,
    CRON_RULE,
    WINDOW_ONLY,
    WINDOWED_METHODS,
    YAML11_ON,
    ConceptDriftSpec,
    ModelMonitorSpec,
    describe_range,
    listed,
)

# `kubectl get modelmonitoring` lists every kind; a category must be no kind's name, or kubectl
# expands `kubectl get modelmonitor NAME` to every kind in it ("you must specify only one resource")
CATEGORY = "modelmonitoring"
MAX_MONITOR_NAME = 48  # leaves room for a run's suffix within the 63 characters of a Job name
_DROPPED = {"title", "default", "examples", "$defs"}


def _convert(node: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        target = definitions[node["$ref"].rsplit("/", 1)[-1]]
        return _convert({**target, **{k: v for k, v in node.items() if k != "$ref"}}, definitions)
    if "anyOf" in node:
        choices = [choice for choice in node["anyOf"] if choice.get("type") != "null"]
        if len(choices) != 1:
            raise ValueError(f"cannot express a union in a structural schema: {node}")
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        return _convert({**choices[0], **rest}, definitions)
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
    if out.get("type") == "number" and (rules := _fractional_bound_rules(out)):
        out["x-kubernetes-validations"] = rules
    if out.get("pattern") == DURATION_PATTERN:  # the spec model's durations: at most ten years, wherever they are
        out["x-kubernetes-validations"] = [
            _rule(f"duration(self) <= duration('{LONGEST_TEXT}')", f"must be a duration of at most {LONGEST_TEXT}")
        ]
    if out.get("type") == "object" and "properties" not in out and "additionalProperties" not in out:
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _fractional_bound_rules(node: dict[str, Any]) -> list[dict[str, str]]:
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
        rules.append(_rule(f"self {operator} {value!r}", f"must be {strict if exclusive else loose} {value!r}"))
    return rules


def _quoted(names: frozenset[Any]) -> str:
    return "[" + ", ".join(f"'{name}'" for name in sorted(names)) + "]"


def _rule(rule: str, message: str, **extra: str) -> dict[str, str]:
    return {"rule": rule, "message": message, **extra}


def _schedule_rules() -> list[dict[str, str]]:
    return [
        _rule("has(self.interval) != has(self.cron)", "set exactly one of interval or cron"),
        _rule(
            "!has(self.interval) || duration(self.interval) >= duration('1m')",
            "interval must be at least 1m",
            fieldPath=".interval",
        ),
        _rule(
            f"!has(self.cron) || self.cron.matches(r'{CRON_PATTERN}')", f"cron must be {CRON_RULE}", fieldPath=".cron"
        ),
        _rule(
            "!has(self.spread) || !self.spread || has(self.interval)",
            "spread needs an interval: a cron expression says itself when to run",
            fieldPath=".spread",
        ),
    ]


def _within(bound: str, low: float | None, high: float | None) -> str:
    """CEL: the threshold ``bound`` is unset or inside [low, high]."""
    limits = [
        f"self.{bound} >= {low!r}" if low is not None else "",
        f"self.{bound} <= {high!r}" if high is not None else "",
    ]
    return f"(!has(self.{bound}) || ({' && '.join(limit for limit in limits if limit)}))"


def _metric_range_rules() -> list[dict[str, str]]:
    """One rule per range: the metrics that lie in it take thresholds inside it only."""
    by_range: dict[tuple[float | None, float | None], list[str]] = {}
    for name, bounds in METRIC_RANGES.items():
        by_range.setdefault(bounds, []).append(str(name))
    return [
        _rule(
            f"!(self.name in {_quoted(frozenset(names))}) || "
            f"({_within('min', low, high)} && {_within('max', low, high)})",
            f"{', '.join(names)} {'lies' if len(names) == 1 else 'lie'} in {describe_range(low, high)}: "
            "min and max must too",
        )
        for (low, high), names in by_range.items()
    ]


def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return _convert(raw, raw.get("$defs", {}))


def _window_only_rule() -> dict[str, str]:
    """performanceWindow's settings on another detector: absent or at their defaults (the model judges by value)."""
    unchanged = []
    for name in WINDOW_ONLY:
        default = ConceptDriftSpec.model_fields[name].default
        if default is None:
            unchanged.append(f"!has(self.{name})")
        else:
            value = f"'{default}'" if isinstance(default, str) else repr(default)
            unchanged.append(f"(!has(self.{name}) || self.{name} == {value})")
    return _rule(
        " || ".join([*(f"self.method == '{name}'" for name in WINDOWED_METHODS), f"({' && '.join(unchanged)})"]),
        f"{listed(WINDOW_ONLY)} are for {listed(WINDOWED_METHODS)} only",
    )


def _duration_rule(field: str) -> dict[str, str]:
    return _rule(
        f"!has(self.{field}) || duration(self.{field}) >= duration('0s')",
        f"{field} must be a duration such as 30m or 24h",
        fieldPath=f".{field}",
    )


def spec_schema() -> dict[str, Any]:
    schema = _model_schema(ModelMonitorSpec)
    properties = schema["properties"]
    properties["schedule"]["x-kubernetes-validations"] = _schedule_rules()
    for side in ("current", "reference"):  # the generated specs found reference's window unchecked
        properties["data"]["properties"][side]["x-kubernetes-validations"] = [
            _rule(
                "!has(self.window) || duration(self.window) > duration('0s')",
                "window must be a positive duration, such as 24h",
                fieldPath=".window",
            )
        ]
    retrain = properties["actions"]["properties"]["retrain"]
    retrain["properties"]["schedule"]["x-kubernetes-validations"] = _schedule_rules()
    retrain["properties"]["on"]["x-kubernetes-list-type"] = "set"
    # kubectl, Argo CD and Flux read YAML 1.1, where an unquoted `on:` key is the boolean true: the API
    # server must keep that key (not refuse or prune it) for the operator to read it as `on`.
    retrain["properties"][YAML11_ON] = {
        **retrain["properties"]["on"],
        "description": "on, as YAML 1.1 reads an unquoted `on:` key; the operator takes it as on.",
    }
    retrain["x-kubernetes-validations"] = [
        _rule(
            "has(self.jobTemplate) != has(self.resourceTemplate)", "set exactly one of jobTemplate or resourceTemplate"
        ),
        _duration_rule("cooldown"),
        _duration_rule("timeout"),
        _rule("!has(self.on) || !has(self.__true__)", "on is given twice: once quoted and once unquoted"),
    ]
    properties["metrics"]["items"]["x-kubernetes-validations"] = [
        _rule("!has(self.min) || !has(self.max) || self.min <= self.max", "min must not exceed max"),
        _rule(
            f"!has(self.average) || self.name in {_quoted(AVERAGED_METRICS)}",
            "average is for precision, recall and f1",
            fieldPath=".average",
        ),
        *_metric_range_rules(),
    ]
    properties["model"]["x-kubernetes-validations"] = [
        _rule(
            "!has(self.positiveLabel) || self.task == 'binaryClassification'",
            "positiveLabel is for binaryClassification",
            fieldPath=".positiveLabel",
        )
    ]
    properties["conceptDrift"]["items"]["x-kubernetes-validations"] = [_window_only_rule()]
    class_scores = properties["data"]["properties"]["columns"]["properties"]["classScores"]
    class_scores["x-kubernetes-list-type"] = "map"
    class_scores["x-kubernetes-list-map-keys"] = ["label"]
    class_scores["x-kubernetes-validations"] = [
        _rule(
            "self.all(a, self.exists_one(b, b.column == a.column))",
            "each class has one score column: a column appears twice",
        )
    ]
    properties["dask"]["x-kubernetes-validations"] = [
        _rule("has(self.address) != has(self.cluster)", "set exactly one of address or cluster"),
        _rule(
            "!has(self.clusterNamespace) || has(self.cluster)",
            "clusterNamespace is for cluster: name the DaskCluster, or remove clusterNamespace",
            fieldPath=".clusterNamespace",
        ),
    ]
    drift_features = properties["drift"]["properties"]["features"]
    drift_features["x-kubernetes-list-type"] = "map"
    drift_features["x-kubernetes-list-map-keys"] = ["name"]
    regression, scored = _quoted(REGRESSION_METRICS), _quoted(SCORE_METRICS)
    classifying = [str(name) for name, facts in CONCEPT_DRIFT_METHODS.items() if facts.classification_only]
    schema["x-kubernetes-validations"] = [
        _rule(
            f"self.model.task == 'regression' || !has(self.metrics) || self.metrics.all(m, !(m.name in {regression}))",
            f"metrics {regression} need task regression",
            fieldPath=".metrics",
        ),
        _rule(
            f"self.model.task != 'regression' || !has(self.metrics) || self.metrics.all(m, m.name in {regression})",
            "a regression task takes only the metrics mae, mape, r2 and rmse",
            fieldPath=".metrics",
        ),
        _rule(
            f"!has(self.metrics) || !self.metrics.exists(m, m.name in {scored}) || "
            "(has(self.data.columns) && has(self.data.columns.score))",
            "rocAuc and logLoss need data.columns.score",
            fieldPath=".metrics",
        ),
        _rule(
            f"!has(self.metrics) || !self.metrics.exists(m, m.name in {scored}) || "
            "self.model.task == 'binaryClassification'",
            "rocAuc and logLoss need task binaryClassification",
            fieldPath=".metrics",
        ),
        _rule(
            "((!has(self.metrics) || size(self.metrics) == 0) && "
            "(!has(self.conceptDrift) || size(self.conceptDrift) == 0)) || "
            "(has(self.data.columns) && has(self.data.columns.label))",
            "metrics and conceptDrift need data.columns.label",
            fieldPath=".data.columns",
        ),
        _rule(
            "(!has(self.data.current.window) && (!has(self.conceptDrift) || size(self.conceptDrift) == 0)) || "
            "(has(self.data.columns) && has(self.data.columns.timestamp))",
            "data.current.window and conceptDrift need data.columns.timestamp",
            fieldPath=".data.columns",
        ),
        _rule(
            "!has(self.data.columns) || !has(self.data.columns.classScores) || "
            "self.model.task == 'multiclassClassification'",
            "data.columns.classScores needs a multiclassClassification task (a binary task uses data.columns.score)",
            fieldPath=".data.columns.classScores",
        ),
        _rule(
            "!has(self.dask) || (has(self.runner) && self.runner == 'dask')",
            "spec.dask is for runner dask: set runner: dask, or remove dask",
            fieldPath=".dask",
        ),
        _rule(
            "!has(self.performanceEstimation) || self.model.task != 'regression'",
            "performanceEstimation needs a classification task",
            fieldPath=".performanceEstimation",
        ),
        _rule(
            "!has(self.performanceEstimation) || self.model.task != 'binaryClassification' || "
            "(has(self.data.columns) && has(self.data.columns.score) && has(self.data.columns.label))",
            "performanceEstimation needs data.columns.score and data.columns.label",
            fieldPath=".performanceEstimation",
        ),
        _rule(
            "!has(self.performanceEstimation) || self.model.task != 'multiclassClassification' || "
            "(has(self.data.columns) && has(self.data.columns.classScores) && has(self.data.columns.label))",
            "performanceEstimation on a multiclassClassification task needs data.columns.classScores "
            "(one score column per class) and data.columns.label",
            fieldPath=".performanceEstimation",
        ),
        _rule(
            "!has(self.conceptDrift) || self.model.task != 'regression' || "
            f"self.conceptDrift.all(c, {' && '.join(f'c.method != {name!r}' for name in classifying)})",
            f"{listed(classifying)} {'needs' if len(classifying) == 1 else 'need'} a classification task",
            fieldPath=".conceptDrift",
        ),
        _rule(
            "!has(self.conceptDrift) || has(self.data.current.window) || "
            "self.conceptDrift.all(c, !has(c.baseline) || c.baseline != 'previousWindow')",
            "baseline previousWindow needs data.current.window",
            fieldPath=".conceptDrift",
        ),
        _rule(
            "!has(self.metrics) || self.model.task != 'multiclassClassification' || "
            "self.metrics.all(m, !has(m.average) || m.average != 'binary')",
            "average binary needs a binary task",
            fieldPath=".metrics",
        ),
    ]
    return schema


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
            "spec": spec_schema(),
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


def rollout_spec_schema() -> dict[str, Any]:
    schema = _model_schema(ModelRolloutSpec)
    properties = schema["properties"]
    properties["trafficRouter"]["x-kubernetes-validations"] = [
        _rule(
            "[has(self.gatewayAPI), has(self.istio), has(self.kserve), has(self.seldon)].filter(x, x).size() == 1",
            "set exactly one of gatewayAPI, istio, kserve or seldon",
        )
    ]
    steps = properties["steps"]
    steps["x-kubernetes-list-type"] = "map"
    steps["x-kubernetes-list-map-keys"] = ["weight"]
    steps["items"]["x-kubernetes-validations"] = [
        _duration_rule("minDuration"),
        _duration_rule("maxDuration"),
        _rule(
            "!has(self.maxDuration) || duration(self.maxDuration) >= duration(self.minDuration)",
            "maxDuration must not be shorter than minDuration",
            fieldPath=".maxDuration",
        ),
    ]
    guardrails = properties["analysis"]["properties"]["guardrails"]
    guardrails["x-kubernetes-list-type"] = "map"
    guardrails["x-kubernetes-list-map-keys"] = ["metric"]
    properties["analysis"]["x-kubernetes-validations"] = [_duration_rule("interval")]
    schema["x-kubernetes-validations"] = [
        _rule("self.candidate.version != self.baseline.version", "candidate.version must differ from baseline.version"),
        _rule("self.steps.map(s, s.weight).isSorted()", "steps: weights must increase", fieldPath=".steps"),
    ]
    return schema


def model_rollout_crd() -> dict[str, Any]:
    schema = {
        "type": "object",
        "description": "A traffic-split A/B rollout of a candidate model version, decided by its quality.",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": rollout_spec_schema(),
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }
    columns = [
        _printer("Monitor", ".spec.monitorRef.name"),
        _printer("Baseline", ".spec.baseline.version"),
        _printer("Candidate", ".spec.candidate.version"),
        _printer("Step", ".status.currentStep", "integer"),
        _printer("Weight", ".status.weights.candidate", "integer", description="The candidate's share set, percent"),
        _printer("Phase", ".status.phase"),
        _printer("Difference", ".status.difference", description="candidate minus baseline, with its interval"),
        _printer("Age", ".metadata.creationTimestamp", "date"),
        _printer("Reason", ".status.reason", priority=1),
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


HEADER = "# Generated by `python -m modelmonitor.crd` from modelmonitor/spec.py and rollout_spec.py: do not edit.\n"


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
