"""Runner dask: the checks run in a check process, and their drift work on a Dask cluster's workers.

The work goes to the monitor's spec.dask, else to the operator's --dask-scheduler.

``spec.dask.cluster`` names a DaskCluster of the dask-kubernetes operator; at each run its
scheduler Service (``{cluster}-scheduler``, which that operator creates) is looked up and
its ``tcp-comm`` port becomes the address, as the operator's own workers reach it. The
lookup happens per run, so a cluster re-created with another port or namespace is followed.
"""

from __future__ import annotations

from typing import Any

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.controller.config import CONFIG
from modelmonitor.controller.kube import KindNotServed
from modelmonitor.controller.runners.base import Execution
from modelmonitor.controller.runners.evaluation import error_status
from modelmonitor.controller.runners.offloaded import evaluate_offloaded
from modelmonitor.controller.runtime import STATE, api

DASK_CLUSTER_API = "kubernetes.dask.org/v1"
COMM_PORT = "tcp-comm"  # the name the dask-kubernetes operator gives the scheduler's port
DEFAULT_COMM_PORT = 8786


class Unresolved(Exception):
    """No scheduler address for a run: a reason for its Error status, and a message naming what is missing."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def scheduler_service(cluster: str) -> str:
    return f"{cluster}-scheduler"


def address_of(cluster: dict[str, Any] | None, service: dict[str, Any] | None, name: str, namespace: str) -> str:
    """The scheduler address of the DaskCluster ``namespace/name``, from it and its scheduler Service."""
    where = f"DaskCluster {namespace}/{name}"
    if cluster is None:
        raise Unresolved("DaskClusterNotFound", f"{where} not found")
    phase = (cluster.get("status") or {}).get("phase")
    if phase != "Running":
        state = f"in phase {phase}" if phase else "without a phase yet"
        raise Unresolved("DaskClusterNotReady", f"{where} is {state}, not Running")
    if service is None:
        raise Unresolved("DaskClusterNotReady", f"{where} has no scheduler Service {scheduler_service(name)}")
    ports = (service.get("spec") or {}).get("ports") or []
    port = next((p for p in ports if p.get("name") == COMM_PORT), None)
    port = port or next((p for p in ports if p.get("port") == DEFAULT_COMM_PORT), None)
    if port is None:
        raise Unresolved(
            "DaskClusterNotReady",
            f"{where}: Service {scheduler_service(name)} has no port named {COMM_PORT} (nor port {DEFAULT_COMM_PORT})",
        )
    return f"tcp://{scheduler_service(name)}.{namespace}.svc:{port['port']}"


async def scheduler_address(spec: ModelMonitorSpec, namespace: str, default: str | None) -> str:
    """The address of the scheduler a run of ``spec`` (a monitor in ``namespace``) uses, or :class:`Unresolved`."""
    reference = spec.dask
    if reference is None:
        if default is None:
            raise Unresolved(
                "NoDaskScheduler",
                "runner dask, but no scheduler: set spec.dask (address or cluster), "
                "or start the operator with --dask-scheduler",
            )
        return default
    if reference.address is not None:
        return reference.address
    assert reference.cluster is not None  # the spec holds exactly one of them
    where = reference.cluster_namespace or namespace
    try:
        cluster = await api(STATE.kube.get_object, where, DASK_CLUSTER_API, "DaskCluster", reference.cluster)
    except KindNotServed:
        raise Unresolved(
            "DaskClusterNotFound",
            f"the API server serves no DaskCluster ({DASK_CLUSTER_API}): install the dask-kubernetes operator",
        ) from None
    service = None
    if cluster is not None:
        service = await api(STATE.kube.get_object, where, "v1", "Service", scheduler_service(reference.cluster))
    return address_of(cluster, service, reference.cluster, where)


class DaskRunner:
    name = "dask"

    async def start(self, execution: Execution) -> None:
        try:
            scheduler = await scheduler_address(execution.spec, execution.namespace, CONFIG.dask_scheduler)
        except Unresolved as error:
            status = error_status(error.reason, str(error))
            await api(STATE.kube.patch_run_status, execution.namespace, execution.name, status)
            return
        # no size limit: the check process reads only the label and score columns itself
        await evaluate_offloaded(execution, runner=self.name, dask_scheduler=scheduler, max_bytes=None)


RUNNER = DaskRunner()
