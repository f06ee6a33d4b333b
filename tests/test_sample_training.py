"""The demo's retraining step refits the changed relationship and writes the next version."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modelmonitor_tools.sample_training import train
from modelmonitor_tools.samples import write_samples

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def context(start: datetime, end: datetime) -> dict[str, str]:
    window = {
        "windowStart": start.isoformat().replace("+00:00", "Z"),
        "windowEnd": end.isoformat().replace("+00:00", "Z"),
    }
    return {"MODELMONITOR_CONTEXT": json.dumps({"modelName": "credit-risk", "modelVersion": "7", **window})}


def test_the_new_version_beats_the_degraded_model_on_the_changed_window(tmp_path: Path) -> None:
    write_samples(tmp_path, now=NOW)
    written = train(tmp_path / "drifted.parquet", tmp_path / "models", context(NOW - timedelta(hours=24), NOW))
    model = json.loads(written.read_text())
    assert written.name == "credit-risk-v8.json" and model["version"] == "8"
    assert model["heldOutAccuracy"] > 0.8  # the degraded version 7 scores about 0.64 on this window
    assert model["trigger"]["modelVersion"] == "7" and len(model["coefficients"]) == len(model["features"])


def test_too_few_labelled_rows_is_a_clear_error(tmp_path: Path) -> None:
    write_samples(tmp_path, now=NOW)
    with pytest.raises(SystemExit, match="only 0 labelled rows in the window"):
        train(
            tmp_path / "drifted.parquet",
            tmp_path / "models",
            context(NOW + timedelta(hours=1), NOW + timedelta(hours=2)),
        )
