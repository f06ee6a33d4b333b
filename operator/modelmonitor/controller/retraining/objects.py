"""The retraining object: its deterministic name, the trigger's context, its manifest, and how it ended.

Pure functions; the handlers create and read the objects.  How an outcome is read, for
any kind, in this order (first match wins):

=========================================  ==========  ==========================================
signal                                     outcome     who reports it this way
=========================================  ==========  ==========================================
condition ``Failed`` = True                Failed      batch Job, Kubeflow Trainer, training-operator
condition ``Succeeded`` = False            Failed      Tekton (and Knative-style kinds)
condition ``Complete``/``Completed``/      Succeeded   batch Job, Kubeflow Trainer, training-operator,
``Succeeded`` = True                                   Tekton
``status.phase`` Succeeded                 Succeeded   Argo Workflows
``status.phase`` Failed or Error           Failed      Argo Workflows
anything else                              Running     until ``timeout``, then Unknown
the object is gone                         Unknown     deleted before it reported an outcome
=========================================  ==========  ==========================================
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pydantic.alias_generators import to_camel

from modelmonitor.api.retraining import RetrainSpec
from modelmonitor.controller.naming import GROUP, MONITOR_LABEL

RETRAINING_LABEL = f"{GROUP}/retraining"
TRIGGER_LABEL = f"{GROUP}/trigger"
TRIGGER_RUN_LABEL = f"{GROUP}/trigger-run"
CONTEXT_ANNOTATION = f"{GROUP}/retraining-context"
ENV_PREFIX = "MODELMONITOR_"

SUCCESS_CONDITIONS = ("Complete", "Completed", "Succeeded")


def retraining_name(monitor: str, uid: str, key: str) -> str:
    """``credit-risk-rt-1a2b3c4d5e``: one object per trigger (a run, a schedule slot, a request)."""
    digest = hashlib.sha256(f"{uid}/{key}".encode()).hexdigest()[:10]
    return f"{monitor}-rt-{digest}"


def guess_plural(kind: str) -> str:
    """The resource name of a kind, by the rule Kubernetes itself guesses with (and the admission policy uses).

    >>> [guess_plural(kind) for kind in ("Workflow", "PipelineRun", "Policy", "Ingress")]
    ['workflows', 'pipelineruns', 'policies', 'ingresses']
    """
    lower = kind.lower()
    if lower.endswith("s"):
        return lower + "es"
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    return lower + "s"


def group_of(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


@dataclass(frozen=True)
class TriggerContext:
    """What the training code is told about why it runs (env vars on Jobs, an annotation on any object)."""

    monitor: str
    namespace: str
    trigger: str  # breach | schedule | request
    reason: str
    message: str = ""
    run: str = ""
    drifted_features: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    window_start: str = ""
    window_end: str = ""
    model_name: str = ""
    model_version: str = ""
    retraining: str = ""  # the object's own name: a registry version tagged with it is what it trained
    tracking_uri: str = ""  # model.mlflow's: where the training registers the version it trains
    registered_model: str = ""

    def as_annotation(self) -> str:
        return json.dumps({to_camel(key): value for key, value in asdict(self).items()}, sort_keys=True)

    def as_env(self) -> list[dict[str, str]]:
        env = {
            "MONITOR": self.monitor,
            "NAMESPACE": self.namespace,
            "RUN": self.run,
            "TRIGGER": self.trigger,
            "REASON": self.reason,
            "MESSAGE": self.message,
            "DRIFTED_FEATURES": ",".join(self.drifted_features),
            "METRICS": json.dumps(self.metrics, sort_keys=True),
            "WINDOW_START": self.window_start,
            "WINDOW_END": self.window_end,
            "MODEL_NAME": self.model_name,
            "MODEL_VERSION": self.model_version,
            "RETRAINING": self.retraining,
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "MLFLOW_MODEL": self.registered_model,
            "CONTEXT": self.as_annotation(),
        }
        return [{"name": ENV_PREFIX + key, "value": value} for key, value in env.items()]

    def registry_env(self) -> list[dict[str, str]]:
        """MLflow's own variable, so the training's MLflow client reaches the monitor's registry unconfigured."""
        return [{"name": "MLFLOW_TRACKING_URI", "value": self.tracking_uri}] if self.tracking_uri else []


