"""What a new user types: kubectl get, describe and delete by the kind's name."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from modelmonitor.crd import render

pytestmark = pytest.mark.cluster


def _names_of_every_kind() -> set[str]:
    names: set[str] = set()
    for text in render().values():
        crd_names = yaml.safe_load(text.split("\n", 1)[1])["spec"]["names"]
        names |= {crd_names["plural"], crd_names["singular"], crd_names["kind"].lower()}
        names |= set(crd_names.get("shortNames", []))
    return names


def test_no_category_is_also_a_resource_name() -> None:
    """kubectl expands a category to every kind in it, so a category named like a kind shadows that kind."""
    names = _names_of_every_kind()
    for text in render().values():
        for category in yaml.safe_load(text.split("\n", 1)[1])["spec"]["names"].get("categories", []):
            assert category not in names


@pytest.mark.parametrize("resource", ["modelmonitor", "modelmonitors", "mm", "modelmonitor.modelmonitor.io"])
def test_get_describe_and_delete_by_the_kind_name(
    control_plane, kubeconfig: Path, installed_crds, namespace: str, samples: Path, resource: str
) -> None:
    kubectl = str(control_plane.assets.kubectl)
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([kubectl, *args, "-n", namespace], env=env, capture_output=True, text=True)

    document = yaml.safe_load((samples / "healthy-monitor.yaml").read_text())
    document["spec"]["suspend"] = True  # no operator here: nothing needs to run
    applied = subprocess.run(
        [kubectl, "apply", "-n", namespace, "-f", "-"],
        input=yaml.safe_dump(document),
        env=env,
        capture_output=True,
        text=True,
    )
    assert applied.returncode == 0, applied.stderr
    name = document["metadata"]["name"]
    got = run("get", resource, name)
    assert got.returncode == 0, got.stderr
    assert name in got.stdout
    described = run("describe", resource, name)
    assert described.returncode == 0, described.stderr
    assert "Kind:         ModelMonitor" in described.stdout
    everything = run("get", "modelmonitoring")
    assert everything.returncode == 0 and name in everything.stdout, everything.stderr
    deleted = run("delete", resource, name)
    assert deleted.returncode == 0, deleted.stderr
    assert f'modelmonitor.modelmonitor.io "{name}" deleted' in deleted.stdout
