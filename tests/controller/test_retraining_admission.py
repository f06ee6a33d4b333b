"""The admission policy: a ModelMonitor may only template what its author could create themselves."""

from __future__ import annotations

import pytest
import yaml
from kubernetes import client

from tests.controller.conftest import kubectl, monitor_document
from tests.helpers import eventually

pytestmark = pytest.mark.cluster
JOB = {"spec": {"template": {"spec": {"containers": [{"name": "train", "image": "trainer:1"}]}}}}
WORKFLOW = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Workflow",
    "spec": {"entrypoint": "train", "templates": [{"name": "train", "container": {"image": "trainer:1"}}]},
}
DENIED = "denied request: spec.actions.retrain: {user} may not create {resource} in namespace {namespace}"


def grant(api_client, namespace: str, user: str, rules: list[dict]) -> None:
    rbac = client.RbacAuthorizationV1Api(api_client)
    metadata = {"name": user, "namespace": namespace}
    rbac.create_namespaced_role(namespace, {"metadata": metadata, "rules": rules})
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": metadata,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": user},
            "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )


MONITORS = {"apiGroups": ["modelmonitor.io"], "resources": ["modelmonitors"], "verbs": ["create", "get", "patch"]}


def apply_as(control_plane, kubeconfig, namespace: str, user: str, document: dict, *dry_run: str):
    return kubectl(
        control_plane,
        kubeconfig,
        "apply",
        "-n",
        namespace,
        f"--as={user}",
        *dry_run,
        "-f",
        "-",
        stdin=yaml.safe_dump(document),
    )


def refused_once_in_force(control_plane, kubeconfig, namespace: str, user: str, document: dict):
    """The refusal, once the API server has loaded the policy (a second or so after it is applied).

    The probe is a server-side dry run: admission runs, nothing is stored. A real apply
    admitted before the policy loaded would turn every retry into an update of an
    unchanged template, which the policy rightly admits.
    """

    def refused_dry_run() -> bool:
        return apply_as(control_plane, kubeconfig, namespace, user, document, "--dry-run=server").returncode != 0

    eventually(refused_dry_run, what="the admission policy in force")
    return apply_as(control_plane, kubeconfig, namespace, user, document)


def retraining_monitor(samples, name: str, **retrain) -> dict:
    return monitor_document(samples, name, suspend=True, actions={"retrain": retrain})


def test_a_job_template_needs_the_right_to_create_jobs(
    control_plane, kubeconfig, api_client, namespace, samples, admission_policy
) -> None:
    grant(
        api_client, namespace, "alice", [MONITORS, {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]}]
    )
    grant(api_client, namespace, "bob", [MONITORS])
    refused = refused_once_in_force(
        control_plane, kubeconfig, namespace, "bob", retraining_monitor(samples, "b", jobTemplate=JOB)
    )
    assert DENIED.format(user="bob", resource="jobs.batch", namespace=namespace) in refused.stderr
    admitted = apply_as(
        control_plane, kubeconfig, namespace, "alice", retraining_monitor(samples, "a", jobTemplate=JOB)
    )
    assert admitted.returncode == 0, admitted.stderr
    # bob may still change what the template does not say (it stays alice's template) ...
    unchanged = apply_as(
        control_plane, kubeconfig, namespace, "bob", retraining_monitor(samples, "a", jobTemplate=JOB, after=3)
    )
    assert unchanged.returncode == 0, unchanged.stderr
    # ... but not the template itself
    changed = dict(JOB, spec={"template": {"spec": {"containers": [{"name": "x", "image": "miner:1"}]}}})
    rewritten = apply_as(
        control_plane, kubeconfig, namespace, "bob", retraining_monitor(samples, "a", jobTemplate=changed)
    )
    assert DENIED.format(user="bob", resource="jobs.batch", namespace=namespace) in rewritten.stderr
    plain = apply_as(control_plane, kubeconfig, namespace, "bob", monitor_document(samples, "no-actions", suspend=True))
    assert plain.returncode == 0, plain.stderr


def test_a_workflow_template_needs_the_right_to_create_workflows(
    control_plane, kubeconfig, api_client, namespace, samples, admission_policy, pipeline_crds
) -> None:
    workflows = {"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["create"]}
    grant(api_client, namespace, "carol", [MONITORS, workflows])
    grant(
        api_client, namespace, "dave", [MONITORS, {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]}]
    )
    refused = refused_once_in_force(
        control_plane, kubeconfig, namespace, "dave", retraining_monitor(samples, "d", resourceTemplate=WORKFLOW)
    )
    assert DENIED.format(user="dave", resource="workflows.argoproj.io", namespace=namespace) in refused.stderr
    admitted = apply_as(
        control_plane, kubeconfig, namespace, "carol", retraining_monitor(samples, "c", resourceTemplate=WORKFLOW)
    )
    assert admitted.returncode == 0, admitted.stderr
