"""A stand-in for the kubelet: runs the Pods of Jobs as local subprocesses.

It watches Pods owned by Jobs, binds each to a simulated node, runs its container's
``command`` and ``args`` with its environment as a subprocess on this machine, and writes
the Pod status (phase, container state, exit code, termination reason) the way a kubelet
does, so the real Job controller completes or fails the Job.

What is simulated, and how:

* **Images** are not pulled: the command runs with this machine's Python and tools.  An
  image on the host ``missing.invalid`` (a name that can never resolve) behaves like an
  unpullable image: the container waits in ``ErrImagePull``.
* **Scheduling** is a binding to one node, ``modelmonitor-dev-node``; node selectors,
  tolerations and affinity are recorded but not evaluated.
* **Resource limits** are not enforced (no cgroups), so no OOM kill happens here.
* **Service accounts**: the container gets ``KUBECONFIG`` pointing at a file with a token
  from the TokenRequest API for the Pod's service account, so RBAC applies as in a cluster.
* Only single-container Pods run; ``restartPolicy: OnFailure`` restarts in place.

Because it runs commands on this machine, it serves only the dev cluster it was started
with: the API server must be on loopback and present the dev cluster's own CA.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

NODE_NAME = "modelmonitor-dev-node"
MISSING_IMAGE_HOST = "missing.invalid"
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
_log = logging.getLogger(__name__)


class RefusedCluster(RuntimeError):
    """The pod runner will not run commands for this API server."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cluster_of(kubeconfig: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(kubeconfig.read_text())
    context_name = loaded.get("current-context")
    context = next(c["context"] for c in loaded["contexts"] if c["name"] == context_name)
    return next(c["cluster"] for c in loaded["clusters"] if c["name"] == context["cluster"])


def verify_dev_cluster(kubeconfig: Path, ca_certificate: Path) -> str:
    """The server URL, if the kubeconfig points at the dev cluster of this CA; else raise."""
    cluster = _cluster_of(kubeconfig)
    server = cluster.get("server", "")
    host = urlparse(server).hostname or ""
    if host not in _LOOPBACK and f"[{host}]" not in _LOOPBACK:
        raise RefusedCluster(f"refusing {server}: the pod runner serves only a dev cluster on loopback")
    presented = cluster.get("certificate-authority-data")
    if presented is None or base64.b64decode(presented) != ca_certificate.read_bytes():
        raise RefusedCluster(f"refusing {server}: it does not use the dev cluster's CA {ca_certificate}")
    return server


@dataclass
class _Running:
    process: subprocess.Popen[bytes] | None = None
    stopped: bool = False


