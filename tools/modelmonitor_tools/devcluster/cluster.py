"""etcd and kube-apiserver (and optionally kube-controller-manager) as local processes.

Started the way controller-runtime's envtest starts them: loopback ports, a generated CA
and serving certificate, RBAC authorization, service-account issuer and keys, and an
admin client certificate in the ``system:masters`` group, written into a kubeconfig.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import ssl
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import yaml

from modelmonitor_tools.devcluster.assets import Assets, ensure_assets
from modelmonitor_tools.devcluster.pki import CertificateAuthority, KeyPair, service_account_keys
from modelmonitor_tools.devcluster.processes import ManagedProcess, free_port

START_TIMEOUT = 120.0
CONTROLLERS = (
    "job-controller",
    "garbage-collector-controller",
    "ttl-after-finished-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
)


class ControlPlaneError(RuntimeError):
    """The control plane did not start; the message carries the logs."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class ControlPlane:
    """A running dev cluster; use as a context manager, or call start() and stop()."""

    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="modelmonitor-cluster-")))
    assets: Assets | None = None
    with_controllers: bool = False
    kubeconfig: Path | None = None
    processes: list[ManagedProcess] = field(default_factory=list)
    server: str = ""
    ca: KeyPair | None = None
    admin: KeyPair | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def logs_dir(self) -> Path:
        return self.workdir / "logs"

    def start(self) -> None:
        self.assets = self.assets or ensure_assets()
        self.workdir.mkdir(parents=True, exist_ok=True)
        atexit.register(self.stop)
        try:
            self._start_etcd()
            self._start_apiserver()
            self._write_kubeconfig()
            if self.with_controllers:
                self._start_controller_manager()
        except BaseException:
            self.stop()
            raise

    def _launch(self, name: str, args: list[str]) -> ManagedProcess:
        process = ManagedProcess(name, args, self.logs_dir / f"{name}.log")
        process.start()
        self.processes.append(process)
        return process

    def _wait(self, process: ManagedProcess, ready: callable, what: str) -> None:  # type: ignore[valid-type]
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not process.running():
                raise ControlPlaneError(f"{process.name} exited with {process.exit_code()}:\n{process.tail()}")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise ControlPlaneError(f"{what} not ready after {START_TIMEOUT:.0f}s:\n{process.tail()}")

    def _start_etcd(self) -> None:
        assert self.assets is not None
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        process = self._launch(
            "etcd",
            [
                str(self.assets.etcd),
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=default=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )

        self._wait(process, self._etcd_healthy, "etcd")

    def _etcd_healthy(self) -> bool:
        with urllib.request.urlopen(f"{self.etcd_url}/health", timeout=2) as response:
            return json.load(response).get("health") == "true"

    def _start_apiserver(self) -> None:
        assert self.assets is not None
        pki = self.workdir / "pki"
        authority = CertificateAuthority(pki)
        self.ca = authority.pair
        serving = authority.issue(
            "apiserver",
            "kube-apiserver",
            server_names=["127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
        )
        self.admin = authority.issue("admin", "modelmonitor-admin", organisation="system:masters")
        self.service_account = service_account_keys(pki)
        port = free_port()
        self.server = f"https://127.0.0.1:{port}"
        process = self._launch(
            "kube-apiserver",
            [
                str(self.assets.kube_apiserver),
                f"--etcd-servers={self.etcd_url}",
                f"--cert-dir={pki}",
                f"--tls-cert-file={serving.certificate}",
                f"--tls-private-key-file={serving.key}",
                f"--client-ca-file={self.ca.certificate}",
                f"--secure-port={port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                "--authorization-mode=RBAC",
                f"--service-account-issuer={self.server}",
                f"--service-account-key-file={self.service_account.certificate}",
                f"--service-account-signing-key-file={self.service_account.key}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                "--endpoint-reconciler-type=none",
            ],
        )
        self._wait(process, self._apiserver_ready, "kube-apiserver")

    def _apiserver_ready(self) -> bool:
        with urllib.request.urlopen(f"{self.server}/readyz", timeout=2, context=self.ssl_context()) as response:
            return response.status == 200

    def ssl_context(self) -> ssl.SSLContext:
        assert self.ca is not None and self.admin is not None
        context = ssl.create_default_context(cafile=str(self.ca.certificate))
        context.load_cert_chain(str(self.admin.certificate), str(self.admin.key))
        return context

    def _write_kubeconfig(self) -> None:
        assert self.ca is not None and self.admin is not None
        self.kubeconfig = self.kubeconfig or self.workdir / "kubeconfig"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "modelmonitor-dev",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": _b64(self.ca.read_certificate()),
                    },
                }
            ],
            "users": [
                {
                    "name": "modelmonitor-admin",
                    "user": {
                        "client-certificate-data": _b64(self.admin.read_certificate()),
                        "client-key-data": _b64(self.admin.read_key()),
                    },
                }
            ],
            "contexts": [
                {"name": "modelmonitor-dev", "context": {"cluster": "modelmonitor-dev", "user": "modelmonitor-admin"}}
            ],
            "current-context": "modelmonitor-dev",
        }
        self.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        self.kubeconfig.write_text(yaml.safe_dump(config))
        self.kubeconfig.chmod(0o600)

    def _start_controller_manager(self) -> None:
        assert self.assets is not None and self.ca is not None and self.kubeconfig is not None
        process = self._launch(
            "kube-controller-manager",
            [
                str(self.assets.kube_controller_manager),
                f"--kubeconfig={self.kubeconfig}",
                f"--controllers={','.join(CONTROLLERS)}",
                "--leader-elect=false",
                "--secure-port=0",
                f"--service-account-private-key-file={self.service_account.key}",
                f"--root-ca-file={self.ca.certificate}",
                "--use-service-account-credentials=false",
                "--concurrent-job-syncs=5",
            ],
        )
        time.sleep(0.5)
        if not process.running():
            raise ControlPlaneError(f"kube-controller-manager exited:\n{process.tail()}")

    def install_crds(self, directory: Path) -> None:
        """Apply the CRDs in a directory and wait until the API server serves them."""
        assert self.assets is not None and self.kubeconfig is not None
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        kubectl = str(self.assets.kubectl)
        subprocess.run([kubectl, "apply", "-f", str(directory)], check=True, env=env, capture_output=True)
        established = [kubectl, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"]
        subprocess.run(established, check=True, env=env, capture_output=True)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        atexit.unregister(self.stop)

    def restart(self, name: str, down: float = 0.0) -> None:
        """Stop one process (SIGTERM), leave it down for ``down`` seconds, start it again as it was (fault drills)."""
        process = next(process for process in self.processes if process.name == name)
        process.stop()
        time.sleep(down)
        process.start()
        ready = {"etcd": self._etcd_healthy, "kube-apiserver": self._apiserver_ready}.get(name)
        if ready is not None:
            self._wait(process, ready, name)

    def pids(self) -> dict[str, int]:
        return {process.name: process.pid for process in self.processes if process.pid is not None}

    def logs(self, lines: int = 40) -> str:
        return "\n".join(f"--- {p.name} ({p.log}) ---\n{p.tail(lines)}" for p in self.processes)
