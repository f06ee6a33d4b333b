"""An operator process per test, against the session's dev cluster."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from modelmonitor_tools.devcluster.processes import free_port, stop_pid
from modelmonitor_tools.samples import write_samples
from tests.conftest import IN_CI
from tests.helpers import eventually

ROOT = Path(__file__).resolve().parents[2]
GROUP, VERSION = "modelmonitor.io", "v1alpha1"


@pytest.fixture(scope="session")
def installed_crds(control_plane, kubeconfig: Path) -> None:
    control_plane.install_crds(ROOT / "crds")


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("samples")
    write_samples(directory, now=datetime.now(UTC))
    return directory


class Operator:
    def __init__(
        self,
        kubeconfig: Path,
        namespace: str,
        log: Path,
        extra: list[str],
        standalone: bool,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.log = log
        self.argv = [
            sys.executable,
            "-m",
            "modelmonitor",
            "operator",
            "-n",
            namespace,
            "--port",
            str(self.port),
            *(["--standalone"] if standalone else []),
            "--runner-command",
            f"{sys.executable} -m modelmonitor",
            *extra,
        ]
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig), "MODELMONITOR_TICK_SECONDS": "1", **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Operator:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(self.argv, env=self.env, stdout=output, stderr=subprocess.STDOUT)
        eventually(self._ready, timeout=60, interval=0.2, what="the operator's /readyz")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the operator exited {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def metrics(self) -> str:
        return self.page("/metrics")

    def page(self, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
            return response.read().decode()

    def kill(self) -> None:
        """A crash: SIGKILL, no clean shutdown."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop_pid(self.process.pid, timeout=15)
            self.process.wait(10)


@pytest.fixture
def start_operator(
    kubeconfig: Path, namespace: str, installed_crds: None, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Operator]]:
    started: list[Operator] = []

    def start(*extra: str, standalone: bool = True, env: dict[str, str] | None = None) -> Operator:
        log = tmp_path / f"operator-{len(started)}.log"
        operator = Operator(kubeconfig, namespace, log, list(extra), standalone, env)
        started.append(operator)
        return operator.start()

    yield start
    for operator in started:
        operator.stop()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for operator in started:
            print(f"--- {operator.log} ---\n{operator.log.read_text()[-6000:]}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def monitor_document(samples: Path, name: str, which: str = "healthy", **spec: Any) -> dict[str, Any]:
    document = copy.deepcopy(yaml.safe_load((samples / f"{which}-monitor.yaml").read_text()))
    document["metadata"] = {"name": name}
    # slots a year apart: a test that counts runs must not meet a scheduled one
    document["spec"]["schedule"] = {"interval": "8760h"}
    document["spec"].update(spec)
    return document


LIFTED_RULE = "baseline previousWindow needs data.current.window"


def create_admitted_before_its_rule(custom: client.CustomObjectsApi, namespace: str, samples: Path, name: str) -> None:
    """Create a monitor the operator refuses and the CRD now refuses too, as one admitted before an upgrade.

    The CRD and the spec model agree on every rule (test_generated_specs.py), so a spec
    the operator refuses is one stored before its CRD had the rule: created here while
    the ModelMonitor CRD is without that one rule (a conceptDrift baseline of
    previousWindow without a current window), which is then put back.
    """
    drift = [{"method": "performanceWindow", "baseline": "previousWindow"}]
    document = monitor_document(samples, name, conceptDrift=drift)
    del document["spec"]["data"]["current"]["window"]
    extensions = client.ApiextensionsV1Api(custom.api_client)
    crd_name = f"modelmonitors.{GROUP}"

    def read() -> dict[str, Any]:
        return json.loads(extensions.read_custom_resource_definition(crd_name, _preload_content=False).data)

    probe = {**document, "metadata": {"name": f"{name}-probe"}}  # not the monitor's name: that one exists later

    def admits() -> bool:
        try:
            custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", probe, dry_run="All")
        except client.ApiException as error:
            assert LIFTED_RULE in error.body, error.body
            return False
        return True

    current = read()
    older = copy.deepcopy(current)
    rules = older["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"]
    rules[:] = [rule for rule in rules if rule["message"] != LIFTED_RULE]
    extensions.replace_custom_resource_definition(crd_name, older)
    try:
        eventually(admits, what="the CRD without the rule")
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)
    finally:
        current["metadata"]["resourceVersion"] = read()["metadata"]["resourceVersion"]
        extensions.replace_custom_resource_definition(crd_name, current)
        eventually(lambda: not admits(), what="the CRD with its rule again")


@pytest.fixture
def custom(api_client) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


def get_monitor(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    return custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", name)


def list_runs(custom: client.CustomObjectsApi, namespace: str) -> list[dict[str, Any]]:
    return custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "monitorruns")["items"]


