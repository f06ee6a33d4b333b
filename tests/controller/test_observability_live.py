"""Alerts, dashboard and Argo CD health against the real thing.

A real Prometheus (Debian's package) scrapes the operator on the dev cluster with the chart's
PrometheusRule loaded (zero ``for`` through a test values file). Monitors that go wrong make their
alerts fire and the healthy one's stay silent; every dashboard query returns series; the Argo CD
health checks run on the real objects; stopping the operator fires ModelMonitorOperatorDown.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelmonitor.observability.alerts import ALERTS, JOB
from modelmonitor.observability.dashboard import VARIABLES, queries
from tests.argocd.lua import CUSTOMIZATIONS, health, script
from tests.conftest import PROMTOOL_HINT, require_tool
from tests.controller.conftest import (
    GROUP,
    VERSION,
    condition,
    create_admitted_before_its_rule,
    get_monitor,
    list_runs,
    monitor_document,
    render,
)
from tests.controller.test_retraining import ended, job_template
from tests.helpers import eventually
from tests.servers import local_server

pytestmark = pytest.mark.cluster
FAST_ALERTS = Path(__file__).with_name("fast-alerts.values.yaml")


def create(custom, namespace: str, document: dict[str, Any]) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)


def prometheus_api(port: int, path: str, **params: str) -> Any:
    url = f"http://127.0.0.1:{port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as response:
        answer = json.loads(response.read())
    assert answer["status"] == "success", answer
    return answer["data"]


def prometheus_ready(port: int) -> bool:
    """Prometheus listens before it serves: its API answers 503 until /-/ready does 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=5) as response:
            return response.status == 200
    except OSError:  # urllib's HTTPError and URLError are OSErrors
        return False


def firing(port: int) -> set[tuple[str, str]]:
    return {
        (alert["labels"]["alertname"], alert["labels"].get("monitor", ""))
        for alert in prometheus_api(port, "alerts")["alerts"]
        if alert["state"] == "firing"
    }


def chart_artifacts(helm: Path, directory: Path) -> tuple[Path, dict[str, Any]]:
    """The PrometheusRule's rules as a rules file, and the dashboard, as the chart renders them."""
    documents = render(helm, values=FAST_ALERTS)
    rule = next(d for d in documents if d["kind"] == "PrometheusRule")
    assert {r["for"] for r in rule["spec"]["groups"][0]["rules"]} == {"0s"}
    rules = directory / "rules.yaml"
    rules.write_text(yaml.safe_dump(rule["spec"]))
    dashboard = next(d for d in documents if d["kind"] == "ConfigMap")["data"]["modelmonitor.json"]
    return rules, json.loads(dashboard)


def with_variables(expr: str, namespace: str, monitor: str = ".*") -> str:
    values = {"$__rate_interval": "1m", "$namespace": namespace, "$monitor": monitor, "$model": ".*"}
    return re.sub(r"\$__rate_interval|\$namespace|\$monitor|\$model", lambda found: values[found.group()], expr)


