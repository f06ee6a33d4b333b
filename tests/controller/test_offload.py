"""The check processes: calls run in workers forked from a fork server; a worker killed mid-call is
survived, twice is an error."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelmonitor.controller.offload import CheckProcessDied, CheckProcesses
from tests.controller import offload_work


def test_a_call_runs_in_another_process_and_returns_its_value() -> None:
    async def main() -> tuple[int, int]:
        processes = CheckProcesses(1)
        try:
            return await processes.call(offload_work.pid_plus, 5)
        finally:
            processes.close()

    pid, plus = asyncio.run(main())
    assert pid != os.getpid() and plus == 5


def test_workers_are_forked_from_one_process_that_loaded_the_science_stack_before_them() -> None:
    stack = ["pandas", "pyarrow", "scipy.stats", "sklearn.isotonic", "modelmonitor.checks"]

    async def main() -> list[tuple[int, list[str]]]:
        processes = CheckProcesses(2)
        try:
            return await asyncio.gather(*(processes.call(offload_work.parent_and_loaded, stack) for _ in range(4)))
        finally:
            processes.close()

    answers = asyncio.run(main())
    parents = {parent for parent, _ in answers}
    assert len(parents) == 1 and os.getpid() not in parents  # the fork server, not the operator
    assert all(loaded == stack for _, loaded in answers)


def test_what_the_workers_share_is_frozen_out_of_their_garbage_collectors_sight() -> None:
    async def main() -> int:
        processes = CheckProcesses(1)
        try:
            return await processes.call(offload_work.frozen_objects)
        finally:
            processes.close()

    assert asyncio.run(main()) > 50_000  # the science stack's objects: a collection would copy their pages


def test_an_error_raised_in_the_worker_reaches_the_caller_as_itself() -> None:
    from modelmonitor.errors import DataError

    async def main() -> None:
        processes = CheckProcesses(1)
        try:
            await processes.call(offload_work.fail_with, "no such file: x.parquet")
        finally:
            processes.close()

    with pytest.raises(DataError, match=r"no such file: x\.parquet"):
        asyncio.run(main())


def test_a_worker_killed_once_is_replaced_and_the_call_tried_again(tmp_path) -> None:
    marker = tmp_path / "killed-once"

    async def main() -> tuple[int, str]:
        processes = CheckProcesses(1)
        try:
            return await processes.call(offload_work.die_once, str(marker))
        finally:
            processes.close()

    pid, answer = asyncio.run(main())
    assert marker.read_text() != str(pid)  # the second worker answered, not the killed one
    assert answer == "survived"


def test_a_call_that_kills_its_worker_twice_is_an_error_and_the_next_call_works() -> None:
    async def main() -> tuple[str, int]:
        processes = CheckProcesses(2)
        try:
            with pytest.raises(CheckProcessDied, match="ended abruptly twice"):
                await processes.call(offload_work.die)
            pid, _ = await processes.call(offload_work.pid_plus, 0)
            return "raised", pid
        finally:
            processes.close()

    outcome, pid = asyncio.run(main())
    assert outcome == "raised" and pid != os.getpid()


def test_calls_waiting_for_a_slot_are_not_charged_for_a_worker_another_call_killed() -> None:
    async def main() -> list[object]:
        processes = CheckProcesses(1)
        try:
            killer = asyncio.create_task(processes.call(offload_work.die))
            await asyncio.sleep(0)  # it takes the one slot first
            waiting = [processes.call(offload_work.pid_plus, index) for index in range(3)]
            return await asyncio.gather(killer, *waiting, return_exceptions=True)
        finally:
            processes.close()

    killer, *others = asyncio.run(main())
    assert isinstance(killer, CheckProcessDied)
    assert [plus for _, plus in others] == [0, 1, 2]  # type: ignore[misc]


def test_workers_end_when_the_operator_is_killed(tmp_path) -> None:
    pids = tmp_path / "pids"
    script = (
        "import asyncio, os, sys, time\n"
        "from modelmonitor.controller.offload import CheckProcesses\n"
        "from tests.controller import offload_work\n"
        "async def main():\n"
        "    processes = CheckProcesses(2)\n"
        "    found = await asyncio.gather(*(processes.call(offload_work.pid_plus, 0) for _ in range(2)))\n"
        "    fork_server, _ = await processes.call(offload_work.parent_and_loaded, [])\n"
        f"    open({str(pids)!r}, 'w').write(' '.join(str(pid) for pid, _ in found) + f' {{fork_server}}')\n"
        "    time.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=os.getcwd())
    try:
        deadline = time.monotonic() + 60
        while not pids.exists() or not pids.read_text():
            assert time.monotonic() < deadline, "the workers never answered"
            time.sleep(0.1)
        processes = [int(pid) for pid in pids.read_text().split()]  # the workers, then their fork server
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in processes):
        assert time.monotonic() < deadline, f"check processes outlived the operator: {processes}"
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_the_operator_process_never_loads_the_science_stack() -> None:
    code = (
        "import sys\n"
        "import modelmonitor.controller.handlers, modelmonitor.controller.main\n"
        "print(' '.join(m for m in ('pandas', 'numpy', 'scipy', 'sklearn', 'pyarrow', 'fsspec') if m in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []


def test_every_modelmonitor_error_survives_the_trip_from_a_check_process() -> None:
    import pickle

    from modelmonitor.distributed.dask_measurer import DaskUnavailable
    from modelmonitor.errors import ColumnError, DataError, ExecutionError, SourceError, SpecError

    errors = [
        SpecError("spec.window: must be positive"),
        ExecutionError("no workers"),
        DataError("empty"),
        SourceError("/data/gone.parquet", "no such file or directory"),
        ColumnError("label", "not found"),
        DaskUnavailable("tcp://dask:8786: no scheduler"),
    ]
    for error in errors:
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and str(back) == str(error) and back.__dict__ == error.__dict__


def test_a_source_error_from_a_worker_arrives_naming_the_file() -> None:
    from modelmonitor.errors import SourceError

    async def main() -> None:
        processes = CheckProcesses(1)
        try:
            await processes.call(offload_work.missing_file, "/data/gone.parquet")
        finally:
            processes.close()

    with pytest.raises(SourceError, match=r"/data/gone\.parquet: no such file") as raised:
        asyncio.run(main())
    assert raised.value.uri == "/data/gone.parquet"
