"""The Helm chart: the same CRDs, strict lint, hardened and least-privilege renders, its schema, install and upgrade."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelmonitor.observability.alerts import ALERTS, JOB
from tests.controller.conftest import CHART, KUBE_VERSION, ROOT, kubectl, render, run_helm


def kinds(documents: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return sorted((d["kind"], d["metadata"].get("namespace")) for d in documents)


def test_the_chart_ships_exactly_the_crds_of_crds() -> None:
    shipped = {path.name: path.read_text() for path in (CHART / "crds").glob("*.yaml")}
    assert shipped == {path.name: path.read_text() for path in (ROOT / "crds").glob("*.yaml")}


ALL_TOGGLES = (
    "serviceMonitor.enabled=true",
    "prometheusRule.enabled=true",
    "grafanaDashboard.enabled=true",
    "webView.ingress.enabled=true",
)
NON_DEFAULT = (
    "collector.enabled=true",
    "collector.sink=s3://model-logs/kserve",
    "watchNamespaces={ml,ops}",
    "rolloutRouters={istio,kserve,seldon}",
    "replicas=2",
    "runner.inlineMaxBytes=1024",
    "runner.daskScheduler=tcp://analytics-scheduler.ml.svc:8786",
    *ALL_TOGGLES,
)


@pytest.mark.parametrize("sets", [(), NON_DEFAULT, ("admissionPolicy.enabled=false",)])
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


def test_the_dask_scheduler_value_becomes_the_operators_flag_and_a_bad_one_is_refused(helm: Path) -> None:
    documents = render(helm, "runner.daskScheduler=tcp://analytics-scheduler.ml.svc:8786")
    args = next(d for d in documents if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[-1] == "--dask-scheduler=tcp://analytics-scheduler.ml.svc:8786"
    result = run_helm(helm, "template", "mm", str(CHART), "--set", "runner.daskScheduler=analytics:8786")
    assert result.returncode != 0 and "/runner/daskScheduler" in result.stderr


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


def test_sharded_replicas_take_no_peering_and_may_hold_their_leases(helm: Path) -> None:
    documents = render(helm, "sharded=true", "replicas=3")
    container = next(d for d in documents if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert "--sharded" in container["args"] and not any(arg.startswith("--peering") for arg in container["args"])
    assert {variable["name"] for variable in container["env"]} == {"POD_NAME", "POD_NAMESPACE"}
    assert not any(d["kind"].endswith("KopfPeering") for d in documents)
    role = next(d for d in documents if d["kind"] == "Role" and d["metadata"]["name"].endswith("-shards"))
    assert role["metadata"]["namespace"] == "mm-system"
    assert role["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "list", "create", "update", "delete"],
        }
    ]


@pytest.mark.parametrize("sets", [(), ("watchNamespaces={ml}",)])
def test_no_rule_grants_a_wildcard(helm: Path, sets: tuple[str, ...]) -> None:
    for document in render(helm, *sets):
        for rule in document.get("rules", []):
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(field, []), (document["kind"], rule)


def test_each_opted_in_router_may_get_and_patch_its_one_kind_as_its_module_and_the_manifest_say(helm: Path) -> None:
    """The chart's router rules, manifests/rollout-routers-rbac.yaml and the router modules name the same objects."""
    import importlib

    def router_rules(documents: list[dict[str, Any]]) -> set[tuple[str, str, tuple[str, ...]]]:
        return {
            (group, resource, tuple(rule["verbs"]))
            for document in documents
            if document["kind"] in ("ClusterRole", "Role")
            for rule in document.get("rules", [])
            for group in rule["apiGroups"]
            for resource in rule["resources"]
            if group in {"networking.istio.io", "serving.kserve.io", "mlops.seldon.io"}
        }

    routers = ("istio", "kserve", "seldon")
    modules = {
        (module.GROUP, module.PLURAL, ("get", "patch"))
        for module in (importlib.import_module(f"modelmonitor.controller.rollouts.routers.{name}") for name in routers)
    }
    assert not router_rules(render(helm))  # opt-in: none by default
    assert router_rules(render(helm, f"rolloutRouters={{{','.join(routers)}}}")) == modules
    seldon = {("mlops.seldon.io", "experiments", ("get", "patch"))}
    assert router_rules(render(helm, "rolloutRouters={seldon}")) == seldon
    manifest = yaml.safe_load_all((ROOT / "manifests" / "rollout-routers-rbac.yaml").read_text())
    assert router_rules([document for document in manifest if document]) == modules


