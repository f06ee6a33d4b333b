"""What every runner is handed, and what it promises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from modelmonitor.api.monitor import ModelMonitorSpec


@dataclass(frozen=True)
class Execution:
    """A run to execute: the MonitorRun, its monitor, the monitor's spec parsed once, and data credentials."""

    run: dict[str, Any]
    monitor: dict[str, Any]
    spec: ModelMonitorSpec
    env: dict[str, str] | None

    @property
    def namespace(self) -> str:
        return str(self.run["metadata"]["namespace"])

    @property
    def name(self) -> str:
        return str(self.run["metadata"]["name"])

    @property
    def started_at(self) -> str | None:
        """When an earlier attempt started the run (kept across the operator's restarts), if one did."""
        started = (self.run.get("status") or {}).get("startedAt")
        return str(started) if started else None


class RunExecutor(Protocol):
    name: str

    async def start(self, execution: Execution) -> None:
        """Evaluate the run, or start what will, writing its status as it goes; API errors propagate (retried)."""
