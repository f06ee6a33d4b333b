"""The other tools the control-plane build provides: helm, the Gateway API CRDs and promtool."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from modelmonitor_tools.devcluster.assets import HELM_VERSION, ensure_helm
from modelmonitor_tools.devcluster.crds import GATEWAY_API_VERSION, ensure_gateway_api_crds
from tests.conftest import PROMTOOL_HINT, require_tool

pytestmark = pytest.mark.cluster


def test_helm_reports_its_version() -> None:
    helm = ensure_helm()
    result = subprocess.run([str(helm), "version", "--template", "{{.Version}}"], capture_output=True, text=True)
    assert result.stdout.strip() == HELM_VERSION


def test_gateway_api_crds_install_on_the_dev_cluster(control_plane, kubeconfig) -> None:
    crds = ensure_gateway_api_crds()
    assert GATEWAY_API_VERSION in str(crds)
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    kubectl = str(control_plane.assets.kubectl)
    subprocess.run([kubectl, "apply", "--server-side", "-f", str(crds)], env=env, check=True, capture_output=True)
    established = subprocess.run(
        [kubectl, "wait", "--for=condition=Established", "crd/httproutes.gateway.networking.k8s.io", "--timeout=60s"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert established.returncode == 0, established.stderr


def test_promtool_checks_rule_files(tmp_path: Path) -> None:
    promtool = require_tool("promtool", PROMTOOL_HINT)
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(
        "groups:\n- name: modelmonitor\n  rules:\n  - alert: ModelUnhealthy\n"
        "    expr: modelmonitor_dataset_drift == 1\n    for: 10m\n"
    )
    bad.write_text("groups:\n- name: broken\n  rules:\n  - alert: Broken\n    expr: modelmonitor_dataset_drift ==\n")
    assert subprocess.run([promtool, "check", "rules", str(good)], capture_output=True).returncode == 0
    assert subprocess.run([promtool, "check", "rules", str(bad)], capture_output=True).returncode == 1
