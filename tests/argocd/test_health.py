"""The Argo CD health checks in a real Lua 5.1 runtime: their health_test.yaml cases, as Argo CD runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.argocd.lua import CUSTOMIZATIONS, health

CASES = [
    (test_file.parent, case)
    for test_file in sorted(CUSTOMIZATIONS.glob("*/*/health_test.yaml"))
    for case in yaml.safe_load(test_file.read_text())["tests"]
]


def test_every_kind_has_a_check_and_cases_for_every_status_it_gives() -> None:
    kinds = {path.parent.name for path in CUSTOMIZATIONS.glob("modelmonitor.io/*/health.lua")}
    assert kinds == {"ModelMonitor", "MonitorRun"}
    statuses = {(folder.name, case["healthStatus"]["status"]) for folder, case in CASES}
    assert {("ModelMonitor", s) for s in ("Healthy", "Degraded", "Progressing", "Suspended")} <= statuses
    assert {("MonitorRun", s) for s in ("Healthy", "Degraded", "Progressing")} <= statuses


@pytest.mark.parametrize(("folder", "case"), CASES, ids=[f"{f.name}-{c['inputPath']}" for f, c in CASES])
def test_health_test_cases(folder: Path, case: dict) -> None:
    obj = yaml.safe_load((folder / case["inputPath"]).read_text())
    assert health(folder / "health.lua", obj) == case["healthStatus"]


def test_a_script_error_is_not_swallowed() -> None:
    """A check that breaks on an odd object fails loudly (Argo CD shows the error), never reports Healthy."""
    with pytest.raises(Exception, match="attempt to compare"):
        odd = {"metadata": {"generation": "x"}, "status": {"observedGeneration": 1}}
        health(CUSTOMIZATIONS / "modelmonitor.io" / "ModelMonitor" / "health.lua", odd)