def test_alerts_fire_in_prometheus_the_dashboard_queries_return_series_and_argo_cd_health_holds(
    helm, start_operator, custom, namespace, samples, tmp_path
) -> None:
    prometheus = require_tool("prometheus", PROMTOOL_HINT)
    rules, dashboard = chart_artifacts(helm, tmp_path)
    require_tool("promtool", PROMTOOL_HINT)

    create(custom, namespace, monitor_document(samples, "waiting"))
    waiting = get_monitor(custom, namespace, "waiting")  # before any operator: no status yet
    operator = start_operator()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(rules)],
                "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [f"127.0.0.1:{operator.port}"]}]}],
            }
        )
    )
    argv = [
        prometheus,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        "--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with local_server(argv) as port:
        eventually(lambda: prometheus_ready(port), what="Prometheus ready")  # CI once queried it too early: 503
        scraped = f'up{{job="{JOB}"}} == 1'
        eventually(lambda: prometheus_api(port, "query", query=scraped)["result"], what="the operator scraped")
        retrain = {"jobTemplate": job_template(tmp_path, exit_code=1)}
        create(custom, namespace, monitor_document(samples, "fine"))
        create(custom, namespace, monitor_document(samples, "drifted", "drifted", actions={"retrain": retrain}))
        broken = monitor_document(samples, "broken")
        broken["spec"]["data"]["current"]["uri"] = str(tmp_path / "gone.parquet")
        create(custom, namespace, broken)
        create_admitted_before_its_rule(custom, namespace, samples, "badcron")
        create(custom, namespace, monitor_document(samples, "paused", suspend=True))
        eventually(lambda: ended(custom, namespace, "drifted", "Failed"), timeout=120, what="the retraining failed")

        expected = {
            ("ModelMonitorMetricBreached", "drifted"),
            ("ModelMonitorDatasetDrift", "drifted"),
            ("ModelMonitorConceptDrift", "drifted"),
            ("ModelMonitorRetrainingFailed", "drifted"),
            ("ModelMonitorRunsErroring", "broken"),
        }
        seen: list[set[tuple[str, str]]] = [set()]

        def all_fired() -> set[tuple[str, str]] | None:
            seen[0] = firing(port)
            return seen[0] if seen[0] >= expected else None

        try:
            fired = eventually(all_fired, timeout=60)
        except AssertionError:
            raise AssertionError(f"firing {seen[0]}, missing {expected - seen[0]}") from None
        assert not {alert for alert in fired if alert[1] in ("fine", "waiting", "paused")}, fired
        # not made to fire here: Stale and OperatorDown need time or a dead operator; RecordFailing an API server
        # that refuses status writes (its counter: test_wakeups.py; its rule: the promtool tests)
        quiet = {"ModelMonitorStale", "ModelMonitorOperatorDown", "ModelMonitorRecordFailing"}
        assert not {name for name, _ in fired} & quiet, fired
        assert {name for name, _ in expected} | quiet == {alert.name for alert in ALERTS}

        history = f'count_over_time(up{{job="{JOB}"}}[1m]) >= 5'
        eventually(
            lambda: prometheus_api(port, "query", query=history)["result"], what="scrapes for rate() and increase()"
        )
        for title, expr in queries(dashboard):
            for monitor in (".*", "drifted"):
                query = with_variables(expr, namespace, monitor)
                found = prometheus_api(port, "query", query=query)["result"]
                assert found, f"panel {title!r}: no series for {query}"
        for variable, expr in VARIABLES.items():
            matched, label = re.fullmatch(r"label_values\((.*), (\w+)\)", expr).groups()  # type: ignore[union-attr]
            values = prometheus_api(port, f"label/{label}/values", **{"match[]": with_variables(matched, namespace)})
            assert values, variable
        monitors = prometheus_api(port, "label/monitor/values", **{"match[]": "modelmonitor_monitor_info"})
        assert {"fine", "drifted", "broken", "paused", "waiting"} <= set(monitors) and "badcron" not in monitors

        _check_argo_cd_health(custom, namespace, waiting)

        operator.stop()
        eventually(
            lambda: ("ModelMonitorOperatorDown", "") in firing(port), timeout=60, what="ModelMonitorOperatorDown"
        )


def _check_argo_cd_health(custom, namespace: str, waiting: dict[str, Any]) -> None:
    monitor_check, run_check = script("modelmonitor.io", "ModelMonitor"), script("modelmonitor.io", "MonitorRun")
    eventually(lambda: condition(get_monitor(custom, namespace, "paused"), "Ready"), what="paused accepted")
    eventually(lambda: condition(get_monitor(custom, namespace, "badcron"), "Ready"), what="badcron refused")
    monitors = {
        name: get_monitor(custom, namespace, name) for name in ("fine", "drifted", "broken", "badcron", "paused")
    }
    monitors["waiting"] = waiting
    runs = {run["metadata"]["name"]: run for run in list_runs(custom, namespace)}
    statuses = {name: health(monitor_check, obj)["status"] for name, obj in monitors.items()}
    assert statuses == {
        "fine": "Healthy",
        "drifted": "Degraded",
        "broken": "Degraded",
        "badcron": "Degraded",
        "paused": "Suspended",
        "waiting": "Progressing",
    }
    assert health(monitor_check, monitors["badcron"])["message"].startswith("InvalidSpec: ")
    assert health(monitor_check, monitors["broken"])["message"].startswith("RunError: ")
    run_statuses = {name: health(run_check, runs[name])["status"] for name in ("fine-g1", "drifted-g1", "broken-g1")}
    assert run_statuses == {"fine-g1": "Healthy", "drifted-g1": "Degraded", "broken-g1": "Degraded"}
    if os.environ.get("MODELMONITOR_WRITE_ARGOCD_TESTDATA"):
        _write_testdata({**monitors, **{name: runs[name] for name in run_statuses}})


def _write_testdata(objects: dict[str, dict[str, Any]]) -> None:
    """Refresh the health_test.yaml inputs from these real objects (names and paths made readable)."""
    for name, obj in objects.items():
        kind = obj["kind"]
        metadata = obj["metadata"]
        for noise in ("managedFields", "uid", "resourceVersion", "ownerReferences"):
            metadata.pop(noise, None)
        text = yaml.safe_dump(obj, sort_keys=False).replace(metadata["namespace"], "ml")
        text = re.sub(r"/tmp/pytest-of-[^/]+/pytest-\d+/[^/\s]+/", "s3://ml-logs/credit-risk/", text)
        (CUSTOMIZATIONS / "modelmonitor.io" / kind / "testdata" / f"{name}.yaml").write_text(text)
