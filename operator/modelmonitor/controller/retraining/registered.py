"""The model version a succeeded retraining registered in the monitor's MLflow registry, for its status.

The training is told its object's name (``MODELMONITOR_RETRAINING``) and tags the version it
registers with it (``modelmonitor.retraining``), as the sample training does
(docs/retraining.md). A succeeded retraining is looked up by that tag: the newest such version
is recorded as ``status.retraining.last.registeredVersion``. A registry that cannot say is
told in ``registryMessage``, and the outcome is recorded all the same.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.controller.runtime import mlflow_server
from modelmonitor.errors import ModelMonitorError
from modelmonitor.tracking.registry import versions_tagged

RETRAINING_TAG = "modelmonitor.retraining"
_log = logging.getLogger(__name__)


async def registered_version(spec: ModelMonitorSpec | None, namespace: str, retraining: str) -> dict[str, Any]:
    """What to add to ``status.retraining.last`` of a succeeded retraining: its registered version, or why
    there is none; nothing for a model outside a registry."""
    if spec is None or spec.model.mlflow is None:
        return {}
    model = spec.model.mlflow
    try:
        server = await mlflow_server(spec, namespace)
        found = await asyncio.to_thread(versions_tagged, server, model.name, RETRAINING_TAG, retraining)
    except ModelMonitorError as error:
        _log.warning("the version retraining %s/%s registered is unknown: %s", namespace, retraining, error)
        return {"registryMessage": str(error)[:1000]}
    if not found:
        return {"registryMessage": f"no version of {model.name!r} is tagged {RETRAINING_TAG}={retraining}"}
    return {"registeredVersion": found[0].version}
