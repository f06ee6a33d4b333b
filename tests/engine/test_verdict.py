from __future__ import annotations

import json
import math

import pytest

from modelmonitor.api.results import MetricResult, Results, Window
from modelmonitor.api.verdict import Verdict, worst
from modelmonitor.engine.verdict import describe_bounds, judge


def test_worst_orders_by_severity() -> None:
    assert worst() is Verdict.PASSED
    assert worst(Verdict.PASSED, Verdict.INCONCLUSIVE) is Verdict.INCONCLUSIVE
    assert worst(Verdict.ERROR, Verdict.INCONCLUSIVE) is Verdict.ERROR
    assert worst(Verdict.ERROR, Verdict.FAILED, Verdict.PASSED) is Verdict.FAILED


@pytest.mark.parametrize(
    ("value", "minimum", "maximum", "verdict"),
    [
        (0.5, None, None, Verdict.PASSED),
        (0.5, 0.6, None, Verdict.FAILED),
        (0.7, 0.6, 0.8, Verdict.PASSED),
        (0.9, 0.6, 0.8, Verdict.FAILED),
        (0.6, 0.6, 0.6, Verdict.PASSED),
    ],
)
def test_judge(value: float, minimum: float | None, maximum: float | None, verdict: Verdict) -> None:
    assert judge(value, minimum=minimum, maximum=maximum) is verdict


def test_bounds_are_described_for_people() -> None:
    assert describe_bounds(0.81234, minimum=0.9, maximum=None) == "0.8123 < min 0.9"
    assert describe_bounds(3.0, minimum=None, maximum=2) == "3 > max 2"
    assert describe_bounds(0.95, minimum=0.9, maximum=1) == "0.95 within min 0.9 and max 1"


def _results(*metrics: MetricResult) -> Results:
    return Results(
        "m",
        "model",
        "1",
        "2026-01-01T00:00:00Z",
        Window(None, "2026-01-01T00:00:00Z", 10, 5),
        10,
        0.5,
        list(metrics),
        None,
        [],
        [],
        [],
    )


def test_results_serialise_to_camel_case_json_without_nan() -> None:
    document = _results(MetricResult("accuracy", math.nan, 0.9, None, 5, Verdict.ERROR, "undefined")).to_document()
    assert document["healthy"] is False and document["verdict"] == "Error"
    assert document["window"] == {"start": None, "end": "2026-01-01T00:00:00Z", "rows": 10, "labeledRows": 5}
    assert document["metrics"][0]["value"] is None
    assert "labelCoverage" in document and "referenceRows" in document
    json.dumps(document, allow_nan=False)


def test_inconclusive_checks_are_healthy() -> None:
    results = _results(MetricResult("accuracy", None, 0.9, None, 3, Verdict.INCONCLUSIVE, "too few"))
    assert results.healthy and results.verdict is Verdict.INCONCLUSIVE
