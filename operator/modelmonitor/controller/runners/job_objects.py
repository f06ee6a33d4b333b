"""The run Job's manifest, and a strict reading of how a Job and its Pod ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.controller.naming import MONITOR_LABEL, RUN_LABEL

# Hardened by default, as the operator's own pod: a check reads data and writes only /tmp.
CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "seccompProfile": {"type": "RuntimeDefault"},
}
IMAGE_PULL_FAILURES = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"})
CONFIG_FAILURES = frozenset({"CreateContainerConfigError", "CreateContainerError"})
RUN_POD_ATTEMPTS = 3


def job_manifest(
    *,
    run: str,
    monitor: str,
    namespace: str,
    spec: ModelMonitorSpec,
    image: str,
    command: list[str],
    service_account: str,
) -> dict[str, Any]:
    template = spec.job_template
    container: dict[str, Any] = {
        "name": "check",
        "image": image,
        "command": [*command, "run", "--namespace", namespace, "--name", run],
        "securityContext": dict(CONTAINER_SECURITY),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if spec.credentials is not None:
        container["envFrom"] = [{"secretRef": {"name": spec.credentials.secret_ref.name}}]
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "serviceAccountName": service_account,
        "securityContext": dict(POD_SECURITY),
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    deadline = 3600
    if template is not None:
        deadline = template.active_deadline_seconds
        if template.resources is not None:
            container["resources"] = template.resources.model_dump(exclude_none=True)
        if template.node_selector:
            pod["nodeSelector"] = dict(template.node_selector)
        if template.tolerations:
            pod["tolerations"] = list(template.tolerations)
        if template.image_pull_secrets:
            pod["imagePullSecrets"] = [{"name": secret.name} for secret in template.image_pull_secrets]
        if template.service_account_name:
            pod["serviceAccountName"] = template.service_account_name
        if template.security_context is not None:
            container["securityContext"] = dict(template.security_context)
        if template.pod_security_context is not None:
            pod["securityContext"] = dict(template.pod_security_context)
    labels = {MONITOR_LABEL: monitor, RUN_LABEL: run}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": run, "namespace": namespace, "labels": labels},
        "spec": {
            # a Pod lost before it finished (deleted, evicted, its node gone) is replaced, twice at most;
            # the runner's exit code 2 means it wrote an Error status itself: nothing to try again
            "backoffLimit": RUN_POD_ATTEMPTS - 1,
            "podFailurePolicy": {
                "rules": [
                    {"action": "FailJob", "onExitCodes": {"containerName": "check", "operator": "In", "values": [2]}},
                    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
                ]
            },
            "activeDeadlineSeconds": deadline,
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


@dataclass(frozen=True)
class JobOutcome:
    finished: bool
    succeeded: bool = False
    reason: str = ""
    message: str = ""


def judge_pod(pod: dict[str, Any]) -> JobOutcome:
    """A Pod that can never succeed (image pull, bad config, OOM kill) ends the run now."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        state = status.get("state") or {}
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in IMAGE_PULL_FAILURES | CONFIG_FAILURES:
            return JobOutcome(
                True, False, waiting["reason"], f"container {status['name']}: {waiting.get('message', '')}".strip()
            )
        terminated = state.get("terminated") or {}
        if terminated.get("reason") == "OOMKilled":
            return JobOutcome(
                True, False, "OOMKilled", f"container {status['name']} was killed for using too much memory"
            )
    return JobOutcome(False)


def judge_job(job: dict[str, Any], pods: list[dict[str, Any]]) -> JobOutcome:
    """Complete only with a Complete condition; Failed with the reason and the container's exit."""
    conditions = {c["type"]: c for c in (job.get("status") or {}).get("conditions") or [] if c.get("status") == "True"}
    if "Complete" in conditions:
        return JobOutcome(True, True, "Completed")
    failed = conditions.get("Failed")
    if failed is None:
        for pod in pods:
            if (verdict := judge_pod(pod)).finished:
                return verdict
        return JobOutcome(False)
    details = []
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated = (status.get("state") or {}).get("terminated") or {}
            if terminated:
                details.append(f"exit code {terminated.get('exitCode')} ({terminated.get('reason', 'Error')})")
            if (verdict := judge_pod(pod)).finished:
                return JobOutcome(True, False, verdict.reason, verdict.message)
    message = failed.get("message") or "the Job failed"
    if details:
        message += "; container " + ", ".join(details)
    return JobOutcome(True, False, failed.get("reason") or "JobFailed", message)