class PodRunner:
    """Runs Job Pods of one dev cluster; ``start()`` in a thread, ``stop()`` kills them all."""

    def __init__(self, kubeconfig: Path, ca_certificate: Path, workdir: Path) -> None:
        self.server = verify_dev_cluster(kubeconfig, ca_certificate)
        self.ca_certificate = ca_certificate
        self.workdir = workdir
        self.api = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="pod-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for running in self._running.values():
                running.stopped = True
                if running.process and running.process.poll() is None:
                    running.process.kill()
        if self._thread:
            self._thread.join(timeout=15)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                pods = self.api.list_pod_for_all_namespaces()
                for pod in pods.items:
                    self._handle(pod)
                stream = watch.Watch().stream(
                    self.api.list_pod_for_all_namespaces,
                    resource_version=pods.metadata.resource_version,
                    timeout_seconds=5,
                )
                for event in stream:
                    if self._stop.is_set():
                        break
                    self._handle(event["object"], deleted=event["type"] == "DELETED")
            except Exception:  # the watch must survive API hiccups: log, back off, re-list
                if not self._stop.is_set():
                    _log.exception("pod runner watch failed; re-listing")
                    time.sleep(1)

    def _handle(self, pod: client.V1Pod, *, deleted: bool = False) -> None:
        owners = pod.metadata.owner_references or []
        if not any(owner.kind == "Job" for owner in owners):
            return
        uid = pod.metadata.uid
        if deleted or pod.metadata.deletion_timestamp:
            self._terminate(pod, uid, deleted=deleted)
            return
        with self._lock:
            if uid in self._running or pod.status.phase in ("Succeeded", "Failed"):
                return
            self._running[uid] = _Running()
        threading.Thread(target=self._run, args=(pod,), name=f"pod-{pod.metadata.name}", daemon=True).start()

    def _terminate(self, pod: client.V1Pod, uid: str, *, deleted: bool) -> None:
        with self._lock:  # a pod is remembered until deleted, so it never runs twice
            running = self._running.pop(uid, None) if deleted else self._running.get(uid)
            if running:
                running.stopped = True
                if running.process and running.process.poll() is None:
                    running.process.kill()
        if not deleted and pod.spec.node_name == NODE_NAME:
            if running and pod.status.phase not in ("Succeeded", "Failed"):
                # as a kubelet does: a pod killed while deleted ends Failed, so its Job can replace it
                container = pod.spec.containers[0]
                killed = {"exitCode": 137, "reason": "Error", "startedAt": _now(), "finishedAt": _now()}
                self._patch_status(
                    pod,
                    {
                        "phase": "Failed",
                        "containerStatuses": [self._container_status(container, {"terminated": killed})],
                    },
                )
            try:  # the kubelet's last word: the containers are gone
                self.api.delete_namespaced_pod(pod.metadata.name, pod.metadata.namespace, grace_period_seconds=0)
            except ApiException as error:
                if error.status != 404:
                    raise

    def _patch_status(self, pod: client.V1Pod, status: dict[str, Any]) -> None:
        try:
            self.api.patch_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace, {"status": status})
        except ApiException as error:
            if error.status != 404:
                raise

    def _container_status(
        self, container: client.V1Container, state: dict[str, Any], restarts: int = 0
    ) -> dict[str, Any]:
        return {
            "name": container.name,
            "image": container.image,
            "imageID": "",
            "ready": "running" in state,
            "started": "running" in state,
            "restartCount": restarts,
            "state": state,
        }

    def _run(self, pod: client.V1Pod) -> None:
        name, namespace = pod.metadata.name, pod.metadata.namespace
        try:
            if not pod.spec.node_name:
                self.api.create_namespaced_binding(
                    namespace,
                    client.V1Binding(
                        metadata=client.V1ObjectMeta(name=name),
                        target=client.V1ObjectReference(api_version="v1", kind="Node", name=NODE_NAME),
                    ),
                    _preload_content=False,
                )
            self._run_bound(pod)
        except Exception as error:
            _log.exception("running pod %s/%s failed", namespace, name)
            self._fail(pod, "RunnerError", str(error)[:500])

    def _fail(self, pod: client.V1Pod, reason: str, message: str) -> None:
        container = pod.spec.containers[0]
        terminated = {"exitCode": 128, "reason": reason, "message": message, "startedAt": _now(), "finishedAt": _now()}
        self._patch_status(
            pod,
            {
                "phase": "Failed",
                "reason": reason,
                "message": message,
                "containerStatuses": [self._container_status(container, {"terminated": terminated})],
            },
        )

    def _run_bound(self, pod: client.V1Pod) -> None:
        if len(pod.spec.containers) != 1:
            self._fail(pod, "Unsupported", "the dev pod runner runs single-container pods only")
            return
        container = pod.spec.containers[0]
        base = {
            "startTime": _now(),
            "hostIP": "127.0.0.1",
            "podIP": "127.0.0.1",
            "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": _now()}],
        }
        if urlparse(f"//{container.image}").hostname == MISSING_IMAGE_HOST:
            waiting = {"reason": "ErrImagePull", "message": f"failed to pull image {container.image!r}: host not found"}
            self._patch_status(
                pod,
                {
                    **base,
                    "phase": "Pending",
                    "containerStatuses": [self._container_status(container, {"waiting": waiting})],
                },
            )
            return
        if not container.command:
            self._fail(pod, "Unsupported", "the dev pod runner needs an explicit command (it has no image entrypoint)")
            return
        environment = self._environment(pod, container)
        directory = Path(container.working_dir) if container.working_dir else self._pod_dir(pod)
        restarts = 0
        while True:
            started = _now()
            self._patch_status(
                pod,
                {
                    **base,
                    "phase": "Running",
                    "containerStatuses": [
                        self._container_status(container, {"running": {"startedAt": started}}, restarts)
                    ],
                },
            )
            code = self._execute(pod, [*container.command, *(container.args or [])], environment, directory)
            if code is None:  # stopped: the pod is being deleted
                return
            terminated = {
                "exitCode": code,
                "reason": "Completed" if code == 0 else "Error",
                "startedAt": started,
                "finishedAt": _now(),
            }
            if code != 0 and pod.spec.restart_policy == "OnFailure" and not self._stop.is_set():
                restarts += 1
                time.sleep(min(2**restarts, 10))
                continue
            self._patch_status(
                pod,
                {
                    **base,
                    "phase": "Succeeded" if code == 0 else "Failed",
                    "containerStatuses": [self._container_status(container, {"terminated": terminated}, restarts)],
                },
            )
            return

    def _pod_dir(self, pod: client.V1Pod) -> Path:
        directory = self.workdir / "pods" / f"{pod.metadata.namespace}_{pod.metadata.name}"
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def _execute(self, pod: client.V1Pod, argv: list[str], env: dict[str, str], directory: Path) -> int | None:
        log = self._pod_dir(pod) / "container.log"
        uid = pod.metadata.uid
        with log.open("ab") as output:
            try:
                process = subprocess.Popen(
                    argv,
                    cwd=directory,
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as error:
                output.write(f"cannot start {argv[0]}: {error}\n".encode())
                return 127
            with self._lock:
                running = self._running.setdefault(uid, _Running())
                running.process = process
                if running.stopped:
                    process.kill()
            code = process.wait()
        with self._lock:
            stopped = self._running.get(uid, _Running()).stopped
        return None if stopped else code

    def _environment(self, pod: client.V1Pod, container: client.V1Container) -> dict[str, str]:
        namespace = pod.metadata.namespace
        env = {
            key: os.environ[key]
            for key in ("PATH", "HOME", "LANG", "VIRTUAL_ENV", "PYTHONPATH", "TMPDIR")
            if key in os.environ
        }
        env.update(HOSTNAME=pod.metadata.name, POD_NAME=pod.metadata.name, POD_NAMESPACE=namespace)
        for source in container.env_from or []:
            if source.secret_ref:
                data = self.api.read_namespaced_secret(source.secret_ref.name, namespace).data or {}
                env.update({(source.prefix or "") + k: base64.b64decode(v).decode() for k, v in data.items()})
            if source.config_map_ref:
                data = self.api.read_namespaced_config_map(source.config_map_ref.name, namespace).data or {}
                env.update({(source.prefix or "") + k: v for k, v in data.items()})
        for variable in container.env or []:
            env[variable.name] = self._env_value(pod, variable)
        if pod.spec.automount_service_account_token is not False:
            env["KUBECONFIG"] = str(self._service_account_kubeconfig(pod))
        return env

    def _env_value(self, pod: client.V1Pod, variable: client.V1EnvVar) -> str:
        if variable.value_from is None:
            return variable.value or ""
        source = variable.value_from
        if source.secret_key_ref:
            secret = self.api.read_namespaced_secret(source.secret_key_ref.name, pod.metadata.namespace)
            return base64.b64decode((secret.data or {})[source.secret_key_ref.key]).decode()
        if source.config_map_key_ref:
            config_map = self.api.read_namespaced_config_map(source.config_map_key_ref.name, pod.metadata.namespace)
            return (config_map.data or {})[source.config_map_key_ref.key]
        if source.field_ref:
            fields = {
                "metadata.name": pod.metadata.name,
                "metadata.namespace": pod.metadata.namespace,
                "metadata.uid": pod.metadata.uid,
                "spec.serviceAccountName": pod.spec.service_account_name or "default",
                "spec.nodeName": NODE_NAME,
                "status.podIP": "127.0.0.1",
                "status.hostIP": "127.0.0.1",
            }
            return fields.get(source.field_ref.field_path, "")
        return ""

    def _service_account_kubeconfig(self, pod: client.V1Pod) -> Path:
        account = pod.spec.service_account_name or "default"
        request = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(
                audiences=[],
                expiration_seconds=3600,
                bound_object_ref=client.V1BoundObjectReference(
                    kind="Pod", api_version="v1", name=pod.metadata.name, uid=pod.metadata.uid
                ),
            )
        )
        token = self.api.create_namespaced_service_account_token(account, pod.metadata.namespace, request).status.token
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "pod",
            "clusters": [
                {
                    "name": "dev",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": base64.b64encode(self.ca_certificate.read_bytes()).decode(),
                    },
                }
            ],
            "users": [{"name": account, "user": {"token": token}}],
            "contexts": [
                {"name": "pod", "context": {"cluster": "dev", "user": account, "namespace": pod.metadata.namespace}}
            ],
        }
        path = self._pod_dir(pod) / "kubeconfig"
        fd, temporary = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(kubeconfig, handle)
        os.replace(temporary, path)
        return path
