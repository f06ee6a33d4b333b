"""The comparison endpoint on the operator's port, as Argo Rollouts' web provider and Flagger's webhooks call it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from modelmonitor_tools.samples import write_traffic, write_validation
from tests.controller.test_rollouts import monitor

pytestmark = pytest.mark.cluster


def get(operator, path: str, *, post: bool = False) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{operator.port}{path}", data=b"{}" if post else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def three_versions_served(start_operator, custom, namespace: str, samples: Path, logs: Path):
    """Six minutes of traffic from versions 7, 8 and 9 (40/30/30), a monitor over it, and a running operator."""
    now = datetime.now(UTC)
    for batch in range(6):
        write_traffic(
            logs,
            {"7": 40, "8": 30, "9": 30},
            2000,
            end=now - timedelta(minutes=batch),
            span=timedelta(minutes=1),
            seed=batch,
        )
    operator = start_operator()
    monitor(custom, namespace, logs, samples)
    return operator


def served_without_labels(start_operator, custom, namespace: str, samples: Path, folder: Path):
    """Six minutes of traffic from 7, 8 and 9 whose labels have not come, each version's validation data, a monitor."""
    now = datetime.now(UTC)
    for batch in range(6):
        end = now - timedelta(minutes=batch)
        shares = {"7": 40, "8": 30, "9": 30}
        write_traffic(folder / "logs", shares, 2000, end=end, span=timedelta(minutes=1), seed=batch, labelled=False)
    validation = {version: write_validation(folder / f"validation-v{version}.parquet", version) for version in "789"}
    operator = start_operator()
    monitor(custom, namespace, folder / "logs", samples)
    return operator, validation


def test_estimated_comparisons_answer_before_the_labels(start_operator, custom, namespace, samples, tmp_path) -> None:
    operator, validation = served_without_labels(start_operator, custom, namespace, samples, tmp_path)
    base = f"/api/v1/compare/{namespace}/credit-risk"

    def asked(baseline: str, candidate: str, extra: str = "") -> tuple[int, dict]:
        references = f"baselineReference={validation[baseline]}&candidateReference={validation[candidate]}"
        return get(operator, f"{base}?baseline={baseline}&candidate={candidate}&estimated=true&{references}{extra}")

    status, worse = asked("8", "9")
    assert status == 200 and worse["verdict"] == "Fail" and worse["reason"] == "CandidateWorseEstimated"
    assert worse["decidedBy"] == "estimates" and worse["comparison"]["labeledRows"] == {"baseline": 0, "candidate": 0}
    estimated = worse["comparison"]["estimated"]["primary"]
    assert estimated["estimated"] and estimated["interval"][1] < -0.2  # 9 guesses: about 0.5 against 0.84
    status, better = asked("7", "8")
    assert status == 200 and better["verdict"] == "Inconclusive" and better["reason"] == "AwaitingLabels"
    status, eager = asked("7", "8", "&promoteOn=estimated")
    assert status == 200 and eager["verdict"] == "Pass" and eager["reason"] == "NonInferiorEstimated"
    status, refused = get(operator, f"{base}?baseline=8&candidate=9&estimated=true")
    assert status == 200 and refused["verdict"] == "Inconclusive" and refused["reason"] == "InsufficientData"
    assert refused["comparison"]["estimated"]["refused"].startswith("candidate.reference is not set")
    assert get(operator, f"{base}?baseline=7&candidate=8&estimated=true&promoteOn=soon") == (
        400,
        {"error": "promoteOn: expected labels or estimated, got 'soon'"},
    )


def test_compare_and_gate_answer_with_the_verdict(start_operator, custom, namespace, samples, tmp_path) -> None:
    operator = three_versions_served(start_operator, custom, namespace, samples, tmp_path / "logs")
    base = f"/api/v1/compare/{namespace}/credit-risk"
    status, better = get(operator, f"{base}?baseline=7&candidate=8&guardrails=rocAuc:0.05&margin=0.02&minSamples=300")
    assert status == 200 and better["verdict"] == "Pass" and better["reason"] == "NonInferior"
    assert better["difference"] > 0.1 and better["interval"][0] > -0.02
    assert (
        better["comparison"]["labeledRows"]["candidate"] > 3000
        and better["comparison"]["guardrails"][0]["metric"] == "rocAuc"
    )
    status, worse = get(operator, f"{base}?baseline=8&candidate=9&margin=0.02")
    assert status == 200 and worse["verdict"] == "Fail" and worse["reason"] == "CandidateWorse"
    gate = f"/api/v1/gate/{namespace}/credit-risk"
    assert get(operator, f"{gate}?baseline=7&candidate=8&margin=0.02")[0] == 200
    status, refused = get(operator, f"{gate}?baseline=8&candidate=9&margin=0.02")
    assert status == 412 and refused["verdict"] == "Fail"
    status, scarce = get(operator, f"{gate}?baseline=7&candidate=8&minSamples=1000000")
    assert status == 412 and scarce["verdict"] == "Inconclusive" and scarce["reason"] == "InsufficientData"
    status, split = get(operator, f"{base}?baseline=7&candidate=8&weights=90,10")  # the logs hold 40/30
    assert status == 200 and split["verdict"] == "Fail" and split["reason"] == "SampleRatioMismatch"
    status, unpaired = get(operator, f"{base}?baseline=7&candidate=8&paired=true")  # the monitor has no requestId
    assert status == 200 and unpaired["comparison"]["paired"]["reason"].startswith("the monitor has no data.columns")


