"""The hostile-data drill: each case through a real monitor, inline and as a Job, as kubectl shows it.

Two defects hid here because the operator never saw bad data in tests: pandas'
nanoseconds made every metric Error, and a run with an Error metric was never recorded
(its stored results lacked the pruned nulls a reader indexed). For each case of
``hostile_cases.py`` this asserts what a user sees: the verdict, the Healthy condition's
reason and message, the MonitorRun recorded once, the run counted in the metrics, no
traceback in the operator log, the same verdict from ``modelmonitor check``, and an
operator that goes on to run the next one.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelmonitor.api.parsing import parse_spec
from modelmonitor.checks import run_checks
from modelmonitor.errors import DataError
from tests.controller.conftest import GROUP, VERSION, kubectl, list_runs
from tests.controller.hostile_cases import CASES, Case, swap_reference
from tests.helpers import eventually

pytestmark = pytest.mark.cluster
RUNNERS = ("inline", "job")
RESULTS = {
    "Passed": "healthy",
    "Inconclusive": "healthy",
    "Failed": "unhealthy",
    "Error": "unhealthy",
}  # of a Succeeded run


def _name(case: Case, runner: str) -> str:
    return f"{case.name}-{runner}"


def _monitor(name: str, spec: dict[str, Any], runner: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelMonitor",
        "metadata": {"name": name},
        "spec": {**spec, "schedule": {"interval": "8760h"}, "runner": runner},
    }


def _get_all(control_plane, kubeconfig: Path, namespace: str) -> dict[str, dict[str, Any]]:
    shown = kubectl(control_plane, kubeconfig, "get", "mm", "-n", namespace, "-o", "json")
    assert shown.returncode == 0, shown.stderr
    return {item["metadata"]["name"]: item for item in json.loads(shown.stdout)["items"]}


def _cli_verdict(spec: dict[str, Any], evaluated_at: str) -> str:
    """What ``modelmonitor check`` says of the same data at the same moment (an unreadable source: Error)."""
    moment = datetime.fromisoformat(evaluated_at.replace("Z", "+00:00"))
    try:
        return run_checks(parse_spec(spec), now=moment).verdict.value
    except DataError:
        return "Error"


def _samples(text: str, metric: str) -> dict[tuple[str, str], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == metric:
                found[sample.labels["monitor"], sample.labels.get("result") or sample.labels.get("stage", "")] = (
                    sample.value
                )
    return found


def test_hostile_data_through_the_operator_inline_and_as_jobs(
    start_operator, custom, namespace, control_plane, kubeconfig, tmp_path
) -> None:
    operator = start_operator()
    now = datetime.now(UTC)
    specs = {}
    for case in CASES:
        directory = tmp_path / case.name
        directory.mkdir()
        specs[case.name] = case.write(directory, now)
    swapping = threading.Event()

    def keep_swapping() -> None:  # the reference replaced, again and again, while the runs read it
        turn = 0
        while not swapping.is_set():
            swap_reference(tmp_path / "reference-replaced", turn)
            turn += 1
            swapping.wait(0.05)

    swapper = threading.Thread(target=keep_swapping, daemon=True)
    swapper.start()
    try:
        for case in CASES:
            for runner in RUNNERS:
                document = _monitor(_name(case, runner), specs[case.name], runner)
                custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)
        expected = {_name(case, runner) for case in CASES for runner in RUNNERS}

        def all_recorded() -> dict[str, dict[str, Any]] | None:
            shown = _get_all(control_plane, kubeconfig, namespace)
            done = {name for name, item in shown.items() if (item.get("status") or {}).get("lastRun")}
            return shown if done >= expected else None

        shown = eventually(all_recorded, timeout=600, interval=2, what="every hostile case recorded")
    finally:
        swapping.set()
        swapper.join(5)

    runs = list_runs(custom, namespace)
    text = operator.metrics()
    counted, reconcile_errors = (
        _samples(text, "modelmonitor_runs_total"),
        _samples(text, "modelmonitor_reconcile_errors_total"),
    )
    with_values = {monitor for monitor, _ in _samples(text, "modelmonitor_metric_value")}
    table = [
        "| case | runner | verdict | Healthy reason | recorded once | `check` agrees |",
        "|---|---|---|---|---|---|",
    ]
    for case in CASES:
        for runner in RUNNERS:
            name = _name(case, runner)
            status = shown[name]["status"]
            last = status["lastRun"]
            healthy = next(c for c in status["conditions"] if c["type"] == "Healthy")
            mine = [run for run in runs if run["spec"]["monitor"] == name]
            assert [run["metadata"]["name"] for run in mine] == [f"{name}-g1"] == [last["name"]], name
            if case.verdict != "*":
                assert (last["verdict"], healthy["reason"]) == (case.verdict, case.reason), (name, last, healthy)
            assert healthy["message"], name
            if case.says.startswith("finding:"):
                results = mine[0]["status"]["results"]
                assert case.says.removeprefix("finding:") in {f["kind"] for f in results["dataQuality"]}, name
            else:
                assert case.says in healthy["message"], (name, healthy["message"])
            result = RESULTS[last["verdict"]] if last["phase"] == "Succeeded" else "error"
            assert counted[name, result] == 1.0 and sum(v for (m, _), v in counted.items() if m == name) == 1.0, name
            assert reconcile_errors[name, "record"] == reconcile_errors[name, "export"] == 0.0, name
            stored = (mine[0]["status"].get("results") or {}).get("metrics") or []
            assert (name in with_values) == any("value" in metric for metric in stored), name  # exported as stored
            agrees = "n/a (the file changed)"
            if case.verdict != "*":
                assert _cli_verdict(specs[case.name], mine[0]["spec"]["evaluateAt"]) == last["verdict"], name
                agrees = "yes"
            table.append(f"| {case.name} | {runner} | {last['verdict']} | {healthy['reason']} | yes | {agrees} |")
    print("\n".join(table))
    log = operator.log.read_text()
    assert "Traceback" not in log, log[-4000:]

    # the operator stays healthy: the next run of a monitor that met bad data runs and is recorded
    kubectl(
        control_plane,
        kubeconfig,
        "annotate",
        "mm",
        "-n",
        namespace,
        "label-column-missing-inline",
        "modelmonitor.io/run-now=again",
    )
    eventually(
        lambda: (
            len([r for r in list_runs(custom, namespace) if r["spec"]["monitor"] == "label-column-missing-inline"]) == 2
            and _get_all(control_plane, kubeconfig, namespace)["label-column-missing-inline"]["status"]["lastRun"][
                "name"
            ]
            != "label-column-missing-inline-g1"
        ),
        timeout=60,
        what="the next run recorded",
    )
    assert operator.process.poll() is None
