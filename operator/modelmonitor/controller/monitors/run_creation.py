"""MonitorRuns: made for a slot, a spec change or the run-now annotation; and the index of each monitor's runs."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import kopf

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.controller.naming import GROUP, MONITOR_LABEL, RUN_NOW_ANNOTATION, VERSION, run_now_name
from modelmonitor.controller.runners.registry import choose_runner
from modelmonitor.controller.runtime import MM, MR, STATE, accept, api, now, owner, owns_monitor
from modelmonitor.errors import SpecError
from modelmonitor.times import iso

_log = logging.getLogger(__name__)


@kopf.on.create(*MM, annotations={RUN_NOW_ANNOTATION: kopf.PRESENT}, backoff=5, when=owns_monitor)
@kopf.on.update(*MM, annotations={RUN_NOW_ANNOTATION: kopf.PRESENT}, backoff=5, when=owns_monitor)
async def run_now(body: kopf.Body, spec: kopf.Spec, meta: kopf.Meta, **_: Any) -> None:
    request = meta["annotations"][RUN_NOW_ANNOTATION]
    try:
        parsed = accept(body)
    except SpecError as error:
        kopf.warn(body, reason="RunNowIgnored", message=f"the spec is invalid: {error}")
    else:
        if parsed.suspend:
            kopf.warn(body, reason="RunNowIgnored", message="the monitor is suspended")
        else:
            await create_run(body, parsed, run_now_name(meta["name"], meta["uid"], request), "runNow", now())
    # cleared only while it still asks for this run: a newer request stays for its own update
    await api(STATE.kube.clear_monitor_annotation, meta["namespace"], meta["name"], RUN_NOW_ANNOTATION, request)


async def create_run(body: kopf.Body, spec: ModelMonitorSpec, name: str, trigger: str, evaluate_at: datetime) -> None:
    namespace, monitor = body["metadata"]["namespace"], body["metadata"]["name"]
    run = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "MonitorRun",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {MONITOR_LABEL: monitor},
            "ownerReferences": [owner(body)],
        },
        "spec": {
            "monitor": monitor,
            "trigger": trigger,
            "evaluateAt": iso(evaluate_at),
            "runner": await choose_runner(spec, namespace),
            "generation": body["metadata"]["generation"],
        },
    }
    if await api(STATE.kube.create_run, namespace, run):  # logged, not an Event: one write fewer per run
        _log.debug("created MonitorRun %s/%s (%s, %s runner)", namespace, name, trigger, run["spec"]["runner"])


@kopf.index(*MR)
def runs_by_monitor(
    namespace: str, name: str, spec: kopf.Spec, status: kopf.Status, meta: kopf.Meta, **_: Any
) -> dict[tuple[str, str], dict[str, Any]]:
    """Each monitor's runs, as the watch last saw them: what the schedule timer reconciles."""
    return {
        (namespace, spec["monitor"]): {
            "metadata": {"name": name, "creationTimestamp": meta.get("creationTimestamp")},
            "status": {"phase": status.get("phase"), "completedAt": status.get("completedAt")},
        }
    }
