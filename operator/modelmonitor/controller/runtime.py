"""What every handler module shares: the operator's state, API calls off the event loop, owners, Events.

``lifecycle`` fills the state at start-up; nothing here imports a handler module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import kopf

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.controller.backoff import Backoff
from modelmonitor.controller.conditions import EVENT_REASONS, Condition
from modelmonitor.controller.kube import Kube
from modelmonitor.controller.membership import Membership
from modelmonitor.controller.naming import GROUP, MONITORS, RUNS, VERSION
from modelmonitor.controller.offload import CheckProcesses
from modelmonitor.controller.scheduling import NextRun
from modelmonitor.controller.server import ProbeServer
from modelmonitor.controller.specs import ParsedSpecs
from modelmonitor.errors import SpecError
from modelmonitor.tracking.client import Mlflow

KOPF_PREFIX = f"kopf.{GROUP}"
MM = (GROUP, VERSION, MONITORS)
MR = (GROUP, VERSION, RUNS)
T = TypeVar("T")


class _State:
    kube: Kube
    server: ProbeServer
    checks: CheckProcesses
    shard: Membership
    executing: set[str]  # uids of the runs being executed by this process
    executed: set[str]  # uids of the runs this process executed (until their deletion)
    run_tasks: set[asyncio.Task[None]]
    monitor_locks: dict[tuple[str, str], asyncio.Lock]
    # the scheduler's (controller/monitors/scheduler.py)
    scheduler: Any
    scheduler_task: asyncio.Task[None] | None
    membership_task: asyncio.Task[None]
    trimming: asyncio.Task[None]  # memory.trim_periodically
    monitors: dict[tuple[str, str], dict[str, Any]]  # the latest each watch event brought
    next_runs: dict[tuple[str, str], NextRun]  # each monitor's next slot, ahead of its status (see NextRun)
    runs_index: Any  # kopf's live index of runs by monitor
    recording: Backoff[tuple[str, str]]  # monitors whose last recording failed, and when to try again
    specs: ParsedSpecs  # each monitor's spec, parsed once per generation


STATE = _State()
STATE.specs = ParsedSpecs()


async def api(call: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(call, *args)


def now() -> datetime:
    return datetime.now(UTC)


def owner(body: kopf.Body | dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "name": body["metadata"]["name"],
        "uid": body["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def condition_event(body: Any, condition: Condition) -> None:
    kind, reason = EVENT_REASONS.get((condition.type, condition.status), ("Normal", condition.type))
    kopf.event(
        body, type=kind, reason=reason, message=f"{condition.type}={condition.status}: {condition.message}"[:1000]
    )


def owns_monitor(namespace: str, name: str, **_: Any) -> bool:
    """Whether this replica owns the monitor (always, unless sharded): a kopf ``when`` filter too."""
    return STATE.shard.owns(namespace, name)


def monitor_lock(namespace: str, name: str) -> asyncio.Lock:
    """One writer at a time per monitor's status (recording runs, retraining)."""
    return STATE.monitor_locks.setdefault((namespace, name), asyncio.Lock())


def accept(monitor: Any) -> ModelMonitorSpec:
    """The monitor's spec, parsed once per generation (``specs``); SpecError when it is invalid."""
    return STATE.specs.of(monitor)


async def credentials(spec: ModelMonitorSpec, namespace: str) -> dict[str, str] | None:
    if spec.credentials is None:
        return None
    from kubernetes.client.rest import ApiException

    name = spec.credentials.secret_ref.name
    try:
        return await api(STATE.kube.secret_env, namespace, name)
    except ApiException as error:
        if error.status == 404:
            raise SpecError(f"spec.credentials.secretRef: Secret {name!r} not found in namespace {namespace}") from None
        raise


async def mlflow_server(spec: ModelMonitorSpec, namespace: str) -> Mlflow:
    """The tracking server of a monitor's ``model.mlflow``, reached with its Secret's keys."""
    assert spec.model.mlflow is not None, "a monitor without model.mlflow has no tracking server"
    return Mlflow.at(spec.model.mlflow.tracking_uri, await credentials(spec, namespace))
