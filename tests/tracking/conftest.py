"""A real MLflow server for the registry and run-log tests (started per module, stopped by its process id)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelmonitor_tools.devcluster.mlflow_server import MlflowServer


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    running = MlflowServer(tmp_path_factory.mktemp("mlflow")).start()
    try:
        yield running
    finally:
        running.stop()
