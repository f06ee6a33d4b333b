"""What a check process runs for an inline run: the inline size limit is judged there, before any data is read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from modelmonitor.api.parsing import parse_spec
from modelmonitor.controller.runners.work import evaluate_run
from modelmonitor.times import iso
from tests.controller.conftest import monitor_document

RUN_SPEC = {"monitor": "m", "trigger": "schedule", "evaluateAt": "2030-01-01T00:00:00Z", "runner": "inline"}


def _spec(samples: Path, **changes: object):
    return parse_spec(monitor_document(samples, "m", **changes)["spec"])


def test_data_over_the_inline_limit_is_refused_with_the_way_out(samples: Path) -> None:
    status = evaluate_run("m", _spec(samples), RUN_SPEC, None, None, 1024)
    assert (status["phase"], status["reason"]) == ("Error", "InlineDataTooLarge")
    assert "over the inline limit" in status["message"] and status["message"].endswith("set spec.runner to job")
    assert "results" not in status


def test_data_within_the_limit_or_with_no_limit_is_evaluated(samples: Path) -> None:
    run_spec = {**RUN_SPEC, "evaluateAt": iso(datetime.now(UTC))}
    for limit in (2**30, None):
        status = evaluate_run("m", _spec(samples), run_spec, None, None, limit)
        assert status["phase"] == "Succeeded", status.get("message")
        assert status["results"]["verdict"]


def test_unreadable_data_is_reported_by_the_evaluation_naming_the_file(samples: Path, tmp_path: Path) -> None:
    document = monitor_document(samples, "m")
    document["spec"]["data"]["current"]["uri"] = str(tmp_path / "missing.parquet")
    status = evaluate_run("m", parse_spec(document["spec"]), RUN_SPEC, None, None, 1024)
    assert (status["phase"], status["reason"]) == ("Error", "SourceError")
    assert "missing.parquet" in status["message"]
