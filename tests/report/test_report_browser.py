"""Reports opened in Debian's Chromium: no console errors, no requests, the right DOM, hostile names as text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelmonitor.api.results import Results
from modelmonitor.report import render_report
from modelmonitor.report.markup import number
from tests.browser import chromium, visit
from tests.report.conftest import HOSTILE_CATEGORY, HOSTILE_FEATURE

SECTIONS = ("checks", "performance", "drift", "targets", "quality", "window", "spec")


@pytest.fixture(scope="module")
def browser():
    with chromium() as opened:
        yield opened


def _open(browser: Any, tmp_path: Path, results: dict[str, Any], name: str):
    path = tmp_path / f"{name}.html"
    path.write_text(render_report(Results.from_document(results)), encoding="utf-8")
    seen = visit(browser, path.as_uri())
    seen.screenshot(f"report-{name}")
    return seen


@pytest.mark.parametrize("kind", ["healthy", "drifted", "regression", "multiclass"])
def test_a_report_opens_offline_with_every_section_and_value(browser, tmp_path: Path, documents, kind: str) -> None:
    results = documents[kind]
    seen = _open(browser, tmp_path, results, kind)
    page = seen.page
    assert seen.console_errors == [] and seen.elsewhere() == [] and seen.dialogs == []
    for section in SECTIONS:
        assert page.locator(f"section#{section}").count() == 1, section
    verdict = page.locator("h1 .badge")
    assert verdict.get_attribute("data-status") == results["verdict"]
    assert verdict.inner_text().endswith(results["verdict"])  # in words, not colour only
    checks = page.locator("table.checks tbody tr")
    assert checks.count() == len(results["metrics"]) + 1 + len(results["conceptDrift"]) + len(results["errors"])
    for metric in results["metrics"]:
        row = page.locator("table.checks tbody tr", has_text=f"metric {metric['name']}").first
        assert number(metric["value"]) in row.inner_text()
        assert metric["status"] in row.inner_text()
        figure = page.locator(f'figure[data-metric="{metric["name"]}"]')
        points = [p for p in metric["series"]["points"] if p["value"] is not None]
        assert figure.locator("svg circle").count() == len(points)
        assert figure.locator("svg polygon.band").count() == 1
        thresholds = [bound for bound in ("min", "max") if metric[bound] is not None]
        for bound in thresholds:
            assert f"{bound} {number(metric[bound])}" in figure.locator("svg").text_content()
    features = page.locator("#drift table.features tbody tr")
    assert features.count() == len(results["drift"]["features"])
    statuses = [features.nth(i).get_attribute("data-status") for i in range(features.count())]
    rank = {"Error": 0, "Failed": 1, "Inconclusive": 2, "Passed": 3}
    assert statuses == sorted(statuses, key=rank.__getitem__)  # by severity
    for i in range(features.count()):
        assert features.nth(i).locator("svg").count() == 1  # every feature has its picture
    assert page.locator("#window").inner_text().count(f"{results['window']['rows']:,}") >= 1


def test_the_drifted_report_marks_the_concept_drift_on_the_time_axis(browser, tmp_path: Path, documents) -> None:
    page = _open(browser, tmp_path, documents["drifted"], "drifted-marks").page
    accuracy = page.locator('figure[data-metric="accuracy"] svg')
    assert "ddm start" in accuracy.text_content() and "ddm detected" in accuracy.text_content()
    region = page.locator('#drift tr[data-feature="region"]')
    assert region.get_attribute("data-status") == "Failed" and region.locator("svg g").count() == 4


def test_hostile_names_and_categories_render_as_text(browser, tmp_path: Path, documents) -> None:
    seen = _open(browser, tmp_path, documents["hostile"], "hostile")
    page = seen.page
    assert seen.dialogs == [] and seen.console_errors == [] and seen.elsewhere() == []
    assert page.locator("img").count() == 0 and page.locator("script").count() == 0
    assert page.locator(".feature-name", has_text=HOSTILE_FEATURE).count() == 1
    assert HOSTILE_FEATURE in page.locator("h1").inner_text()
    new_category = page.locator("#drift svg g.new title")
    assert new_category.count() == 1 and HOSTILE_CATEGORY in new_category.text_content()
    assert HOSTILE_CATEGORY in page.locator("#quality").inner_text()  # the newCategory finding