def test_the_toggles_are_off_by_default_and_the_admission_policy_on(helm: Path) -> None:
    found = {kind for kind, _ in kinds(render(helm))}
    assert not found & {"ServiceMonitor", "PrometheusRule", "ConfigMap", "Ingress"}
    assert {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} <= found
    assert not {kind for kind, _ in kinds(render(helm, "admissionPolicy.enabled=false"))} & {
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    }


def test_the_prometheus_rule_ships_the_generated_rules_with_the_values_overrides(helm: Path) -> None:
    generated = yaml.safe_load((CHART / "files" / "alerts.yaml").read_text())
    assert generated == yaml.safe_load((ROOT / "manifests" / "prometheus" / "modelmonitor-rules.yaml").read_text())
    default = next(d for d in render(helm, "prometheusRule.enabled=true") if d["kind"] == "PrometheusRule")
    assert default["spec"] == generated
    tuned = next(
        d
        for d in render(
            helm,
            "prometheusRule.enabled=true",
            "prometheusRule.additionalLabels.release=kube-prometheus-stack",
            "prometheusRule.ruleLabels.team=ml-platform",
            "prometheusRule.for.ModelMonitorMetricBreached=30m",
            "prometheusRule.disabled={ModelMonitorConceptDrift}",
            "prometheusRule.runbookBaseUrl=https://wiki.example.com/ml/alerts",
        )
        if d["kind"] == "PrometheusRule"
    )
    assert tuned["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    rules = {rule["alert"]: rule for rule in tuned["spec"]["groups"][0]["rules"]}
    assert set(rules) == {alert.name for alert in ALERTS} - {"ModelMonitorConceptDrift"}
    assert rules["ModelMonitorMetricBreached"]["for"] == "30m" and rules["ModelMonitorDatasetDrift"]["for"] == "15m"
    assert rules["ModelMonitorStale"]["labels"] == {"severity": "warning", "team": "ml-platform"}
    assert (
        rules["ModelMonitorStale"]["annotations"]["runbook_url"]
        == "https://wiki.example.com/ml/alerts#modelmonitorstale"
    )


def test_the_schema_knows_exactly_the_alerts(helm: Path) -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())["properties"]["prometheusRule"]["properties"]
    names = [alert.name for alert in ALERTS]
    assert schema["for"]["propertyNames"]["enum"] == names and schema["disabled"]["items"]["enum"] == names


def test_the_dashboard_config_map_carries_the_generated_dashboard_for_the_sidecar(helm: Path) -> None:
    shipped = (CHART / "files" / "dashboard.json").read_text()
    assert shipped == (ROOT / "manifests" / "grafana" / "modelmonitor-dashboard.json").read_text()
    config_map = next(
        d
        for d in render(
            helm,
            "grafanaDashboard.enabled=true",
            "grafanaDashboard.namespace=grafana",
            "grafanaDashboard.annotations.grafana_folder=ML",
        )
        if d["kind"] == "ConfigMap"
    )
    assert config_map["metadata"]["namespace"] == "grafana"
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "ML"}
    assert json.loads(config_map["data"]["modelmonitor.json"]) == json.loads(shipped)


def test_the_service_monitor_scrapes_the_metrics_service_as_job_modelmonitor(helm: Path) -> None:
    documents = render(helm, "serviceMonitor.enabled=true", "serviceMonitor.additionalLabels.release=prom")
    monitor = next(d for d in documents if d["kind"] == "ServiceMonitor")
    service = next(d for d in documents if d["kind"] == "Service")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == JOB
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]


def test_the_web_view_ingress_routes_only_the_web_views_paths_to_the_service(helm: Path) -> None:
    documents = render(
        helm,
        "webView.ingress.enabled=true",
        "webView.ingress.host=monitors.example.com",
        "webView.ingress.className=nginx",
        "webView.ingress.tlsSecretName=monitors-tls",
        "webView.ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/auth-url=https://auth.example.com",
    )
    ingress = next(d for d in documents if d["kind"] == "Ingress")
    service = next(d for d in documents if d["kind"] == "Service")
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "monitors.example.com" and ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"secretName": "monitors-tls", "hosts": ["monitors.example.com"]}]
    assert ingress["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/auth-url": "https://auth.example.com"}
    paths = {(p["path"], p["pathType"]) for p in rule["http"]["paths"]}
    assert paths == {("/", "Exact"), ("/monitors/", "Prefix"), ("/api/monitors", "Prefix")}  # never /metrics
    for path in rule["http"]["paths"]:
        assert path["backend"]["service"] == {"name": service["metadata"]["name"], "port": {"name": "http"}}


