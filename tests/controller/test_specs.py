"""Each monitor's spec is parsed once per generation."""

from __future__ import annotations

from typing import Any

import pytest

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.api.parsing import parse_spec
from modelmonitor.controller.specs import ParsedSpecs
from modelmonitor.errors import SpecError

SPEC = {
    "model": {"name": "m", "task": "binaryClassification"},
    "schedule": {"interval": "1h"},
    "data": {"current": {"uri": "c.parquet"}, "reference": {"uri": "r.parquet"}},
}


def counting() -> tuple[ParsedSpecs, list[dict[str, Any]]]:
    parsed: list[dict[str, Any]] = []

    def parse(spec: dict[str, Any], namespace: str | None = None) -> ModelMonitorSpec:
        parsed.append(spec)
        return parse_spec(spec, namespace=namespace)

    return ParsedSpecs(parse), parsed


def monitor(spec: dict[str, Any], generation: int, uid: str = "u1") -> dict[str, Any]:
    return {"metadata": {"uid": uid, "generation": generation, "name": "m"}, "spec": spec}


def test_one_parse_per_generation() -> None:
    specs, parsed = counting()
    first = specs.of(monitor(SPEC, 1))
    assert specs.of(monitor(SPEC, 1)) is first and len(parsed) == 1
    changed = {**SPEC, "schedule": {"interval": "2h"}}
    assert specs.of(monitor(changed, 2)).schedule.interval == "2h" and len(parsed) == 2
    specs.of(monitor(SPEC, 1, uid="u2"))  # another monitor
    assert len(parsed) == 3 and len(specs) == 2
    specs.forget("u2")
    assert len(specs) == 1


def test_an_invalid_spec_fails_the_same_way_until_it_changes() -> None:
    specs, parsed = counting()
    broken = {**SPEC, "schedule": {}}
    for _ in range(2):
        with pytest.raises(SpecError, match="set exactly one of interval or cron"):
            specs.of(monitor(broken, 4))
    assert len(parsed) == 1
    assert specs.of(monitor(SPEC, 5)).schedule.interval == "1h"


def test_an_object_without_uid_or_generation_is_parsed_every_time() -> None:
    specs, parsed = counting()
    specs.of({"spec": SPEC})
    specs.of({"spec": SPEC})
    assert len(parsed) == 2 and len(specs) == 0
