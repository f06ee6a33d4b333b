"""What the run Job's container does (``modelmonitor run``): evaluate one MonitorRun and write its status.

It runs without the operator: it reads the run and its monitor, evaluates in its own
process (credentials arrive as the Pod's environment) and writes the status, waiting out
an API server that is away for a while.
"""

from __future__ import annotations

import sys

from modelmonitor.api.parsing import parse_spec
from modelmonitor.controller.kube import Kube, load_config, with_retries
from modelmonitor.controller.runners.evaluation import TERMINAL_PHASES, error_status, evaluate
from modelmonitor.errors import SpecError


def evaluate_and_write(namespace: str, name: str) -> int:
    """Evaluate the MonitorRun ``namespace/name`` and write its status; the exit code."""
    # the API server may be away for a while (restarted, say): the results are worth waiting for
    kube = Kube(load_config())
    run = with_retries(lambda: kube.get_run(namespace, name))
    if run is None:
        print(f"error: MonitorRun {namespace}/{name} not found", file=sys.stderr)
        return 2
    if (run.get("status") or {}).get("phase") in TERMINAL_PHASES:
        print(f"MonitorRun {name} has finished already")
        return 0
    monitor_name = run["spec"]["monitor"]
    monitor = with_retries(lambda: kube.get_monitor(namespace, monitor_name))
    if monitor is None:
        print(f"error: ModelMonitor {namespace}/{monitor_name} not found", file=sys.stderr)
        return 2
    started = (run.get("status") or {}).get("startedAt")
    try:
        spec = parse_spec(monitor["spec"], namespace=namespace)
    except SpecError as error:
        status = error_status("InvalidSpec", str(error), started_at=started)
    else:
        status = evaluate(monitor_name, spec, run["spec"], env=None)  # credentials arrive as the Pod's env
        if started:
            status["startedAt"] = started
    status.update(runner="job", job=name)
    with_retries(lambda: kube.patch_run_status(namespace, name, status))
    print(f"{name}: {status['phase']} ({status.get('message', '')})")
    return 0 if status["phase"] == "Succeeded" else 2
