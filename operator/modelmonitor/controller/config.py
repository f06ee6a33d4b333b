"""The operator's settings, from the `modelmonitor operator` command line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class OperatorConfig:
    port: int = 8080
    runner_image: str = os.environ.get("MODELMONITOR_IMAGE", "ghcr.io/modelmonitor/modelmonitor:0.1.0")
    runner_command: list[str] = field(default_factory=lambda: ["modelmonitor"])
    inline_max_bytes: int = 256 * 1024 * 1024
    check_processes: int = 2  # inline runs' checks and rollouts' comparisons at once, each in a process
    dask_scheduler: str | None = os.environ.get("MODELMONITOR_DASK_SCHEDULER") or None  # runner dask's default
    sharded: bool = False  # replicas share the monitors out (controller/sharding.py)
    shard_identity: str = ""
    shard_namespace: str = ""


CONFIG = OperatorConfig()
TICK_SECONDS = float(os.environ.get("MODELMONITOR_TICK_SECONDS", "5"))
