"""A real Argo Rollouts controller (built from its Go module) gates on the comparison endpoint.

Standalone AnalysisRuns, made from the sample AnalysisTemplate's metric, run against the
operator's /api/v1/compare: a better candidate is Successful, a worse one Failed.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelmonitor_tools.devcluster.processes import free_port, stop_pid
from tests.controller.conftest import ROOT, install_crds
from tests.controller.test_compare_endpoint import served_without_labels, three_versions_served
from tests.helpers import eventually

pytestmark = pytest.mark.cluster
ARGO = ("argoproj.io", "v1alpha1")


@pytest.fixture
def analysis_controller(control_plane, kubeconfig: Path, namespace: str, tmp_path: Path) -> Iterator[None]:
    from modelmonitor_tools.devcluster.assets import ensure_argo_rollouts

    binary, crds = ensure_argo_rollouts()
    install_crds(control_plane, kubeconfig, crds, "analysisruns.argoproj.io", "analysistemplates.argoproj.io")
    log = tmp_path / "rollouts-controller.log"
    argv = [
        str(binary),
        "--kubeconfig",
        str(kubeconfig),
        "--namespace",
        namespace,
        "--namespaced",
        "--controllers",
        "analysis",
        "--leader-elect=false",
        "--metricsport",
        str(free_port()),
        "--healthzPort",
        str(free_port()),
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env=dict(os.environ))
    yield
    stop_pid(process.pid, timeout=15)
    process.wait(10)
    print(f"--- {log} ---\n{log.read_text()[-3000:]}")


def analysis_run(name: str, metric: dict[str, Any], args: dict[str, str]) -> dict[str, Any]:
    measured_once = {key: value for key, value in metric.items() if key not in ("interval", "count")}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": name},
        "spec": {"args": [{"name": k, "value": v} for k, v in args.items()], "metrics": [measured_once]},
    }


def test_argo_rollouts_analysis_runs_succeed_and_fail_on_the_verdict(
    start_operator, custom, namespace, samples, tmp_path, analysis_controller
) -> None:
    operator = three_versions_served(start_operator, custom, namespace, samples, tmp_path / "logs")
    template = yaml.safe_load((ROOT / "manifests" / "samples" / "argo-rollouts-analysistemplate.yaml").read_text())
    custom.create_namespaced_custom_object(*ARGO, namespace, "analysistemplates", copy.deepcopy(template))
    metric = template["spec"]["metrics"][0]
    common = {"namespace": namespace, "monitor": "credit-risk", "operator": f"http://127.0.0.1:{operator.port}"}
    runs = {
        "quality-v8": ({**common, "baseline-version": "7", "candidate-version": "8"}, "Successful"),
        "quality-v9": ({**common, "baseline-version": "8", "candidate-version": "9"}, "Failed"),
    }
    for name, (args, _) in runs.items():
        custom.create_namespaced_custom_object(*ARGO, namespace, "analysisruns", analysis_run(name, metric, args))
    for name, (_, phase) in runs.items():
        status = eventually(
            lambda name=name: (
                (
                    found := custom.get_namespaced_custom_object(*ARGO, namespace, "analysisruns", name).get("status")
                    or {}
                ).get("phase")
                in ("Successful", "Failed", "Error", "Inconclusive")
                and found
            ),
            timeout=120,
            what=f"{name} finished",
        )
        assert status["phase"] == phase, status
        measured = status["metricResults"][0]["measurements"][0]
        assert json.loads(measured["value"]) == ("Pass" if phase == "Successful" else "Fail")  # stored as JSON


def test_argo_rollouts_fails_a_worse_candidate_on_estimates_before_any_label(
    start_operator, custom, namespace, samples, tmp_path, analysis_controller
) -> None:
    """The estimated sample template: 9 fails on its estimated accuracy; 8 stays Inconclusive until labels agree."""
    operator, validation = served_without_labels(start_operator, custom, namespace, samples, tmp_path)
    sample = ROOT / "manifests" / "samples" / "argo-rollouts-analysistemplate-estimated.yaml"
    template = yaml.safe_load(sample.read_text())
    custom.create_namespaced_custom_object(*ARGO, namespace, "analysistemplates", copy.deepcopy(template))
    metric = template["spec"]["metrics"][0]
    common = {"namespace": namespace, "monitor": "credit-risk", "operator": f"http://127.0.0.1:{operator.port}"}

    def args(baseline: str, candidate: str) -> dict[str, str]:
        return {
            **common,
            "baseline-version": baseline,
            "candidate-version": candidate,
            "baseline-reference": str(validation[baseline]),
            "candidate-reference": str(validation[candidate]),
        }

    for name, arms in (("estimated-v9", ("8", "9")), ("estimated-v8", ("7", "8"))):
        run = analysis_run(name, metric, args(*arms))
        custom.create_namespaced_custom_object(*ARGO, namespace, "analysisruns", run)

    def measured(name: str) -> dict[str, Any] | None:
        found = custom.get_namespaced_custom_object(*ARGO, namespace, "analysisruns", name).get("status") or {}
        results = found.get("metricResults") or [{}]
        return found if results[0].get("measurements") else None

    failed = eventually(lambda: (found := measured("estimated-v9")) and found.get("phase") == "Failed" and found)
    assert json.loads(failed["metricResults"][0]["measurements"][0]["value"]) == "Fail"
    waiting = eventually(lambda: measured("estimated-v8"), timeout=120, what="estimated-v8 measured")
    assert json.loads(waiting["metricResults"][0]["measurements"][0]["value"]) == "Inconclusive"
    assert waiting["metricResults"][0]["measurements"][0]["phase"] == "Inconclusive"
