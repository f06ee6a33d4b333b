"""An MLflow tracking server and model registry on loopback: ``mlflow server`` from PyPI, SQLite, local artifacts.

MLflow goes into a virtualenv of its own in the cache (``mlflow-VERSION``), built once like
the control plane: its pins (SQLAlchemy, Flask, FastAPI...) are no business of the operator's
environment, which speaks to it over HTTP only. The server proxies its artifacts
(``mlflow-artifacts:/``), as a team's usual server does, and runs no background jobs (they
are for GenAI evaluation, and cost a process per core). Its processes share a session, so
stopping it by its process id stops them all.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from modelmonitor_tools.devcluster.assets import AssetError, Progress, cache_root, stderr_progress
from modelmonitor_tools.devcluster.processes import ManagedProcess, free_port

MLFLOW_VERSION = "3.17.2"
READY_TIMEOUT = 120.0
TRAINING = Path(__file__).resolve().parent.parent / "mlflow_training.py"  # run with MLflow's own client


def ensure_mlflow(progress: Progress = stderr_progress) -> Path:
    """The ``mlflow`` virtualenv's Python: ``TEST_ASSET_MLFLOW_PYTHON`` if set, else made once in the cache."""
    if configured := os.environ.get("TEST_ASSET_MLFLOW_PYTHON"):
        return Path(configured)
    target = cache_root() / f"mlflow-{MLFLOW_VERSION}"
    python, complete = target / "bin" / "python", target / ".complete"
    if complete.is_file():
        return python
    # a virtualenv's scripts name its own path, so it is made where it stays; the marker says it is whole
    shutil.rmtree(target, ignore_errors=True)
    progress(f"installing MLflow {MLFLOW_VERSION} into its own virtualenv; about a minute the first time")
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", f"mlflow=={MLFLOW_VERSION}"],
        capture_output=True,
        text=True,
    )
    if installed.returncode != 0:
        raise AssetError(f"pip install mlflow=={MLFLOW_VERSION} failed:\n{installed.stderr[-3000:]}")
    complete.write_text(MLFLOW_VERSION)
    return python


@dataclass
class MlflowServer:
    """A running ``mlflow server`` on 127.0.0.1 (SQLite backend, proxied local artifacts), stopped by its pid."""

    workdir: Path
    uri: str = ""
    _process: ManagedProcess | None = field(default=None, repr=False)

    @property
    def python(self) -> Path:
        """The Python of MLflow's virtualenv: what a training script that uses MLflow's client runs with."""
        return ensure_mlflow()

    def start(self, progress: Progress = stderr_progress) -> MlflowServer:
        python = ensure_mlflow(progress)
        self.workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        env = {
            **{key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")},
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
        self._process = ManagedProcess(
            "mlflow",
            [
                str(python),
                "-m",
                "mlflow",
                "server",
                "--backend-store-uri",
                f"sqlite:///{self.workdir / 'mlflow.db'}",
                "--artifacts-destination",
                str(self.workdir / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            self.workdir / "mlflow.log",
            env=env,
        )
        self._process.start()
        self.uri = f"http://127.0.0.1:{port}"
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if not self._process.running():
                raise AssetError(f"mlflow server exited at start:\n{self._process.tail()}")
            with contextlib.suppress(urllib.error.URLError, OSError):
                query = f"{self.uri}/api/2.0/mlflow/experiments/search?max_results=1"
                with urllib.request.urlopen(query, timeout=5) as response:
                    json.loads(response.read())
                    return
            time.sleep(0.5)
        raise AssetError(f"mlflow server did not answer within {READY_TIMEOUT:.0f} s:\n{self._process.tail()}")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def tail(self) -> str:
        return self._process.tail() if self._process else ""

    def run_python(self, script: str, *args: str, env: dict[str, str] | None = None) -> str:
        """Run the file ``script`` with MLflow's own client against this server, as a training Job would; its
        stdout."""
        done = subprocess.run(
            [str(self.python), script, *args],
            env={**os.environ, "MLFLOW_TRACKING_URI": self.uri, **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise AssetError(f"the MLflow script failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def register_version(self, name: str, reference: Path, accuracy: float, alias: str | None = None) -> dict:
        """A training run that logs ``accuracy`` and ``reference`` as ``data/reference.parquet``, registered as a
        version of ``name`` (``alias`` pointed at it), made with MLflow's own client: version, run_id, artifacts."""
        args = ["--name", name, "--reference", str(reference), "--accuracy", str(accuracy)]
        printed = self.run_python(str(TRAINING), *args, *(["--alias", alias] if alias else []))
        return json.loads(printed.splitlines()[-1])

    def stop(self) -> None:
        if self._process is None or self._process.pid is None:
            return
        group = self._process.pid  # its own session: uvicorn's worker is a child of the server
        self._process.stop(timeout=15.0)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # whatever outlived the server
