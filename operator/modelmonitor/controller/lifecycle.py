"""Start-up and clean-up: kopf's settings, the operator's state, and the HTTP port with its routes.

Start-up configures kopf (its state under its own annotation prefix), fills ``runtime.STATE``
and opens the HTTP port with every route registered here: the compare API and the web view.
They read the state; the state knows nothing of them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from modelmonitor.controller import compare_api, webview
from modelmonitor.controller.backoff import Backoff
from modelmonitor.controller.config import CONFIG
from modelmonitor.controller.kube import Kube, load_config
from modelmonitor.controller.membership import Membership
from modelmonitor.controller.memory import trim_periodically
from modelmonitor.controller.offload import CheckProcesses
from modelmonitor.controller.runtime import KOPF_PREFIX, STATE, api
from modelmonitor.controller.server import ProbeServer


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    # kopf ignores changes to annotations under its own prefix, so it must not be ours:
    # a user's modelmonitor.io/run-now has to count as a change
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=KOPF_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=KOPF_PREFIX, key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING  # our own Events say what happened; kopf's only on errors
    settings.networking.error_backoffs = [1, 2, 5, 10, 20]
    # a request or a watch that goes silent is given up and made again, never waited for forever:
    # watches restart after 70 s without an event (the API server's bookmarks come each minute)
    settings.networking.request_timeout, settings.networking.connect_timeout = 60.0, 10.0
    settings.watching.inactivity_timeout = 70.0
    settings.watching.server_timeout = 600  # an integer: the API server refuses "600.0"
    STATE.kube = Kube(await api(load_config))
    STATE.checks = CheckProcesses(CONFIG.check_processes)
    STATE.shard = Membership(CONFIG.shard_identity, CONFIG.shard_namespace, sharded=CONFIG.sharded)
    STATE.executing, STATE.executed, STATE.run_tasks = set(), set(), set()
    STATE.monitor_locks = {}
    STATE.recording = Backoff()
    STATE.trimming = asyncio.create_task(trim_periodically())
    STATE.server = ProbeServer(CONFIG.port, routes=compare_api.ROUTES, pages=webview.PAGES)
    await STATE.server.start()
    STATE.server.ready.set()


@kopf.on.cleanup()
async def cleanup(**_: Any) -> None:
    STATE.trimming.cancel()
    await STATE.server.stop()
    STATE.checks.close()
