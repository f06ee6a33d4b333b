"""A check's tasks on Dask, run by workers that read the data themselves.

A feature read whole is one task; a streamed one is a map task per partition of each side
and pass, and a merge task per pass (``checks.streaming``); the labeled rows behind the
metrics and concept drift are two map tasks per partition and their merges
(``checks.labeled_parts``), and so is the performance estimation (``checks.estimation``): the
same stage functions the single-process path runs, so the results are identical. Only the spec, the evaluation time,
the task's arguments and (when the monitor has them) the data credentials travel to the
workers, the first three scattered once per check; each worker opens the sources once per
check and reads just its columns. Between workers travel the partitions' summaries (a
sample of at most a million values per column, bin counts of 80 KB per partition); back
to this process, one outcome per feature: its statistics and the report's bounded
histograms, a few kilobytes; and the labeled rows' confusion matrices per time bucket (plus
the rows themselves for the checks that need them); and each estimation partition's draw
sums. A task on a worker that dies is run again elsewhere by Dask
(up to its ``allowed-failures``); a scheduler that cannot be reached, a cluster without
workers and a check that outlives its time limit all raise :class:`DaskUnavailable`: the
whole check fails with the address and the reason (a run in ``Error``, the CLI's exit 2).
"""

from __future__ import annotations

import functools
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from modelmonitor.api.data import DataSource
from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.api.results import RanOn
from modelmonitor.checks.context import CheckContext, PinnedLabels
from modelmonitor.checks.executors import Task
from modelmonitor.errors import ExecutionError


class DaskUnavailable(ExecutionError):
    """The cluster cannot run the check: unreachable, no workers, or out of time."""


class Credentials:
    """Data credentials on their way to the workers: a mapping whose repr never shows a value."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)

    def __repr__(self) -> str:
        return f"<credentials: {len(self.values)} variables>"


class DaskMeasurer:
    """Runs a check's tasks on the Dask cluster whose scheduler is at ``address`` (``tcp://host:8786``)."""

    def __init__(
        self,
        address: str,
        *,
        env: Mapping[str, str] | None = None,
        connect_timeout: float = 10.0,
        check_timeout: float = 3600.0,
    ) -> None:
        self.address = address
        self.credentials = None if env is None else Credentials(env)
        self.connect_timeout = connect_timeout
        self.check_timeout = check_timeout
        self._workers = 0
        self._tasks_per_worker: dict[str, int] = {}

    def measure(self, context: CheckContext, tasks: Sequence[Task]) -> list[Any]:
        from distributed import Client, get_task_stream

        client = self._connect(Client)
        try:
            self._workers = len(client.scheduler_info(n_workers=-1)["workers"])
            inputs = _CheckInputs(
                portable(context.spec).model_dump_json(by_alias=True),
                context.now,
                self.credentials,
                context.label_slices(),
            )
            executor = _OnWorkers(client, client.scatter(inputs, hash=False, broadcast=True), uuid.uuid4().hex)
            with get_task_stream(client=client) as stream:
                futures = [task.submit(context, executor) for task in tasks]
                deadline = time.monotonic() + self.check_timeout
                outcomes = [self._result(future, deadline, client, futures) for future in futures]
            self._tasks_per_worker = dict(sorted(Counter(entry["worker"] for entry in stream.data).items()))
            return outcomes
        finally:
            client.close()

    def _result(self, future: Any, deadline: float, client: Any, futures: list[Any]) -> Any:
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            pending = [each for each in futures if not each.done()]
            client.cancel(pending)
            raise DaskUnavailable(
                f"dask scheduler {self.address}: {len(pending)} of {len(futures)} tasks unfinished "
                f"after {self.check_timeout:g}s"
            ) from None
        except Exception as error:  # a task that failed on every worker it was given to
            raise DaskUnavailable(f"dask scheduler {self.address}: {type(error).__name__}: {error}") from error

    def _connect(self, client_class: type) -> Any:
        try:
            client = client_class(self.address, timeout=self.connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise DaskUnavailable(
                f"dask scheduler {self.address}: cannot connect within {self.connect_timeout:g}s ({error})"
            ) from error
        try:
            client.wait_for_workers(1, timeout=self.connect_timeout)
        except TimeoutError as error:
            client.close()
            raise DaskUnavailable(
                f"dask scheduler {self.address}: no worker joined within {self.connect_timeout:g}s"
            ) from error
        return client

    def ran_on(self) -> RanOn:
        return RanOn("dask", workers=self._workers, scheduler=self.address, tasks_per_worker=self._tasks_per_worker)


def portable(spec: ModelMonitorSpec) -> ModelMonitorSpec:
    """The spec with local data paths made absolute: workers start in other directories."""

    def local(location: str) -> bool:
        return not urlparse(location).scheme

    def absolute(source: DataSource) -> DataSource:
        if source.uri is not None and local(source.uri):
            return source.model_copy(update={"uri": str(Path(source.uri).expanduser().resolve())})
        if source.kserve is not None and local(source.kserve.logs):
            logs = source.kserve.model_copy(update={"logs": str(Path(source.kserve.logs).expanduser().resolve())})
            return source.model_copy(update={"kserve": logs})
        return source

    sources = {"current": spec.data.current, "reference": spec.data.reference, "labels": spec.data.labels}
    data = spec.data.model_copy(update={side: absolute(found) for side, found in sources.items() if found})
    return spec.model_copy(update={"data": data})


@dataclass(frozen=True)
class _CheckInputs:
    """What every task of one check needs to open the data: sent to each worker once."""

    spec_json: str
    now: datetime
    credentials: Credentials | None
    pinned_labels: PinnedLabels | None  # the labels' slices, listed once by the check's process


class _OnWorkers:
    """Submits stage functions to the cluster, each with the check's inputs, under keys unique to the check."""

    def __init__(self, client: Any, inputs: Any, check: str) -> None:
        self.client, self.inputs, self.check = client, inputs, check
        self._numbers = itertools.count()

    def submit(self, function: Callable[..., Any], *args: Any) -> Any:
        key = f"modelmonitor-{function.__name__}-{self.check}-{next(self._numbers)}"  # keys are global to a scheduler
        return self.client.submit(_on_worker, function, self.inputs, *args, key=key, pure=False)


def _on_worker(function: Callable[..., Any], inputs: _CheckInputs, *args: Any) -> Any:
    credentials = inputs.credentials
    env = None if credentials is None else tuple(sorted(credentials.values.items()))
    return function(_context(inputs.spec_json, inputs.now, env, inputs.pinned_labels), *args)


@functools.lru_cache(maxsize=8)
def _context(
    spec_json: str, now: datetime, env: tuple[tuple[str, str], ...] | None, pinned_labels: PinnedLabels | None
) -> CheckContext:
    """One context per check on each worker: the sources are opened once (the labels indexed once), whatever
    the number of tasks."""
    spec = ModelMonitorSpec.model_validate_json(spec_json)
    return CheckContext.opened(spec, now, None if env is None else dict(env), pinned_labels)
