"""A real Dask cluster on loopback: a scheduler and two single-threaded worker processes, stopped by pid."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from modelmonitor_tools.devcluster.processes import stop_pid
from tests.conftest import require_tool
from tests.servers import local_server

WORKER_OPTIONS = ("--no-dashboard", "--host", "127.0.0.1", "--memory-limit", "4GiB")


@dataclass
class DaskCluster:
    address: str
    dask: str
    workers: dict[int, subprocess.Popen] = field(default_factory=dict)  # by pid

    def add_worker(self) -> int:
        process = subprocess.Popen(
            [self.dask, "worker", self.address, "--nthreads", "1", "--no-nanny", *WORKER_OPTIONS],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        self.workers[process.pid] = process
        return process.pid

    def kill_worker(self, pid: int) -> None:
        stop_pid(self.workers.pop(pid).pid)

    def worker_count(self) -> int:
        from distributed import Client

        with Client(self.address, timeout=10, set_as_default=False) as client:
            return len(client.scheduler_info(n_workers=-1)["workers"])

    def wait_for_workers(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.worker_count() < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{count} dask workers did not join {self.address} within {timeout}s")
            time.sleep(0.2)


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[DaskCluster]:
    dask = require_tool("dask", 'pip install -e ".[dask]"')
    scheduler = [dask, "scheduler", "--host", "127.0.0.1", "--port", "{port}", "--no-dashboard"]
    with local_server(scheduler) as port:
        cluster = DaskCluster(f"tcp://127.0.0.1:{port}", dask)
        try:
            cluster.add_worker()
            cluster.add_worker()
            cluster.wait_for_workers(2)
            yield cluster
        finally:
            for pid in list(cluster.workers):
                cluster.kill_worker(pid)