def test_bad_requests_say_what_is_wrong(start_operator, custom, namespace, samples, tmp_path) -> None:
    operator = start_operator()
    monitor(custom, namespace, tmp_path / "logs", samples)
    base = f"/api/v1/compare/{namespace}/credit-risk"
    assert get(operator, f"{base}?candidate=8") == (
        400,
        {"error": "baseline: required (the modelVersion values to compare)"},
    )
    assert get(operator, f"{base}?baseline=7&candidate=8&paired=yes") == (
        400,
        {"error": "paired: expected true or false, got 'yes'"},
    )
    assert get(operator, f"{base}?baseline=7&candidate=8&estimated=true&candidateReference=v8.xls&referenceFormat=xls")[
        1
    ]["error"].startswith("candidateReference: Input should be")
    assert get(operator, f"{base}?baseline=7&candidate=8&metric=vibes") == (
        400,
        {"error": "metric: unknown metric 'vibes'"},
    )
    assert get(operator, f"{base}?baseline=7&candidate=8&metric=mae")[1]["error"].startswith(
        "analysis.metric: mae needs a regression"
    )
    assert get(operator, f"{base}?baseline=7&candidate=8&guardrails=vibes:0.1") == (  # said "expected metric:margin"
        400,
        {"error": "guardrails: unknown metric 'vibes'"},
    )
    assert get(operator, f"{base}?baseline=7&candidate=8&fairness=parity:0.1") == (
        400,
        {"error": "fairness: unknown metric 'parity'"},
    )
    assert get(operator, f"{base}?baseline=7&candidate=8&fairness=disparateImpactRatio:x") == (
        400,
        {"error": "fairness: expected metric:margin, got 'disparateImpactRatio:x'"},
    )
    status, unfair = get(operator, f"{base}?baseline=7&candidate=8&fairness=statisticalParityDifference:0.02")
    assert status == 422 and "need the monitor's spec.fairness" in unfair["error"]
    assert get(operator, f"/api/v1/compare/{namespace}/nowhere?baseline=7&candidate=8") == (
        404,
        {"error": f"ModelMonitor {namespace}/nowhere not found"},
    )


def test_the_samples_call_these_endpoints_as_their_tools_do(
    start_operator, custom, namespace, samples, tmp_path
) -> None:
    """Flagger POSTs to the gate; Argo Rollouts GETs compare and reads $.verdict (its conditions are checked here)."""
    import yaml

    root = Path(__file__).resolve().parents[2] / "manifests" / "samples"
    logs = tmp_path / "logs"
    now = datetime.now(UTC)
    for batch in range(4):
        write_traffic(
            logs, {"7": 50, "8": 50}, 2000, end=now - timedelta(minutes=batch), span=timedelta(minutes=1), seed=batch
        )
    operator = start_operator()
    monitor(custom, namespace, logs, samples)
    canary = yaml.safe_load((root / "flagger-canary.yaml").read_text())
    hook = canary["spec"]["analysis"]["webhooks"][0]
    path = urlsplit(hook["url"]).path.replace("/ml/", f"/{namespace}/") + "?" + urlsplit(hook["url"]).query
    assert hook["type"] == "rollout" and get(operator, path, post=True)[0] == 200
    template = yaml.safe_load((root / "argo-rollouts-analysistemplate.yaml").read_text())
    metric = template["spec"]["metrics"][0]
    url = metric["provider"]["web"]["url"]
    for arg, value in {
        "namespace": namespace,
        "monitor": "credit-risk",
        "baseline-version": "7",
        "candidate-version": "8",
        "operator": f"http://127.0.0.1:{operator.port}",
    }.items():
        url = url.replace("{{args." + arg + "}}", value)
    status, answer = get(operator, urlsplit(url).path + "?" + urlsplit(url).query)
    assert status == 200 and metric["provider"]["web"]["jsonPath"] == "{$.verdict}"
    result = answer["verdict"]
    assert metric["successCondition"] == 'result == "Pass"' and result == "Pass"