def test_the_collector_is_one_hardened_pod_with_its_log_on_a_volume_and_its_keys_from_a_secret(helm: Path) -> None:
    assert not [d for d in render(helm) if "collector" in d["metadata"]["name"]]  # off by default
    documents = render(
        helm,
        "collector.enabled=true",
        "collector.sink=s3://model-logs/kserve",
        "collector.credentialsSecret=collector-s3",
        "collector.versionHeader=x-model-version",
    )
    statefulset = next(d for d in documents if d["kind"] == "StatefulSet")
    service = next(d for d in documents if d["kind"] == "Service" and d["metadata"]["name"] == "mm-collector")
    pod = statefulset["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert statefulset["spec"]["replicas"] == 1 and pod["automountServiceAccountToken"] is False
    assert container["args"] == [
        "collector",
        "--listen=0.0.0.0:8080",
        "--sink=s3://model-logs/kserve",
        "--wal=/var/lib/collector",
        "--flush-rows=50000",
        "--flush-seconds=10",
        "--pair-timeout=60",
        "--request-id-header=x-request-id",
        "--version-header=x-model-version",
    ]
    assert container["envFrom"] == [{"secretRef": {"name": "collector-s3"}}]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    [claim] = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "wal" and claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert {"name": "wal", "mountPath": "/var/lib/collector"} in container["volumeMounts"]
    assert service["spec"]["selector"] == statefulset["spec"]["selector"]["matchLabels"]
    without_sink = run_helm(helm, "template", "mm", str(CHART), "--set", "collector.enabled=true")
    assert without_sink.returncode != 0 and "sink" in without_sink.stderr
    bad = run_helm(helm, "template", "mm", str(CHART), "--set", "collector.sink=model-logs")
    assert bad.returncode != 0 and "/collector/sink" in bad.stderr


def test_the_admission_policy_is_the_one_of_manifests_named_after_the_release(helm: Path) -> None:
    manifest = (ROOT / "manifests" / "retraining-admission.yaml").read_text()
    assert (CHART / "files" / "retraining-admission.yaml").read_text() == manifest
    expected = {d["kind"]: d for d in yaml.safe_load_all(manifest)}
    rendered = {d["kind"]: d for d in render(helm) if d["kind"].startswith("ValidatingAdmissionPolicy")}
    assert rendered["ValidatingAdmissionPolicy"]["spec"] == expected["ValidatingAdmissionPolicy"]["spec"]
    binding = rendered["ValidatingAdmissionPolicyBinding"]
    assert binding["spec"] == {
        **expected["ValidatingAdmissionPolicyBinding"]["spec"],
        "policyName": binding["metadata"]["name"],
    }
    assert binding["metadata"]["name"] == "mm-operator-retraining-templates"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("replicas=zero", "at '/replicas': got string, want integer"),
        ("replicas=0", "at '/replicas': minimum: got 0, want 1"),
        ("colour=red", "additional properties 'colour' not allowed"),
        ("image.pullPolicy=Sometimes", "at '/image/pullPolicy'"),
        ("watchNamespaces={ML}", "at '/watchNamespaces/0'"),
        ("prometheusRule.for.ModelMonitorStale=soon", "at '/prometheusRule/for/ModelMonitorStale'"),
        ("prometheusRule.disabled={NoSuchAlert}", "at '/prometheusRule/disabled/0'"),
        ("serviceMonitor.enabled=yes", "at '/serviceMonitor/enabled': got string, want boolean"),
    ],
)
def test_the_schema_refuses_a_bad_value_with_a_clear_message(helm: Path, value: str, message: str) -> None:
    result = run_helm(helm, "template", "mm", str(CHART), "--kube-version", KUBE_VERSION, "--set", value)
    assert result.returncode != 0 and message in result.stderr, result.stderr


