"""Local servers for tests: started on 127.0.0.1, stopped by their process id."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from modelmonitor_tools.devcluster.processes import free_port, stop_pid


@contextmanager
def local_server(argv_for_port: list[str], *, timeout: float = 30.0, port: int | None = None) -> Iterator[int]:
    """Run ``argv`` (with ``{port}`` filled in: ``port``, or a free one) until the port accepts connections."""
    port = port or free_port()
    process = subprocess.Popen(
        [part.format(port=port) for part in argv_for_port],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{argv_for_port[0]} exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield port
    finally:
        stop_pid(process.pid)
        process.wait(timeout=10)
