"""Deterministic names and labels, so a retried or restarted operator never runs a slot twice."""

from __future__ import annotations

import hashlib
from datetime import datetime

from modelmonitor.api.monitor import API_GROUP, API_VERSION

GROUP, VERSION = API_GROUP, API_VERSION  # the controller's short names for the one definition in api/monitor.py

MONITORS = "modelmonitors"
RUNS = "monitorruns"
ROLLOUTS = "modelrollouts"
MONITOR_LABEL = f"{GROUP}/monitor"
RUN_LABEL = f"{GROUP}/run"
RUN_NOW_ANNOTATION = f"{GROUP}/run-now"
RETRAIN_NOW_ANNOTATION = f"{GROUP}/retrain-now"
SHARD_OWNER_ANNOTATION = f"{GROUP}/shard-owner"  # the replica that owns a monitor, when sharded


def slot_run_name(monitor: str, slot: datetime) -> str:
    """``credit-risk-20261123120000``: one run per schedule slot."""
    return f"{monitor}-{slot:%Y%m%d%H%M%S}"


def spec_change_run_name(monitor: str, generation: int) -> str:
    return f"{monitor}-g{generation}"


def run_now_name(monitor: str, uid: str, request: str) -> str:
    """One run per distinct value of the run-now annotation."""
    digest = hashlib.sha256(f"{uid}/{request}".encode()).hexdigest()[:10]
    return f"{monitor}-now-{digest}"


def runner_account_name(monitor: str) -> str:
    return f"{monitor}-runner"
