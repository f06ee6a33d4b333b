"""The Helm chart: the same CRDs, strict lint, hardened and least-privilege renders, its schema, install and upgrade."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "modelmonitor"
KUBE_VERSION = "1.36.3"


@pytest.fixture(scope="session")
def helm() -> Path:
    from modelmonitor.devcluster.assets import AssetError, ensure_helm

    try:
        return ensure_helm()
    except AssetError as error:
        if IN_CI:
            pytest.fail(f"helm cannot be found or built: {error}")
        pytest.skip(f"helm cannot be found or built: {error}")


def run_helm(helm: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm), *args], capture_output=True, text=True, env={**os.environ, **(env or {})})


def render(helm: Path, *sets: str) -> list[dict[str, Any]]:
    flags = [flag for value in sets for flag in ("--set", value)]
    result = run_helm(helm, "template", "mm", str(CHART), "-n", "mm-system", "--kube-version", KUBE_VERSION, *flags)
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def kinds(documents: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return sorted((d["kind"], d["metadata"].get("namespace")) for d in documents)


def test_the_chart_ships_exactly_the_crds_of_crds() -> None:
    shipped = {path.name: path.read_text() for path in (CHART / "crds").glob("*.yaml")}
    assert shipped == {path.name: path.read_text() for path in (ROOT / "crds").glob("*.yaml")}


@pytest.mark.parametrize("sets", [(), ("watchNamespaces={ml,ops}", "replicas=2", "runner.inlineMaxBytes=1024")])
def test_lint_is_strict_and_clean(helm: Path, sets: tuple[str, ...]) -> None:
    flags = [flag for value in sets for flag in ("--set", value)]
    result = run_helm(helm, "lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION, *flags)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_default_is_cluster_wide_and_hardened(helm: Path) -> None:
    documents = render(helm)
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"] and container["image"] == "ghcr.io/modelmonitor/modelmonitor:0.1.0"
    assert container["args"] == [
        "operator",
        "--all-namespaces",
        "--port=8080",
        "--peering=mm",
        "--runner-image=ghcr.io/modelmonitor/modelmonitor:0.1.0",
        "--inline-max-bytes=268435456",
    ]
    assert ("ClusterKopfPeering", None) in kinds(documents) and ("Service", "mm-system") in kinds(documents)


def test_watch_namespaces_get_roles_and_peering_there_only(helm: Path) -> None:
    documents = render(helm, "watchNamespaces={ml,ops}", "replicas=2")
    found = kinds(documents)
    for namespace in ("ml", "ops"):
        assert {("Role", namespace), ("RoleBinding", namespace), ("KopfPeering", namespace)} <= set(found)
    cluster_roles = [d for d in documents if d["kind"] == "ClusterRole"]
    assert [role["metadata"]["name"] for role in cluster_roles] == ["mm-operator-discovery"]
    assert cluster_roles[0]["rules"] == [
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["list", "watch"]}
    ]
    args = next(d for d in documents if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--namespace=ml" in args and "--namespace=ops" in args and "--all-namespaces" not in args


@pytest.mark.parametrize("sets", [(), ("watchNamespaces={ml}",)])
def test_no_rule_grants_a_wildcard(helm: Path, sets: tuple[str, ...]) -> None:
    for document in render(helm, *sets):
        for rule in document.get("rules", []):
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(field, []), (document["kind"], rule)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("replicas=zero", "at '/replicas': got string, want integer"),
        ("replicas=0", "at '/replicas': minimum: got 0, want 1"),
        ("colour=red", "additional properties 'colour' not allowed"),
        ("image.pullPolicy=Sometimes", "at '/image/pullPolicy'"),
        ("watchNamespaces={ML}", "at '/watchNamespaces/0'"),
    ],
)
def test_the_schema_refuses_a_bad_value_with_a_clear_message(helm: Path, value: str, message: str) -> None:
    result = run_helm(helm, "template", "mm", str(CHART), "--kube-version", KUBE_VERSION, "--set", value)
    assert result.returncode != 0 and message in result.stderr, result.stderr


@pytest.mark.cluster
def test_install_and_upgrade_on_the_dev_cluster_with_least_privilege(
    helm: Path, kubeconfig: Path, api_client, namespace: str, installed_crds
) -> None:
    from kubernetes import client

    release, system = f"mm{uuid.uuid4().hex[:6]}", f"mm-system-{uuid.uuid4().hex[:6]}"
    env = {"KUBECONFIG": str(kubeconfig)}
    installed = run_helm(
        helm,
        "install",
        release,
        str(CHART),
        "-n",
        system,
        "--create-namespace",
        "--set",
        f"watchNamespaces={{{namespace}}}",
        env=env,
    )
    assert installed.returncode == 0, installed.stderr
    assert f"kubectl -n {system} rollout status deployment/{release}-operator" in installed.stdout  # NOTES.txt
    try:
        apps = client.AppsV1Api(api_client)
        assert apps.read_namespaced_deployment(f"{release}-operator", system).spec.replicas == 1
        client.RbacAuthorizationV1Api(api_client).read_namespaced_role(f"{release}-operator", namespace)
        client.CustomObjectsApi(api_client).get_namespaced_custom_object(
            "kopf.dev", "v1", namespace, "kopfpeerings", release
        )

        def allowed(verb: str, resource: str, where: str, subresource: str = "") -> bool:
            plural, _, group = resource.partition(".")
            attributes = {
                "namespace": where,
                "verb": verb,
                "group": group,
                "resource": plural,
                "subresource": subresource,
            }
            review = client.AuthorizationV1Api(api_client).create_subject_access_review(
                {
                    "spec": {
                        "user": f"system:serviceaccount:{system}:{release}-operator",
                        "resourceAttributes": attributes,
                    }
                }
            )
            return bool(review.status.allowed)

        assert allowed("patch", "monitorruns.modelmonitor.io", namespace, "status")
        assert allowed("create", "jobs.batch", namespace)
        assert not allowed("create", "jobs.batch", "default")  # only in watched namespaces
        assert not allowed("get", "secrets", "default") and not allowed("list", "secrets", namespace)
        upgraded = run_helm(
            helm, "upgrade", release, str(CHART), "-n", system, "--reuse-values", "--set", "replicas=2", env=env
        )
        assert upgraded.returncode == 0, upgraded.stderr
        assert apps.read_namespaced_deployment(f"{release}-operator", system).spec.replicas == 2
    finally:
        run_helm(helm, "uninstall", release, "-n", system, env=env)
