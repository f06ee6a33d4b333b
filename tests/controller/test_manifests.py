"""The deployment manifests are accepted by the real API server."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers import eventually

pytestmark = pytest.mark.cluster
ROOT = Path(__file__).resolve().parents[2]


def test_rbac_and_deployment_apply(control_plane, kubeconfig, installed_crds) -> None:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    kubectl = str(control_plane.assets.kubectl)
    rbac = subprocess.run(
        [kubectl, "apply", "-f", str(ROOT / "manifests" / "rbac.yaml")], env=env, capture_output=True, text=True
    )
    assert rbac.returncode == 0, rbac.stderr
    deployment = subprocess.run(
        [kubectl, "apply", "--dry-run=server", "-f", str(ROOT / "manifests" / "operator.yaml")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert deployment.returncode == 0, deployment.stderr

    def can_i(*request: str) -> str:
        answer = subprocess.run(
            [
                kubectl,
                "auth",
                "can-i",
                *request,
                "-n",
                "default",
                "--as=system:serviceaccount:modelmonitor-system:modelmonitor-operator",
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        return answer.stdout.strip()

    assert can_i("patch", "monitorruns.modelmonitor.io", "--subresource=status") == "yes"
    assert can_i("delete", "secrets") == "no"


def test_retraining_and_router_permissions_are_opt_in_and_exact(
    control_plane, kubeconfig, api_client, installed_crds
) -> None:
    from kubernetes import client

    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    kubectl = str(control_plane.assets.kubectl)

    def allowed(verb: str, resource: str) -> bool:
        """A SubjectAccessReview: asks the authorizer itself, whether or not the kind is installed."""
        plural, _, group = resource.partition(".")
        review = client.AuthorizationV1Api(api_client).create_subject_access_review(
            {
                "spec": {
                    "user": "system:serviceaccount:modelmonitor-system:modelmonitor-operator",
                    "groups": ["system:serviceaccounts", "system:serviceaccounts:modelmonitor-system"],
                    "resourceAttributes": {"namespace": "ml", "verb": verb, "group": group, "resource": plural},
                }
            }
        )
        return bool(review.status.allowed)

    def apply(manifest: str) -> None:
        applied = subprocess.run(
            [kubectl, "apply", "-f", str(ROOT / "manifests" / manifest)], env=env, capture_output=True, text=True
        )
        assert applied.returncode == 0, applied.stderr

    apply("rbac.yaml")
    # the authorizer sees new bindings through an informer, a moment after they are applied
    eventually(lambda: allowed("create", "jobs.batch") and allowed("get", "jobs.batch"), what="rbac.yaml in force")
    assert not allowed("create", "workflows.argoproj.io")  # not without opting in
    apply("retraining-rbac.yaml")
    resources = ("workflows.argoproj.io", "pipelineruns.tekton.dev", "trainjobs.trainer.kubeflow.org")
    eventually(lambda: all(allowed("create", resource) for resource in resources), what="the opt-in in force")
    for resource in resources:
        assert allowed("get", resource) and not allowed("delete", resource) and not allowed("update", resource)
    assert not allowed("create", "cronworkflows.argoproj.io")
    assert allowed("patch", "httproutes.gateway.networking.k8s.io")  # rollouts' standard router, in rbac.yaml
    assert not allowed("patch", "virtualservices.networking.istio.io")
    apply("rollout-routers-rbac.yaml")
    routers = (
        "virtualservices.networking.istio.io",
        "inferenceservices.serving.kserve.io",
        "experiments.mlops.seldon.io",
    )
    eventually(lambda: all(allowed("patch", resource) for resource in routers), what="the router opt-in in force")
    for resource in routers:
        assert allowed("get", resource) and not allowed("create", resource) and not allowed("delete", resource)


def _kubectl(control_plane, kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return subprocess.run([str(control_plane.assets.kubectl), *args], env=env, capture_output=True, text=True)


def test_the_kustomize_base_builds_and_applies_server_side(control_plane, kubeconfig, installed_crds) -> None:
    assert {p.name: p.read_text() for p in (ROOT / "manifests" / "crds").glob("*.yaml")} == {
        p.name: p.read_text() for p in (ROOT / "crds").glob("*.yaml")
    }
    built = _kubectl(control_plane, kubeconfig, "kustomize", str(ROOT / "manifests"))
    assert built.returncode == 0, built.stderr
    kinds = sorted(document["kind"] for document in yaml.safe_load_all(built.stdout) if document)
    assert (
        kinds.count("CustomResourceDefinition") == 5 and "Deployment" in kinds and "ValidatingAdmissionPolicy" in kinds
    )
    _kubectl(control_plane, kubeconfig, "create", "namespace", "modelmonitor-system")  # dry runs create nothing
    applied = _kubectl(control_plane, kubeconfig, "apply", "-k", str(ROOT / "manifests"), "--dry-run=server")
    assert applied.returncode == 0, applied.stderr
    assert (
        "deployment.apps/modelmonitor-operator serverside-applied" in applied.stdout
        or "(server dry run)" in applied.stdout
    )


def test_the_collector_is_an_optional_component_of_the_base(
    control_plane, kubeconfig, installed_crds, tmp_path: Path
) -> None:
    """An overlay that adds it builds the base and the collector, and the API server takes them."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(ROOT / "manifests", overlay)],
                "components": [os.path.relpath(ROOT / "manifests" / "collector", overlay)],
            }
        )
    )
    built = _kubectl(control_plane, kubeconfig, "kustomize", str(overlay))
    assert built.returncode == 0, built.stderr
    documents = [d for d in yaml.safe_load_all(built.stdout) if d]
    statefulset = next(d for d in documents if d["kind"] == "StatefulSet")
    assert statefulset["metadata"]["labels"]["app.kubernetes.io/component"] == "collector"
    assert "--sink=s3://model-logs/kserve" in statefulset["spec"]["template"]["spec"]["containers"][0]["args"]
    base = _kubectl(control_plane, kubeconfig, "kustomize", str(ROOT / "manifests"))
    assert "StatefulSet" not in base.stdout  # optional: the base alone has no collector
    _kubectl(control_plane, kubeconfig, "create", "namespace", "modelmonitor-system")
    applied = _kubectl(control_plane, kubeconfig, "apply", "-k", str(overlay), "--dry-run=server")
    assert applied.returncode == 0, applied.stderr
    assert "statefulset.apps/modelmonitor-collector" in applied.stdout


@pytest.mark.parametrize(
    "sample", sorted((ROOT / "manifests" / "samples").glob("*-monitor.yaml")), ids=lambda p: p.stem
)
def test_the_sample_monitors_are_accepted_by_the_api_server_and_the_operator(
    control_plane, kubeconfig, installed_crds, sample: Path
) -> None:
    from modelmonitor.api.parsing import parse_spec

    document = yaml.safe_load(sample.read_text())
    _kubectl(control_plane, kubeconfig, "create", "namespace", document["metadata"]["namespace"])
    applied = _kubectl(control_plane, kubeconfig, "apply", "--dry-run=server", "-o", "json", "-f", str(sample))
    assert applied.returncode == 0, applied.stderr
    parse_spec(document["spec"])
    assert json.loads(applied.stdout)["spec"] == json.loads(json.dumps(document["spec"], default=str))  # none pruned
