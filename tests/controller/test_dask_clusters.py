"""Runner dask's scheduler: the monitor's own address, a DaskCluster's scheduler Service, or the operator's flag."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from modelmonitor.api.parsing import parse_spec
from modelmonitor.controller.runners.dask import Unresolved, address_of, scheduler_address
from tests.controller.conftest import monitor_document

NOT_READY = "DaskClusterNotReady"
SERVICE = {"spec": {"ports": [{"name": "http-dashboard", "port": 8787}, {"name": "tcp-comm", "port": 8786}]}}


def running(phase: str | None = "Running") -> dict[str, Any]:
    return {"status": {"phase": phase}} if phase else {}


def test_a_running_cluster_is_reached_at_its_scheduler_services_comm_port() -> None:
    assert address_of(running(), SERVICE, "analytics", "ml") == "tcp://analytics-scheduler.ml.svc:8786"
    renumbered = {"spec": {"ports": [{"name": "tcp-comm", "port": 9786}]}}
    assert address_of(running(), renumbered, "analytics", "ml") == "tcp://analytics-scheduler.ml.svc:9786"
    unnamed = {"spec": {"ports": [{"port": 8787}, {"port": 8786}]}}  # a hand-made Service without port names
    assert address_of(running(), unnamed, "analytics", "ml") == "tcp://analytics-scheduler.ml.svc:8786"


@pytest.mark.parametrize(
    ("cluster", "service", "reason", "message"),
    [
        (None, None, "DaskClusterNotFound", "DaskCluster ml/analytics not found"),
        (running(None), SERVICE, NOT_READY, "DaskCluster ml/analytics is without a phase yet, not Running"),
        (running("Pending"), SERVICE, NOT_READY, "DaskCluster ml/analytics is in phase Pending, not Running"),
        (running(), None, NOT_READY, "DaskCluster ml/analytics has no scheduler Service analytics-scheduler"),
        (
            running(),
            {"spec": {"ports": [{"name": "http-dashboard", "port": 8787}]}},
            "DaskClusterNotReady",
            "DaskCluster ml/analytics: Service analytics-scheduler has no port named tcp-comm (nor port 8786)",
        ),
    ],
)
def test_what_stands_in_the_way_is_named(cluster: Any, service: Any, reason: str, message: str) -> None:
    with pytest.raises(Unresolved) as raised:
        address_of(cluster, service, "analytics", "ml")
    assert (raised.value.reason, str(raised.value)) == (reason, message)


def test_the_monitors_own_address_comes_first_then_the_operators_flag(samples) -> None:
    spec = monitor_document(samples, "m", runner="dask")["spec"]
    assert asyncio.run(scheduler_address(parse_spec(spec), "ml", "tcp://default:8786")) == "tcp://default:8786"
    own = parse_spec({**spec, "dask": {"address": "tcp://analytics-scheduler.dask.svc:8786"}})
    assert asyncio.run(scheduler_address(own, "ml", "tcp://default:8786")) == "tcp://analytics-scheduler.dask.svc:8786"
    with pytest.raises(Unresolved) as raised:
        asyncio.run(scheduler_address(parse_spec(spec), "ml", None))
    assert raised.value.reason == "NoDaskScheduler" and "set spec.dask (address or cluster)" in str(raised.value)
