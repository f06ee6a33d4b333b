"""KServe traffic, simulated: a ``modelmonitor collector`` process, and logged rows replayed to it as the
CloudEvents an InferenceService's agent sends (``pkg/logger``: binary mode, one event per request and one per
response, paired by ``ce-id``), with their labels sent later to ``POST /v1/feedback``.

The demo's payload-log step and the collector's tests use it.
"""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from modelmonitor_tools.devcluster.processes import free_port, stop_pid

REQUEST = "org.kubeflow.serving.inference.request"
RESPONSE = "org.kubeflow.serving.inference.response"
READY_TIMEOUT = 30.0
LABELS_PER_BODY = 1000


def headers(
    event_id: str,
    kind: str,
    *,
    service: str = "credit-risk",
    namespace: str = "ml",
    component: str = "predictor",
    time: str | None = "2026-12-07T10:15:30.123456789Z",
    metadata: dict[str, list[str]] | None = None,
) -> dict[str, str]:
    """The headers of a binary-mode CloudEvent, as KServe's agent sets them (``kind``: request or response)."""
    found = {
        "Ce-Specversion": "1.0",
        "Ce-Id": event_id,
        "Ce-Type": REQUEST if kind == "request" else RESPONSE,
        "Ce-Source": "http://localhost:9081/",
        "Ce-Inferenceservicename": service,
        "Ce-Namespace": namespace,
        "Ce-Component": component,
        "Ce-Endpoint": "",
        "Ce-Metadata": json.dumps(metadata or {}),
        "Content-Type": "application/json",
    }
    if time is not None:
        found["Ce-Time"] = time
    return found


@dataclass
class CollectorProcess:
    """``modelmonitor collector`` on loopback, started and stopped (SIGTERM, as Kubernetes stops a pod) by its pid."""

    sink: str
    wal: Path
    log: Path
    extra: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    flush_seconds: float = 0.5  # tests see their rows soon; each flush writes a file per hour it holds
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> CollectorProcess:
        argv = [sys.executable, "-m", "modelmonitor", "collector", "--listen", f"127.0.0.1:{self.port}"]
        argv += ["--sink", self.sink, "--wal", str(self.wal), "--flush-seconds", str(self.flush_seconds), *self.extra]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + READY_TIMEOUT
        while not self._healthy():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the collector was not healthy within {READY_TIMEOUT:g}s:\n{self.tail()}")
            time.sleep(0.1)
        return self

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"the collector exited {self.process.returncode}:\n{self.tail()}")
        try:
            return self.get("/healthz")[0] == 200
        except OSError:
            return False

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def get(self, path: str) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        """SIGTERM: the collector flushes what it holds and exits; its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            stop_pid(self.process.pid, timeout=30)
        return self.process.wait(10)


def post(port: int, found: Mapping[str, str], body: bytes, connection: http.client.HTTPConnection | None = None) -> int:
    """One event to the collector's ``POST /``: the status it answers."""
    own = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        own.request("POST", "/", body=body, headers=dict(found))
        response = own.getresponse()
        response.read()
        return response.status
    finally:
        if connection is None:
            own.close()


def post_feedback(port: int, body: object, query: str = "", content_type: str = "application/json") -> tuple[int, str]:
    """Labels to the collector's ``POST /v1/feedback``: the status and the body it answers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(
            "POST", f"/v1/feedback{query}", body=json.dumps(body), headers={"Content-Type": content_type}
        )
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def replay(
    port: int,
    rows: Iterable[Mapping[str, Any]],
    features: Sequence[str],
    *,
    namespace: str,
    service: str = "credit-risk",
    prefix: str = "d",
) -> int:
    """Each logged row (``ts``, the features, ``prediction``, ``score``, ``model_version``) as one V1 inference:
    a request event and a response event with request id ``PREFIX<number>``, sent as the row's time, the model
    version in the ``X-Model-Version`` metadata header. Returns how many rows were sent."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    sent = 0
    try:
        for number, row in enumerate(rows):
            moment: datetime = row["ts"]
            options = {
                "namespace": namespace,
                "service": service,
                "time": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "metadata": {"X-Model-Version": [str(row["model_version"])]},
            }
            request = {"instances": [{name: row[name] for name in features}]}
            response = {"predictions": [{"prediction": row["prediction"], "score": row["score"]}]}
            for kind, body in (("request", request), ("response", response)):
                found = headers(f"{prefix}{number}", kind, **options)
                status = post(port, found, json.dumps(body).encode(), connection)
                if status != 200:
                    raise RuntimeError(f"the collector answered {status} to the {kind} of row {number}")
            sent += 1
    finally:
        connection.close()
    return sent


def send_labels(port: int, labels: Sequence[tuple[str, Any]], *, namespace: str, service: str = "credit-risk") -> int:
    """Labels (request id, outcome) to the feedback endpoint, a thousand a body. Returns how many were taken."""
    query = f"?inferenceService={service}&namespace={namespace}"
    for start in range(0, len(labels), LABELS_PER_BODY):
        body = [{"id": request_id, "label": label} for request_id, label in labels[start : start + LABELS_PER_BODY]]
        status, answer = post_feedback(port, body, query)
        if status != 200:
            raise RuntimeError(f"the collector answered {status} to labels {start}-{start + len(body)}: {answer}")
    return len(labels)
