"""The operator's web view against the real control plane: HTTP, JSON twins, RBAC, and in Chromium."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.browser import chromium, visit
from tests.controller.conftest import GROUP, VERSION, get_monitor, monitor_document
from tests.controller.test_operator import create, recorded
from tests.helpers import eventually

HOSTILE = "<img src=x onerror=alert(1)>"


def fetch(port: int, path: str) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def run_again(custom, namespace: str, name: str, request: str) -> None:
    custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "modelmonitors",
        name,
        {"metadata": {"annotations": {"modelmonitor.io/run-now": request}}},
    )


def test_the_web_view_lists_monitors_and_shows_history_in_a_browser(start_operator, custom, namespace, samples) -> None:
    operator = start_operator()
    create(custom, namespace, monitor_document(samples, "credit-risk-healthy"))
    create(custom, namespace, monitor_document(samples, "credit-risk-drifted", "drifted"))
    eventually(lambda: recorded(custom, namespace, "credit-risk-healthy"))
    eventually(lambda: recorded(custom, namespace, "credit-risk-drifted"))
    run_again(custom, namespace, "credit-risk-drifted", "second")
    eventually(
        lambda: (
            len(get_monitor(custom, namespace, "credit-risk-drifted")["status"]["lastRun"]["name"]) > 0
            and get_monitor(custom, namespace, "credit-risk-drifted")["status"]["lastRun"]["trigger"] == "runNow"
        ),
        what="the second run recorded",
    )

    def listed() -> dict | None:
        status, body, _ = fetch(operator.port, "/api/monitors")
        monitors = {m["name"]: m for m in json.loads(body)["monitors"]} if status == 200 else {}
        ready = monitors.get("credit-risk-drifted", {}).get("lastRun", "").startswith("credit-risk-drifted-")
        return monitors if ready and monitors.get("credit-risk-healthy", {}).get("lastRun") else None

    monitors = eventually(listed, what="the index to catch up with both monitors")
    assert monitors["credit-risk-healthy"]["health"] == "Healthy"
    assert monitors["credit-risk-drifted"]["health"] == "Degraded"
    assert monitors["credit-risk-drifted"]["thresholds"]["accuracy"] == {"min": 0.75, "max": None}

    status, body, headers = fetch(operator.port, f"/api/monitors/{namespace}/credit-risk-drifted")
    detail = json.loads(body)
    assert status == 200 and len([r for r in detail["runs"] if r["verdict"] == "Failed"]) == 2
    assert detail["latest"]["verdict"] == "Failed"
    amount = next(f for f in detail["latest"]["drift"]["features"] if f["feature"] == "amount")
    assert amount["drifted"] and len(amount["histogram"]["edges"]) == 21
    run = detail["runs"][0]["name"]
    status, body, _ = fetch(operator.port, f"/api/monitors/{namespace}/credit-risk-drifted/runs/{run}")
    assert status == 200 and json.loads(body)["results"]["monitor"] == "credit-risk-drifted"

    status, body, headers = fetch(operator.port, "/")
    assert status == 200 and headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert fetch(operator.port, "/?sort=bogus")[0] == 400
    assert fetch(operator.port, f"/monitors/{namespace}/nope")[0] == 404
    assert fetch(operator.port, f"/monitors/{namespace}/credit-risk-healthy/runs/credit-risk-drifted-g1")[0] == 404
    assert fetch(operator.port, "/monitors/kube-system/anything")[0] == 404  # not a watched namespace

    with chromium() as browser:
        listing = visit(browser, f"http://127.0.0.1:{operator.port}/?sort=health")
        rows = listing.page.locator("table.monitors tbody tr")
        assert rows.count() == 2
        assert rows.nth(0).get_attribute("data-health") == "Degraded"  # worst first
        assert listing.page.locator(f'tr[data-monitor="{namespace}/credit-risk-healthy"] .badge').inner_text() == (
            "✓ Healthy"
        )
        listing.screenshot("webview-list")
        listing.page.click("text=credit-risk-drifted")
        listing.page.wait_for_selector("#history")
        assert listing.page.locator("#history figure").count() == 4  # 3 metrics and the drift share
        assert listing.page.locator("#history svg circle").count() >= 8  # two runs per chart
        assert listing.page.locator("table.runs tbody tr").count() == 2
        assert listing.page.locator("#latest #drift table.features tbody tr").count() == 4
        listing.screenshot("webview-monitor")
        assert listing.console_errors == [] and listing.dialogs == []
        assert all(url.startswith(f"http://127.0.0.1:{operator.port}/") for url in listing.requests)


def test_names_and_messages_are_escaped_and_no_secret_is_shown(start_operator, custom, namespace, samples) -> None:
    operator = start_operator()
    document = monitor_document(samples, "escaped", "drifted")
    document["spec"]["model"]["name"] = HOSTILE
    document["spec"]["credentials"] = {"secretRef": {"name": "data-credentials"}}
    create(custom, namespace, document)
    eventually(lambda: get_monitor(custom, namespace, "escaped").get("status", {}).get("conditions"))

    def page() -> str | None:
        status, body, _ = fetch(operator.port, "/")
        return body if status == 200 and "escaped" in body else None

    body = eventually(page, what="the monitor listed")
    assert HOSTILE not in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    status, detail, _ = fetch(operator.port, f"/monitors/{namespace}/escaped")
    assert status == 200 and HOSTILE not in detail


@pytest.mark.parametrize("path", ["/", "/api/monitors"])
def test_the_web_view_is_read_only(start_operator, path: str) -> None:
    operator = start_operator()
    request = urllib.request.Request(f"http://127.0.0.1:{operator.port}{path}", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 405
