"""The alert rules, their promtool unit tests, the dashboard and the runbooks: generated, fresh and consistent."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from modelmonitor.observability.alerts import ALERTS, RUNBOOK_BASE
from modelmonitor.observability.dashboard import VARIABLES, queries
from modelmonitor.observability.files import DASHBOARDS, RULES, RUNBOOKS, outputs
from tests.conftest import PROMTOOL_HINT, require_tool

ROOT = Path(__file__).resolve().parents[2]
RULES_FILE = ROOT / RULES[0]
RULES_TEST = RULES_FILE.with_name("modelmonitor-rules.test.yaml")


def test_the_generated_files_are_fresh() -> None:
    stale = [str(path.relative_to(ROOT)) for path, text in outputs(ROOT).items() if path.read_text() != text]
    assert not stale, f"run `python -m modelmonitor.observability`: {stale} differ from the code"


def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    promtool = require_tool("promtool", PROMTOOL_HINT)
    checked = subprocess.run([promtool, "check", "rules", str(RULES_FILE)], capture_output=True, text=True)
    assert checked.returncode == 0 and f"SUCCESS: {len(ALERTS)} rules found" in checked.stdout, checked.stdout
    tested = subprocess.run(
        [promtool, "test", "rules", RULES_TEST.name], capture_output=True, text=True, cwd=RULES_TEST.parent
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_a_broken_expectation_fails_promtool(tmp_path: Path) -> None:
    """The unit tests can fail: a wrong expected label is caught."""
    promtool = require_tool("promtool", PROMTOOL_HINT)
    (tmp_path / RULES_FILE.name).write_text(RULES_FILE.read_text())
    expected = "monitor: credit, model: credit-risk, method: ddm"
    broken = RULES_TEST.read_text().replace(expected, "monitor: credit, model: x, method: ddm")
    (tmp_path / RULES_TEST.name).write_text(broken)
    tested = subprocess.run([promtool, "test", "rules", RULES_TEST.name], capture_output=True, text=True, cwd=tmp_path)
    assert tested.returncode == 1 and "alertname: ModelMonitorConceptDrift" in tested.stdout + tested.stderr


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    cases = [case for test in yaml.safe_load(RULES_TEST.read_text())["tests"] for case in test["alert_rule_test"]]
    for alert in ALERTS:
        expectations = [bool(case["exp_alerts"]) for case in cases if case["alertname"] == alert.name]
        assert True in expectations and False in expectations, alert.name


@pytest.mark.parametrize("alert", ALERTS, ids=lambda alert: alert.name)
def test_every_alert_names_its_monitor_and_model_and_links_a_runbook_section(alert) -> None:
    rule = alert.rule()
    assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
    if alert.name != "ModelMonitorOperatorDown":  # no monitor to name
        assert "$labels.model" in rule["annotations"]["summary"] + rule["annotations"]["description"]
        assert "$labels.monitor" in rule["annotations"]["description"]
    if alert.name in ("ModelMonitorMetricBreached", "ModelMonitorStale"):  # the others' values are flags
        assert "$value" in rule["annotations"]["summary"] and "$value" in rule["annotations"]["description"]
    anchor = rule["annotations"]["runbook_url"].removeprefix(RUNBOOK_BASE + "#")
    headings = re.findall(r"^## (\S+)$", (ROOT / RUNBOOKS).read_text(), re.MULTILINE)
    assert anchor in [heading.lower() for heading in headings]


def test_the_dashboard_has_the_variables_and_every_panel_queries_prometheus() -> None:
    document = json.loads((ROOT / DASHBOARDS[0]).read_text())
    assert [v["name"] for v in document["templating"]["list"]] == ["datasource", *VARIABLES]
    panels = [panel for panel in document["panels"] if panel["type"] != "row"]
    assert len({panel["id"] for panel in document["panels"]}) == len(document["panels"])
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    titles = {title for title, _ in queries(document)}
    assert {
        "Metrics against their thresholds",
        "Drift statistic per feature",
        "Runs by outcome",
        "Run duration, p95",
        "Operator",
    } <= titles
