"""The deployment manifests are accepted by the real API server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

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
