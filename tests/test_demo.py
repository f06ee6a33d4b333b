"""The README's main command works: it judges, retrains, rolls out the better version and rolls back the worse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster


def test_the_demo_runs_end_to_end(control_plane, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "modelmonitor_tools.demo", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (
        "result: credit-risk-drifted=False credit-risk-healthy=True credit-risk-kserve=False credit-risk-live=True"
        in result.stdout
    )
    # the drifted model's rows through the collector and the bucket, judged as the ones in the file
    assert "requests and responses as KServe CloudEvents, then" in result.stdout
    verdicts = [line for line in result.stdout.splitlines() if line.startswith("Failed: accuracy=")]
    assert len(verdicts) == 2, result.stdout[-3000:]
    assert "DataDrift=True (DatasetDrift)" in result.stdout
    assert "Retraining=False (Succeeded)" in result.stdout
    assert "the retraining Job wrote credit-risk-v8.json: version 8" in result.stdout
    assert "credit-risk-live watches served traffic: version 7, Healthy=False" in result.stdout
    assert "credit-risk-v8: Promoted (NonInferior)" in result.stdout
    assert "credit-risk-live now follows version 8: Healthy=True" in result.stdout
    assert "credit-risk-v9: RolledBack (CandidateWorse)" in result.stdout
    # version 10 before its labels: mirrored, then rolled back on its estimated accuracy, no label in sight
    assert "credit-risk-v10: RolledBack (CandidateWorseEstimated), decided by estimates" in result.stdout
    assert "labelled rows {'baseline': 0, 'candidate': 0}; on the shadow step versions 8 and 10 agreed" in result.stdout
    # the registry, read with MLflow's own client: before, after the promotion, after the rollback
    registry = [line for line in result.stdout.splitlines() if line.startswith("MLflow registry, model credit-risk:")]
    assert [line.split(": aliases ")[1] for line in registry] == [
        "challenger=8 champion=7",
        "challenger=8 champion=8",
        "challenger=9 champion=8",
    ]
    assert "version 9 tagged by credit-risk-v9: decision=RolledBack" in result.stdout
    assert "version 7 tagged by credit-risk-v8: decision=Promoted" in result.stdout
    report = tmp_path / "reports" / "credit-risk-drifted.html"
    assert f"report of credit-risk-drifted's last run: {report.resolve()}" in result.stdout
    assert 'data-status="Failed"' in report.read_text() and "web view: http://127.0.0.1:" in result.stdout