@pytest.mark.cluster
def test_install_and_upgrade_on_the_dev_cluster_with_least_privilege(
    helm: Path, control_plane, kubeconfig: Path, api_client, namespace: str, installed_crds, monitoring_crds
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
        *[flag for toggle in ALL_TOGGLES for flag in ("--set", toggle)],
        env=env,
    )
    assert installed.returncode == 0, installed.stderr
    assert f"kubectl -n {system} rollout status deployment/{release}-operator" in installed.stdout  # NOTES.txt
    try:
        apps = client.AppsV1Api(api_client)
        assert apps.read_namespaced_deployment(f"{release}-operator", system).spec.replicas == 1
        client.RbacAuthorizationV1Api(api_client).read_namespaced_role(f"{release}-operator", namespace)
        custom = client.CustomObjectsApi(api_client)
        custom.get_namespaced_custom_object("kopf.dev", "v1", namespace, "kopfpeerings", release)
        name = f"{release}-operator"
        custom.get_namespaced_custom_object("monitoring.coreos.com", "v1", system, "servicemonitors", name)
        rule = custom.get_namespaced_custom_object("monitoring.coreos.com", "v1", system, "prometheusrules", name)
        assert len(rule["spec"]["groups"][0]["rules"]) == len(ALERTS)
        client.CoreV1Api(api_client).read_namespaced_config_map(f"{name}-dashboard", system)
        client.AdmissionregistrationV1Api(api_client).read_validating_admission_policy(f"{name}-retraining-templates")

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

        def can_i(*request: str) -> str:  # kubectl's own answer, for the built-in kinds it can resolve
            account = f"--as=system:serviceaccount:{system}:{release}-operator"
            return kubectl(control_plane, kubeconfig, "auth", "can-i", *request, account).stdout.strip()

        assert can_i("create", "jobs", "-n", namespace) == "yes" and can_i("create", "jobs", "-n", "default") == "no"
        assert can_i("get", "secrets", "-n", "default") == "no" and can_i("delete", "pods", "-n", namespace) == "no"
        upgraded = run_helm(
            helm, "upgrade", release, str(CHART), "-n", system, "--reuse-values", "--set", "replicas=2", env=env
        )
        assert upgraded.returncode == 0, upgraded.stderr
        assert apps.read_namespaced_deployment(f"{release}-operator", system).spec.replicas == 2
    finally:
        run_helm(helm, "uninstall", release, "-n", system, env=env)


@pytest.mark.cluster
def test_the_non_default_render_applies_server_side(
    helm: Path, control_plane, kubeconfig: Path, namespace: str, installed_crds, monitoring_crds
) -> None:
    """Namespaced RBAC, every toggle and two replicas: accepted by the API server, objects and CRDs alike."""
    release, system = f"mm{uuid.uuid4().hex[:6]}", f"mm-system-{uuid.uuid4().hex[:6]}"
    sets = [f"watchNamespaces={{{namespace}}}", "replicas=2", *ALL_TOGGLES]
    rendered = run_helm(
        helm,
        "template",
        release,
        str(CHART),
        "-n",
        system,
        "--kube-version",
        KUBE_VERSION,
        *[flag for value in sets for flag in ("--set", value)],
    )
    assert rendered.returncode == 0, rendered.stderr
    created = kubectl(control_plane, kubeconfig, "create", "namespace", system)
    assert created.returncode == 0, created.stderr
    try:
        applied = kubectl(
            control_plane,
            kubeconfig,
            "apply",
            "--server-side",
            "--field-manager=helm-test",
            "-f",
            "-",
            stdin=rendered.stdout,
        )
        assert applied.returncode == 0, applied.stderr
        for kind in ("servicemonitor", "prometheusrule", "validatingadmissionpolicy", "kopfpeering", "role", "ingress"):
            assert f"{kind}." in applied.stdout, applied.stdout
    finally:
        kubectl(control_plane, kubeconfig, "delete", "--wait=false", "-f", "-", stdin=rendered.stdout)
        kubectl(control_plane, kubeconfig, "delete", "namespace", system, "--wait=false")


def _leaves(schema: dict[str, Any], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for name, child in schema["properties"].items():
        path = f"{prefix}{name}"
        found |= _leaves(child, path + ".") if "properties" in child else {path}
    return found


def test_the_chart_readme_lists_exactly_the_values() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    listed = set(re.findall(r"^\| `([\w.]+)` \|", (CHART / "README.md").read_text(), re.MULTILINE))
    assert listed == _leaves(schema)
    assert set(yaml.safe_load((CHART / "values.yaml").read_text())) == set(schema["properties"])
