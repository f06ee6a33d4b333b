"""A rollout whose versions are named by aliases of the monitor's MLflow model: resolved when it starts, and its
decision written back to the registry when it ends.

* **Start.** ``candidate: {mlflow: {alias: challenger}}`` names the version the alias names
  when the rollout starts. That version is pinned in ``status.versions`` for the whole rollout:
  an alias moved meanwhile changes nothing until the spec changes.
* **Promoted.** The alias the monitor follows (its ``model.mlflow.alias``, else ``champion``)
  moves to the candidate, and both versions are tagged with the decision, the primary
  metric's interval and the rollout's name.
* **Rolled back.** The candidate alone is tagged; the aliases stay where they are.

The tags are written before the alias moves, and the whole is done again until it succeeds
(``status.registryRecordedAt``): both are idempotent.
"""

from __future__ import annotations

import asyncio

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.api.registry import MlflowModel
from modelmonitor.api.rollout import ModelRolloutSpec
from modelmonitor.controller.rollouts import state as states
from modelmonitor.controller.runtime import STATE, accept, api, mlflow_server
from modelmonitor.errors import ModelMonitorError, SpecError
from modelmonitor.tracking.registry import resolve, set_alias, tag_version

DEFAULT_ALIAS = "champion"
TAG = "modelmonitor.rollout"


class NotInRegistry(ModelMonitorError):
    """A rollout names a version by alias, but its monitor's model is not in a registry."""


def decision_tags(
    spec: ModelRolloutSpec, rollout: str, phase: str, versions: dict[str, str], interval: str
) -> dict[str, dict[str, str]]:
    """The tags each version gets for a decision, by version: both when promoted, the candidate's when rolled back."""
    decided = {TAG: rollout, f"{TAG}.decision": phase, f"{TAG}.metric": str(spec.analysis.metric)}
    if interval:
        decided[f"{TAG}.interval"] = interval
    roles = ("baseline", "candidate") if phase == states.PROMOTED else ("candidate",)
    return {versions[role]: {**decided, f"{TAG}.role": role} for role in roles}


def followed_alias(model: MlflowModel) -> str:
    """The alias a promotion moves: the one the monitor follows."""
    return model.alias or DEFAULT_ALIAS


async def resolved_arms(spec: ModelRolloutSpec, namespace: str) -> ModelRolloutSpec:
    """``spec`` with each alias arm's version as the registry names it now; ``spec`` itself without aliases.

    Raises ModelMonitorError (NotInRegistry, RegistryError, SpecError) when it cannot say.
    """
    if not spec.by_alias:
        return spec
    monitor, model = await _registered_model(spec, namespace)
    server = await mlflow_server(monitor, namespace)
    versions = {}
    for role in ("baseline", "candidate"):
        arm = getattr(spec, role)
        if arm.mlflow is not None:
            found = await asyncio.to_thread(resolve, server, model.name, alias=arm.mlflow.alias)
            versions[role] = found.version
    pinned = spec.pinned(versions)
    assert pinned is not None  # every alias arm was resolved
    if pinned.baseline.version == pinned.candidate.version:
        raise NotInRegistry(f"baseline and candidate are both version {pinned.candidate.version} of {model.name!r}")
    return pinned


async def record_decision(
    spec: ModelRolloutSpec, namespace: str, rollout: str, state: states.RolloutState, interval: str
) -> str:
    """Write a finished rollout's decision into the registry (see the module's docstring); what was done, in words.

    ``interval``: the primary metric's difference as the status shows it. Raises ModelMonitorError when
    the registry cannot be written.
    """
    monitor, model = await _registered_model(spec, namespace)
    server = await mlflow_server(monitor, namespace)
    tags = decision_tags(spec, rollout, state.phase, dict(state.versions), interval)
    for version, version_tags in tags.items():
        await asyncio.to_thread(tag_version, server, model.name, version, version_tags)
    if state.phase != states.PROMOTED:
        return f"version {state.versions['candidate']} of {model.name} tagged {state.phase}"
    alias = followed_alias(model)
    await asyncio.to_thread(set_alias, server, model.name, alias, state.versions["candidate"])
    return f"alias {alias} of {model.name} moved to version {state.versions['candidate']}; both versions tagged"


async def _registered_model(spec: ModelRolloutSpec, namespace: str) -> tuple[ModelMonitorSpec, MlflowModel]:
    name = spec.monitor_ref.name
    document = await api(STATE.kube.get_monitor, namespace, name)
    if document is None:
        raise NotInRegistry(f"ModelMonitor {name} not found in namespace {namespace}")
    try:
        monitor = accept(document)
    except SpecError as error:
        raise NotInRegistry(f"ModelMonitor {name}: {error}") from None
    if monitor.model.mlflow is None:
        raise NotInRegistry(f"a version is named by an MLflow alias, but ModelMonitor {name} has no model.mlflow")
    return monitor, monitor.model.mlflow
