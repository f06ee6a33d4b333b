"""Shared fixtures: the dev cluster (session-scoped) and API clients for it.

In CI (``CI=true``) a control plane that cannot be built or started fails the run;
locally it skips the cluster tests with one clear message.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelmonitor_tools.devcluster.assets import AssetError, ensure_assets
from modelmonitor_tools.devcluster.cluster import ControlPlane, ControlPlaneError

IN_CI = os.environ.get("CI", "").lower() in ("true", "1")


PROMTOOL_HINT = "run 'make tools' (Debian package prometheus)"


def require_tool(name: str, how: str) -> str:
    """A command beside this Python (a venv's console scripts) or on the PATH; in CI a missing one fails the test."""
    found = shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if found is None:
        message = f"{name} is missing: {how}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    from modelmonitor_tools.devcluster.podrunner import PodRunner

    try:
        assets = ensure_assets()
    except AssetError as error:
        message = f"the dev cluster's binaries cannot be found or built: {error}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    plane = ControlPlane(workdir=tmp_path_factory.mktemp("cluster"), assets=assets, with_controllers=True)
    try:
        plane.start()
    except ControlPlaneError as error:
        pytest.fail(f"the dev cluster did not start: {error}")
    assert plane.ca is not None and plane.kubeconfig is not None
    runner = PodRunner(plane.kubeconfig, plane.ca.certificate, plane.workdir)
    runner.start()
    yield plane
    runner.stop()
    plane.stop()


@pytest.fixture(scope="session")
def kubeconfig(control_plane: ControlPlane) -> Path:
    assert control_plane.kubeconfig is not None
    return control_plane.kubeconfig


@pytest.fixture(scope="session")
def api_client(kubeconfig: Path):
    from kubernetes import config

    return config.new_client_from_config(str(kubeconfig))


@pytest.fixture
def namespace(api_client) -> Iterator[str]:
    from kubernetes import client

    name = f"test-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.failed and "control_plane" in getattr(item, "fixturenames", ()):
        plane = item.funcargs.get("control_plane") if hasattr(item, "funcargs") else None
        if isinstance(plane, ControlPlane):
            report.sections.append(("dev cluster logs", plane.logs(60)))
    return report
