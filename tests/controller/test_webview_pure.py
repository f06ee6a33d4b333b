"""What the web view makes of a ModelMonitor: its health in a word, and a summary without secrets."""

from __future__ import annotations

import json

import pytest

from modelmonitor.controller.webview import health, monitor_summary


@pytest.mark.parametrize(
    ("conditions", "suspended", "expected"),
    [
        ({"Ready": {"status": "False", "reason": "InvalidSpec"}}, False, "Invalid"),
        ({"Ready": {"status": "False", "reason": "Suspended"}}, True, "Suspended"),
        ({"Ready": {"status": "True"}}, False, "Pending"),
        ({"Healthy": {"status": "True"}}, False, "Healthy"),
        ({"Healthy": {"status": "False", "reason": "RunError"}}, False, "Error"),
        ({"Healthy": {"status": "False", "reason": "ChecksFailed"}}, False, "Degraded"),
        ({"Healthy": {"status": "Unknown", "reason": "Inconclusive"}}, False, "Inconclusive"),
    ],
)
def test_health_in_one_word(conditions, suspended, expected) -> None:
    assert health(conditions, suspended=suspended) == expected


def test_a_summary_keeps_what_the_pages_show_and_no_uri_or_secret() -> None:
    body = {
        "metadata": {"namespace": "ml", "name": "m"},
        "spec": {
            "model": {"name": "credit", "version": "7"},
            "data": {"current": {"uri": "https://user:pw@host/logs"}},
            "credentials": {"secretRef": {"name": "creds"}},
            "metrics": [{"name": "accuracy", "min": 0.8}],
            "drift": {"method": "auto"},
        },
        "status": {
            "conditions": [{"type": "Healthy", "status": "False", "reason": "ChecksFailed", "message": "accuracy low"}],
            "lastRun": {"name": "m-g1", "completedAt": "2026-11-23T12:00:00Z", "metrics": {"accuracy": 0.7}},
            "retraining": {"active": [{"startedAt": "2026-11-23T12:01:00Z"}], "last": None},
        },
    }
    summary = monitor_summary(body)
    assert summary["health"] == "Degraded" and summary["message"] == "accuracy low"
    assert summary["thresholds"] == {"accuracy": {"min": 0.8, "max": None}}
    assert summary["datasetDriftShare"] == 0.5  # the spec's default
    assert summary["retrainingStarts"] == ["2026-11-23T12:01:00Z"]
    shown = json.dumps(summary)
    assert "pw" not in shown and "host" not in shown and "creds" not in shown
