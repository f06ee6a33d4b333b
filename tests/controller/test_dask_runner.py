"""runner: dask on the real control plane: the operator sends a monitor's drift work to a real Dask cluster."""

from __future__ import annotations

import pytest

from modelmonitor.controller.runs import dask_scheduler
from modelmonitor.devcluster.processes import free_port
from modelmonitor.spec import Runner
from tests.controller.conftest import GROUP, VERSION, list_runs, monitor_document
from tests.controller.test_operator import finished_runs
from tests.distributed.conftest import DaskCluster, dask_cluster  # noqa: F401 - the fixture
from tests.helpers import eventually

pytestmark = pytest.mark.cluster


def test_a_dask_monitor_runs_its_drift_on_the_workers(
    start_operator,
    custom,
    namespace,
    samples,
    dask_cluster: DaskCluster,  # noqa: F811
) -> None:
    """The address comes from spec.dask here; the results say which workers ran the tasks."""
    start_operator()
    document = monitor_document(samples, "on-dask", "drifted", runner="dask", dask={"address": dask_cluster.address})
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)
    [run] = eventually(lambda: finished_runs(custom, namespace), timeout=120, what="a finished run")
    assert run["spec"]["runner"] == "dask" and run["status"]["phase"] == "Succeeded", run["status"]
    ran_on = run["status"]["results"]["ranOn"]
    assert ran_on["engine"] == "dask" and ran_on["scheduler"] == dask_cluster.address
    assert sum(ran_on["tasksPerWorker"].values()) == len(run["status"]["results"]["drift"]["features"]) + 2
    assert run["status"]["results"]["verdict"] == "Failed"  # the drifted sample drifts, on Dask as inline


def test_an_unreachable_scheduler_from_the_operators_flag_makes_the_run_an_error(
    start_operator, custom, namespace, samples
) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    start_operator("--dask-scheduler", address)
    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "modelmonitors", monitor_document(samples, "lost", runner="dask")
    )
    [run] = eventually(lambda: finished_runs(custom, namespace), timeout=120, what="a finished run")
    assert run["status"]["phase"] == "Error" and run["status"]["reason"] == "DaskUnavailable"
    assert run["status"]["message"].startswith(f"dask scheduler {address}: cannot connect within 10s")
    assert len(list_runs(custom, namespace)) == 1  # not retried in a loop


def test_the_scheduler_is_the_monitors_own_else_the_operators(samples) -> None:
    from modelmonitor.spec import parse_spec

    spec = monitor_document(samples, "m", runner="dask")["spec"]
    assert dask_scheduler(parse_spec(spec), "tcp://default:8786") == "tcp://default:8786"
    assert dask_scheduler(parse_spec(spec), None) is None
    own = parse_spec({**spec, "dask": {"address": "tcp://analytics-scheduler.dask.svc:8786"}})
    assert own.runner is Runner.DASK and dask_scheduler(own, "tcp://default:8786") == own.dask.address
