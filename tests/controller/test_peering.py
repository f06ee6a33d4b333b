"""Peering is decided before kopf starts: a missing peering object never means a silent wait."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from modelmonitor.controller.peering import choose_peering
from tests.controller.conftest import condition, get_monitor, monitor_document
from tests.helpers import eventually


def lookup_of(states: dict[str | None, str]):
    return lambda namespace, name: states.get(namespace, "missing")


def test_an_existing_peering_object_is_used() -> None:
    choice = choose_peering(requested=None, clusterwide=True, namespaces=[], lookup=lookup_of({None: "found"}))
    assert (choice.name, choice.warning, choice.error) == ("modelmonitor", "", "")


def test_a_missing_default_peering_falls_back_to_standalone_and_says_how_to_enable_it() -> None:
    choice = choose_peering(
        requested=None, clusterwide=False, namespaces=["ml", "ops"], lookup=lookup_of({"ml": "found"})
    )
    assert choice.name is None and not choice.error
    assert "no KopfPeering 'modelmonitor' in namespace ops: running standalone" in choice.warning
    assert "kubectl apply -n ops -f -" in choice.warning and "-n ml" not in choice.warning


def test_a_requested_peering_that_is_missing_is_an_error_with_the_fix() -> None:
    choice = choose_peering(requested="team-a", clusterwide=True, namespaces=[], lookup=lookup_of({None: "no-crd"}))
    assert choice.name is None and not choice.warning
    assert choice.error.startswith("no ClusterKopfPeering 'team-a': replicas cannot coordinate without it")
    assert "kubectl apply -f crds/" in choice.error
    assert '"kind": "ClusterKopfPeering", "metadata": {"name": "team-a"}' in choice.error
    assert "--standalone" in choice.error


@pytest.mark.cluster
def test_without_a_peering_object_the_laptop_command_runs_and_says_so(
    start_operator, custom, namespace, samples
) -> None:
    """`modelmonitor operator --namespace NS`, as the README shows, on a cluster with no KopfPeering in NS."""
    operator = start_operator(standalone=False)
    custom.create_namespaced_custom_object(
        "modelmonitor.io", "v1alpha1", namespace, "modelmonitors", monitor_document(samples, "laptop")
    )
    monitor = eventually(lambda: condition(get_monitor(custom, namespace, "laptop"), "Healthy"), timeout=30)
    assert monitor["status"] == "True"
    log = operator.log.read_text()
    assert f"no KopfPeering 'modelmonitor' in namespace {namespace}: running standalone" in log


@pytest.mark.cluster
def test_a_requested_peering_that_is_missing_stops_the_operator_at_once(kubeconfig, namespace, installed_crds) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "modelmonitor", "operator", "-n", namespace, "--peering", "modelmonitor"],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert time.monotonic() - started < 30
    assert f"error: no KopfPeering 'modelmonitor' in namespace {namespace}" in result.stderr
    assert f"kubectl apply -n {namespace} -f -" in result.stderr
