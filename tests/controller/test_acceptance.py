"""Accepting a spec writes its status before it creates the spec's run, merged into the conditions as they are."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import kopf
import pytest

from modelmonitor.controller.membership import Membership
from modelmonitor.controller.monitors import acceptance
from modelmonitor.controller.runtime import STATE
from tests.controller.test_validation import VALID

T0 = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
HEALTHY = {"type": "Healthy", "status": "False", "reason": "RunError", "message": "gone.parquet: no such file"}


class FakeKube:
    """The monitor as the API server holds it: its first run already recorded (Healthy written)."""

    def __init__(self, steps: list[str]) -> None:
        self.steps = steps
        self.status: dict[str, Any] = {"lastRun": {"name": "m-g1", "generation": 1}, "conditions": [HEALTHY]}

    def get_monitor(self, namespace: str, name: str) -> dict[str, Any]:
        return {"metadata": {"namespace": namespace, "name": name, "generation": 1}, "status": self.status}

    def patch_monitor_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.steps.append("status written")
        self.status = {**self.status, **status}


@pytest.fixture
def accepted(monkeypatch: pytest.MonkeyPatch) -> Any:
    steps: list[str] = []
    kube = FakeKube(steps)
    for attribute, value in {
        "kube": kube,
        "monitor_locks": {},
        "shard": Membership(identity="one", namespace="ns", sharded=False),
    }.items():
        monkeypatch.setattr(STATE, attribute, value, raising=False)

    async def create_run(body: Any, spec: Any, name: str, trigger: str, evaluate_at: datetime) -> None:
        steps.append(f"run {name} created")

    monkeypatch.setattr(acceptance, "now", lambda: T0)
    monkeypatch.setattr(acceptance, "create_run", create_run)
    monkeypatch.setattr(acceptance, "condition_event", lambda body, condition: None)

    def accept(event_status: dict[str, Any], generation: int = 1) -> kopf.Patch:
        meta = {
            "namespace": "ns",
            "name": "m",
            "generation": generation,
            "uid": "u",
            "creationTimestamp": "2026-11-23T11:00:00Z",
        }
        body = kopf.Body({"metadata": meta, "spec": VALID["spec"], "status": event_status})
        patch = kopf.Patch()
        asyncio.run(
            acceptance.accept_spec(
                body=body, spec=body.spec, meta=body.meta, status=body.status, patch=patch, reason="create"
            )
        )
        return patch

    return accept, kube, steps


def test_a_run_recorded_before_the_spec_is_accepted_keeps_its_conditions(accepted: Any) -> None:
    accept, kube, _ = accepted
    patch = accept(event_status={})  # the creation's event: no status yet
    assert {c["type"]: c["status"] for c in kube.status["conditions"]} == {"Healthy": "False", "Ready": "True"}
    assert kube.status["observedGeneration"] == 1 and kube.status["nextRunAt"]
    assert "status" not in patch  # nothing left for kopf to write over the record when the handler returns


def test_the_spec_changes_run_is_created_after_its_status_is_written(accepted: Any) -> None:
    accept, _, steps = accepted
    accept(event_status={"lastRun": {"name": "m-g1", "generation": 1}}, generation=2)
    assert steps == ["status written", "run m-g2 created"]