def context_from_summary(
    monitor: dict[str, Any], summary: dict[str, Any] | None, *, trigger: str, reason: str, message: str
) -> TriggerContext:
    """The context from a run's summary (``status.lastRun``, or the run being recorded)."""
    summary = summary or {}
    model = monitor["spec"]["model"]
    registry = model.get("mlflow") or {}
    return TriggerContext(
        monitor=monitor["metadata"]["name"],
        namespace=monitor["metadata"]["namespace"],
        trigger=trigger,
        reason=reason,
        message=message,
        run=summary.get("name") or "",
        drifted_features=list(summary.get("driftedFeatures") or []),
        metrics=dict(summary.get("metrics") or {}),
        window_start=summary.get("windowStart") or "",
        window_end=summary.get("windowEnd") or "",
        model_name=model.get("name", ""),
        # the version the run judged (a registry alias, as resolved for it), else the spec's
        model_version=str(summary.get("modelVersion") or model.get("version") or registry.get("version") or ""),
        tracking_uri=registry.get("trackingUri", ""),
        registered_model=registry.get("name", ""),
    )


def build_object(
    spec: RetrainSpec, *, name: str, namespace: str, context: TriggerContext, owner: dict[str, Any]
) -> dict[str, Any]:
    """The object to create: the template, named, owned, labelled, and carrying the context."""
    context = replace(context, retraining=name)
    if spec.job_template is not None:
        template = spec.job_template.model_dump(by_alias=True, exclude_none=True)
        manifest: dict[str, Any] = {"apiVersion": "batch/v1", "kind": "Job", **template}
        pod = manifest["spec"]["template"]
        pod["spec"].setdefault("restartPolicy", "Never")
        pod.setdefault("metadata", {}).setdefault("labels", {})[MONITOR_LABEL] = context.monitor
        ours = context.as_env()
        names = {variable["name"] for variable in ours}
        for container in pod["spec"]["containers"]:
            kept = [variable for variable in container.get("env") or [] if variable.get("name") not in names]
            given = {variable.get("name") for variable in kept}
            container["env"] = kept + ours + [v for v in context.registry_env() if v["name"] not in given]
    else:
        assert spec.resource_template is not None
        manifest = spec.resource_template.model_dump(by_alias=True, exclude_none=True)
    metadata = manifest.setdefault("metadata", {})
    metadata.update(name=name, namespace=namespace, ownerReferences=[owner])
    labels = metadata.setdefault("labels", {})
    labels.update(
        {
            MONITOR_LABEL: context.monitor,
            RETRAINING_LABEL: "true",
            TRIGGER_LABEL: context.trigger,
            **({TRIGGER_RUN_LABEL: context.run} if context.run else {}),
        }
    )
    metadata.setdefault("annotations", {})[CONTEXT_ANNOTATION] = context.as_annotation()
    return manifest


@dataclass(frozen=True)
class Outcome:
    state: str  # Running | Succeeded | Failed | Unknown
    reason: str = ""
    message: str = ""

    @property
    def finished(self) -> bool:
        return self.state != "Running"


GONE = Outcome("Unknown", "Deleted", "the object was deleted before it reported an outcome")


def read_outcome(obj: dict[str, Any] | None) -> Outcome:
    """How a retraining object ended, read from the object alone (see the table above)."""
    if obj is None:
        return GONE
    status = obj.get("status") or {}
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]

    def said(condition: dict[str, Any], default: str) -> str:
        return str(condition.get("message") or condition.get("reason") or default)

    for condition in conditions:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            return Outcome("Failed", str(condition.get("reason") or "Failed"), said(condition, "failed"))
        if condition.get("type") == "Succeeded" and condition.get("status") == "False":
            return Outcome("Failed", str(condition.get("reason") or "Failed"), said(condition, "failed"))
    for condition in conditions:
        if condition.get("type") in SUCCESS_CONDITIONS and condition.get("status") == "True":
            return Outcome("Succeeded", str(condition.get("reason") or condition["type"]), said(condition, "succeeded"))
    phase = status.get("phase")
    if phase == "Succeeded":
        return Outcome("Succeeded", "Succeeded", str(status.get("message") or "succeeded"))
    if phase in ("Failed", "Error"):
        return Outcome("Failed", str(phase), str(status.get("message") or f"phase {phase}"))
    return Outcome("Running")
