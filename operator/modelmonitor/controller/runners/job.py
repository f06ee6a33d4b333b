"""Runner job: the checks run in a Kubernetes Job of the run's name, judged strictly from the Job and its Pod.

The Job's container (``job_container``) writes the run's status itself; these handlers end
the run as an Error when the Job or its Pod ends without that: deleted, failed, unable to
pull its image, or completed without results.
"""

from __future__ import annotations

from typing import Any

import kopf

from modelmonitor.controller.config import CONFIG
from modelmonitor.controller.naming import MONITOR_LABEL, RUN_LABEL, runner_account_name
from modelmonitor.controller.runners.base import Execution
from modelmonitor.controller.runners.evaluation import TERMINAL_PHASES, error_status
from modelmonitor.controller.runners.job_objects import job_manifest, judge_job, judge_pod
from modelmonitor.controller.runtime import STATE, api, now, owner
from modelmonitor.times import iso


class JobRunner:
    name = "job"

    async def start(self, execution: Execution) -> None:
        namespace, name, monitor = execution.namespace, execution.name, execution.monitor
        template = execution.spec.job_template
        account = template.service_account_name if template and template.service_account_name else None
        if account is None:
            account = runner_account_name(monitor["metadata"]["name"])
            await api(
                STATE.kube.ensure_runner_identity, namespace, monitor["metadata"]["name"], account, owner(monitor)
            )
        job = job_manifest(
            run=name,
            monitor=monitor["metadata"]["name"],
            namespace=namespace,
            spec=execution.spec,
            image=CONFIG.runner_image,
            command=CONFIG.runner_command,
            service_account=account,
        )
        job["metadata"]["ownerReferences"] = [owner(execution.run)]
        await api(STATE.kube.create_job, namespace, job)
        started = execution.started_at or iso(now())
        running = {"phase": "Running", "startedAt": started, "runner": self.name, "job": name}
        await api(STATE.kube.patch_run_status, namespace, name, running)


RUNNER = JobRunner()


async def _end_run_with_error(namespace: str, run_name: str, reason: str, message: str, *, delete_job: bool) -> None:
    run = await api(STATE.kube.get_run, namespace, run_name)
    if run is None or (run.get("status") or {}).get("phase") in TERMINAL_PHASES:
        return
    status = error_status(reason, message, started_at=(run.get("status") or {}).get("startedAt"))
    status["job"] = run_name
    await api(STATE.kube.patch_run_status, namespace, run_name, status)
    if delete_job:
        await api(STATE.kube.delete_job, namespace, run_name)


@kopf.on.event("batch", "v1", "jobs", labels={RUN_LABEL: kopf.PRESENT})
async def job_changed(body: kopf.Body, namespace: str, type: str | None, **_: Any) -> None:
    run_name = body["metadata"]["labels"][RUN_LABEL]
    if not STATE.shard.owns(namespace, body["metadata"]["labels"].get(MONITOR_LABEL, "")):
        return
    if type == "DELETED":  # by hand, say, before the run wrote its results: it never will
        message = "the run's Job was deleted before the run wrote its results"
        await _end_run_with_error(namespace, run_name, "JobDeleted", message, delete_job=False)
        return
    pods = await api(STATE.kube.job_pods, namespace, body["metadata"]["name"])
    outcome = judge_job(dict(body), pods)
    if not outcome.finished:
        return
    if outcome.succeeded:
        run = await api(STATE.kube.get_run, namespace, run_name)
        if run is not None and (run.get("status") or {}).get("phase") not in TERMINAL_PHASES:
            await _end_run_with_error(
                namespace,
                run_name,
                "JobCompletedWithoutResults",
                "the Job completed but did not write the run's results",
                delete_job=False,
            )
        return
    await _end_run_with_error(namespace, run_name, outcome.reason, outcome.message, delete_job=False)


@kopf.on.event("", "v1", "pods", labels={RUN_LABEL: kopf.PRESENT})
async def pod_changed(body: kopf.Body, namespace: str, type: str | None, **_: Any) -> None:
    if type == "DELETED" or not STATE.shard.owns(namespace, body["metadata"]["labels"].get(MONITOR_LABEL, "")):
        return
    outcome = judge_pod(dict(body))
    if outcome.finished:  # a Pod that can never succeed: end the run, and the Job with it
        await _end_run_with_error(
            namespace, body["metadata"]["labels"][RUN_LABEL], outcome.reason, outcome.message, delete_job=True
        )