def condition(monitor: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in (monitor.get("status") or {}).get("conditions", []) if c["type"] == kind), None)


def kubectl(control_plane, kubeconfig: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(control_plane.assets.kubectl), *args],
        input=stdin,
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
    )


def install_crds(control_plane, kubeconfig: Path, directory: Path, *crds: str) -> None:
    """Apply third-party CRDs (server-side: some are too big for client-side apply) and wait until they serve."""
    applied = kubectl(control_plane, kubeconfig, "apply", "--server-side", "-f", str(directory))
    assert applied.returncode == 0, applied.stderr
    names = [f"crd/{crd}" for crd in crds]
    # a CRD applied a moment ago may have no conditions yet, which kubectl wait calls an error
    eventually(
        lambda: kubectl(control_plane, kubeconfig, "wait", "--for=condition=Established", *names).returncode == 0,
        what=f"{', '.join(crds)} Established",
    )


@pytest.fixture(scope="session")
def pipeline_crds(control_plane, kubeconfig: Path) -> None:
    """Argo Workflows' Workflow and Tekton's PipelineRun CRDs, from their published Go modules."""
    from modelmonitor_tools.devcluster.crds import ensure_pipeline_crds

    install_crds(control_plane, kubeconfig, ensure_pipeline_crds(), "workflows.argoproj.io", "pipelineruns.tekton.dev")


@pytest.fixture(scope="session")
def admission_policy(control_plane, kubeconfig: Path, installed_crds: None) -> None:
    applied = kubectl(control_plane, kubeconfig, "apply", "-f", str(ROOT / "manifests" / "retraining-admission.yaml"))
    assert applied.returncode == 0, applied.stderr


@pytest.fixture(scope="session")
def gateway_api_crds(control_plane, kubeconfig: Path) -> None:
    """The Gateway API standard CRDs, from the gateway-api Go module."""
    from modelmonitor_tools.devcluster.crds import ensure_gateway_api_crds

    install_crds(control_plane, kubeconfig, ensure_gateway_api_crds(), "httproutes.gateway.networking.k8s.io")


@pytest.fixture(scope="session")
def router_crds(control_plane, kubeconfig: Path) -> None:
    """Istio's CRDs and KServe's InferenceService CRD, from their published Go modules, and Seldon Core v2's
    Experiment CRD, written from its documented API (no artefact here carries it)."""
    from modelmonitor_tools.devcluster.crds import ensure_router_crds
    from modelmonitor_tools.devcluster.seldon_crd import ensure_seldon_crds

    crds = ("virtualservices.networking.istio.io", "inferenceservices.serving.kserve.io")
    install_crds(control_plane, kubeconfig, ensure_router_crds(), *crds)
    install_crds(control_plane, kubeconfig, ensure_seldon_crds(), "experiments.mlops.seldon.io")


@pytest.fixture(scope="session")
def dask_crds(control_plane, kubeconfig: Path) -> None:
    """The dask-kubernetes operator's CRDs (DaskCluster among them), from its published PyPI package."""
    from modelmonitor_tools.devcluster.crds import ensure_dask_crds

    install_crds(control_plane, kubeconfig, ensure_dask_crds(), "daskclusters.kubernetes.dask.org")


CHART = ROOT / "helm" / "modelmonitor"
KUBE_VERSION = "1.36.3"


@pytest.fixture(scope="session")
def helm() -> Path:
    from modelmonitor_tools.devcluster.assets import AssetError, ensure_helm

    try:
        return ensure_helm()
    except AssetError as error:
        if IN_CI:
            pytest.fail(f"helm cannot be found or built: {error}")
        pytest.skip(f"helm cannot be found or built: {error}")


def run_helm(helm: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm), *args], capture_output=True, text=True, env={**os.environ, **(env or {})})


def render(helm: Path, *sets: str, values: Path | None = None) -> list[dict[str, Any]]:
    """``helm template`` of the chart as release mm in mm-system, with ``--set`` and a values file."""
    flags = [flag for value in sets for flag in ("--set", value)] + (["--values", str(values)] if values else [])
    result = run_helm(helm, "template", "mm", str(CHART), "-n", "mm-system", "--kube-version", KUBE_VERSION, *flags)
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


@pytest.fixture(scope="session")
def monitoring_crds(control_plane, kubeconfig: Path) -> None:
    """The Prometheus Operator's ServiceMonitor and PrometheusRule CRDs, from its published Go module."""
    from modelmonitor_tools.devcluster.crds import ensure_monitoring_crds

    crds = ("servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com")
    install_crds(control_plane, kubeconfig, ensure_monitoring_crds(), *crds)
