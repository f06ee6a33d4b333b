"""The demo's payload-log step: the drifted model's traffic through the collector into a bucket, judged from there.

SeaweedFS (the dev cluster's S3 server) gets a bucket ``model-logs``. ``modelmonitor collector`` writes to it,
with the standard AWS variables as its keys. The drifted sample's rows go to the collector as the CloudEvents a
KServe InferenceService's agent sends (a request and a response each). Their labels follow later, those the
sample has, to the collector's feedback endpoint. The monitor ``credit-risk-kserve`` then reads
``kserve: {inferenceService: credit-risk}`` with the collector's labels, through a Secret holding the keys. It
must come to the same verdict as ``credit-risk-drifted``, which reads the same rows from the sample's file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from modelmonitor_tools.devcluster.object_store import ObjectStore
from modelmonitor_tools.kserve_traffic import CollectorProcess, replay, send_labels

BUCKET = "model-logs"
SECRET = "model-logs-keys"
NAME = "credit-risk-kserve"
FEATURES = ("age", "income", "amount", "region")


class PayloadLogs:
    """The object store and the collector of the demo, and the monitor on what they keep."""

    def __init__(self, directory: Path) -> None:
        self.store = ObjectStore(directory / "seaweedfs")
        self.directory = directory

    def start(self) -> None:
        self.store.start()
        self.store.create_bucket(BUCKET)

    def stop(self) -> None:
        self.store.stop()

    def send(self, logged: Path, namespace: str) -> tuple[int, int]:
        """The logged rows as KServe CloudEvents, then their labels: how many of each the collector took."""
        env = {**os.environ, **self.store.environment()}
        collector = CollectorProcess(
            f"s3://{BUCKET}/kserve",
            self.directory / "collector-wal",
            self.directory / "collector.log",
            env=env,
            flush_seconds=60.0,  # as a collector in production would: a file per hour of rows, not one per second
        )
        collector.extra = ("--version-header", "x-model-version")
        collector.start()
        try:
            rows = pq.read_table(logged).to_pylist()
            sent = replay(collector.port, rows, FEATURES, namespace=namespace)
            outcomes = [(f"d{number}", row["label"]) for number, row in enumerate(rows) if row["label"] is not None]
            labelled = send_labels(collector.port, outcomes, namespace=namespace)
        finally:
            if collector.stop() != 0:
                raise RuntimeError(f"the collector did not stop cleanly:\n{collector.tail()}")
        return sent, labelled

    def manifests(self, drifted: dict[str, Any]) -> list[dict[str, Any]]:
        """The Secret with the bucket's keys, and the drifted monitor's twin on the collector's logs and labels."""
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": SECRET},
            "stringData": self.store.environment(),
        }
        spec = {key: value for key, value in drifted["spec"].items() if key not in ("runner", "actions")}
        columns = {
            key: value
            for key, value in spec["data"]["columns"].items()
            if key not in ("timestamp", "label", "modelVersion")  # the kserve kind's and its labels' own
        }
        spec["data"] = {
            **spec["data"],
            "current": {
                "kserve": {"inferenceService": "credit-risk", "logs": f"s3://{BUCKET}/kserve"},
                "window": drifted["spec"]["data"]["current"]["window"],
            },
            "labels": {"kserve": {"inferenceService": "credit-risk", "logs": f"s3://{BUCKET}/feedback"}},
            "columns": {**columns, "features": list(FEATURES)},
        }
        spec["credentials"] = {"secretRef": {"name": SECRET}}
        monitor = {"apiVersion": drifted["apiVersion"], "kind": drifted["kind"], "metadata": {"name": NAME}}
        return [secret, {**monitor, "spec": spec}]


def describe(kubectl: Callable[..., str], name: str) -> str:
    """A monitor's last verdict and what it measured, as the demo prints it."""
    return kubectl("get", "mm", name, "-o", "jsonpath={.status.lastRun.verdict}: {.status.lastRun.summary}")
