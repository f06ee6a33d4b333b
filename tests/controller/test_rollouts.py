"""ModelRollout against the real control plane: traffic moves by the weights set, and decisions follow quality."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from modelmonitor.controller.faults import BEFORE_ROUTER_PATCH
from modelmonitor_tools.samples import Mirror, serve, write_traffic, write_validation
from tests.controller.conftest import GROUP, VERSION, condition, kubectl
from tests.controller.test_routers import http_route, set_half_and_half_as_argocd
from tests.helpers import eventually

pytestmark = pytest.mark.cluster
GATEWAY = ("gateway.networking.k8s.io", "v1")


class Traffic:
    """Serves requests as the real HTTPRoute splits them, and logs each version's predictions."""

    def __init__(
        self,
        custom: client.CustomObjectsApi,
        namespace: str,
        logs: Path,
        versions: dict[str, str],
        *,
        mirrored: bool = False,
        labelled: bool = True,
    ) -> None:
        self.custom, self.namespace, self.logs, self.versions = custom, namespace, logs, versions
        self.skew: dict[str, int] | None = None  # a broken split: serve these shares whatever the route says
        self._stop = threading.Event()
        # mirrored: the route's RequestMirror filter copies requests, logged with their ids by both versions
        extra: dict[str, Any] = {"read_mirror": self._mirror} if mirrored else {}
        extra["labelled"] = labelled  # False: the labels come long after the rollout (a default, months later)
        self._thread = threading.Thread(target=serve, args=(self._shares, logs, self._stop), kwargs=extra, daemon=True)

    def _rule(self) -> dict[str, Any]:
        route = self.custom.get_namespaced_custom_object(*GATEWAY, self.namespace, "httproutes", "credit-risk")
        return route["spec"]["rules"][1]

    def weights(self) -> dict[str, int]:
        by_backend = {ref["name"]: ref.get("weight", 1) for ref in self._rule()["backendRefs"]}
        return {version: by_backend[f"credit-risk-v{version}"] for version in self.versions.values()}

    def mirror(self) -> int:
        """The percent of requests the rule mirrors to the candidate (a RequestMirror filter), 0 without one."""
        candidate = f"credit-risk-v{self.versions['candidate']}"
        for found in self._rule().get("filters") or []:
            mirrored = found.get("requestMirror") or {}
            if found.get("type") == "RequestMirror" and mirrored["backendRef"]["name"] == candidate:
                return int(mirrored.get("percent", 100))
        return 0

    def _shares(self) -> dict[str, int]:
        return self.skew or self.weights()

    def _mirror(self) -> Mirror:
        return Mirror(self.versions["baseline"], self.versions["candidate"], self.mirror())

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.fixture
def route(custom, namespace, gateway_api_crds) -> dict[str, Any]:
    return custom.create_namespaced_custom_object(*GATEWAY, namespace, "httproutes", http_route())


def monitor(
    custom,
    namespace: str,
    logs: Path | str,
    samples: Path,
    *,
    request_id: bool = False,
    reference: str = "",
    **spec: Any,
) -> None:
    """The monitor a rollout reads its logs and columns from: ``logs`` (a folder or a URI), ``reference`` (default:
    the samples' reference), and more of its spec (``credentials``)."""
    document = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelMonitor",
        "metadata": {"name": "credit-risk"},
        "spec": {
            "model": {"name": "credit-risk", "version": "7", "task": "binaryClassification"},
            "schedule": {"interval": "8760h"},
            "suspend": True,  # the rollout reads the monitor's data and columns; no runs are needed here
            "data": {
                "current": {"uri": str(logs), "format": "parquet"},
                "reference": {"uri": reference or str(samples / "reference.parquet")},
                "columns": {"timestamp": "ts", "label": "label", "score": "score", "modelVersion": "model_version"},
            },
            **spec,
        },
    }
    if request_id:  # the requests a shadow step's mirror copies are paired by it
        document["spec"]["data"]["columns"]["requestId"] = "request_id"
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", document)


def rollout(
    custom, namespace: str, candidate: str = "8", router: dict | None = None, spec: dict | None = None, **analysis: Any
) -> None:
    document = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelRollout",
        "metadata": {"name": f"credit-risk-v{candidate}"},
        "spec": {
            "monitorRef": {"name": "credit-risk"},
            "baseline": {"version": "7", "backend": "credit-risk-v7"},
            "candidate": {"version": candidate, "backend": f"credit-risk-v{candidate}"},
            "trafficRouter": router or {"gatewayAPI": {"httpRoute": "credit-risk", "ruleIndex": 1}},
            "steps": [
                {"weight": 10, "minDuration": "2s"},
                {"weight": 25, "minDuration": "2s"},
                {"weight": 50, "minDuration": "2s"},
            ],
            "analysis": {
                "metric": "accuracy",
                "nonInferiorityMargin": 0.02,
                "guardrails": [{"metric": "rocAuc", "nonInferiorityMargin": 0.05}],
                "minSamplesPerArm": 200,
                "interval": "1s",
                **analysis,
            },
            **(spec or {}),
        },
    }
    # strict: a misplaced field fails here instead of being pruned away unnoticed
    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "modelrollouts", document, field_validation="Strict"
    )


def status(custom, namespace: str, name: str) -> dict[str, Any]:
    return custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "modelrollouts", name).get("status") or {}


def events(custom, namespace: str, name: str) -> list[str]:
    listed = client.CoreV1Api(custom.api_client).list_namespaced_event(namespace).items
    return [e.reason for e in listed if e.involved_object.name == name for _ in range(e.count or 1)]


@pytest.fixture
def traffic(custom, namespace, tmp_path, route) -> Iterator[Traffic]:
    with Traffic(custom, namespace, tmp_path / "logs", {"baseline": "7", "candidate": "8"}) as serving:
        yield serving


SHADOW_FIRST = {"steps": [{"mirror": 100, "minDuration": "2s"}, {"weight": 50, "minDuration": "2s"}]}


def validated_arms(folder: Path, baseline: str, candidate: str) -> dict[str, Any]:
    """Both arms by version, each with its labelled validation data written to ``folder`` as its reference."""
    return {
        role: {
            "version": version,
            "backend": f"credit-risk-v{version}",
            "reference": {"uri": str(write_validation(folder / f"validation-v{version}.parquet", version))},
        }
        for role, version in (("baseline", baseline), ("candidate", candidate))
    }


def with_candidate(custom, namespace: str, version: str) -> None:
    """The route's second rule: the baseline 7 at 100 % and the candidate ``version`` at 0."""
    rules = [
        http_route()["spec"]["rules"][0],
        {
            "backendRefs": [
                {"name": "credit-risk-v7", "port": 8080, "weight": 100},
                {"name": f"credit-risk-v{version}", "port": 8080, "weight": 0},
            ]
        },
    ]
    custom.patch_namespaced_custom_object(*GATEWAY, namespace, "httproutes", "credit-risk", {"spec": {"rules": rules}})


def test_a_better_candidate_goes_through_every_step_and_is_promoted(
    start_operator, custom, namespace, samples, tmp_path, traffic, control_plane, kubeconfig
) -> None:
    operator = start_operator()
    monitor(custom, namespace, tmp_path / "logs", samples)
    rollout(custom, namespace, spec={"updateMonitorOnPromotion": True})
    waited = kubectl(
        control_plane,
        kubeconfig,
        "wait",
        "--for=condition=Promoted",
        "mro/credit-risk-v8",
        "-n",
        namespace,
        "--timeout=150s",
    )
    assert waited.returncode == 0, (waited.stderr, status(custom, namespace, "credit-risk-v8"))
    final = status(custom, namespace, "credit-risk-v8")
    assert final["phase"] == "Promoted" and final["weights"] == {"baseline": 0, "candidate": 100}
    assert traffic.weights() == {"7": 0, "8": 100}  # the route itself
    primary = final["analysis"]["primary"]
    assert primary["difference"] > 0.05 and primary["interval"][0] > -0.02 and primary["margin"] == 0.02
    assert (
        final["analysis"]["labeledRows"]["candidate"] >= 200
        and final["analysis"]["decision"]["reason"] == "NonInferior"
    )
    reasons = eventually(
        lambda: (found := events(custom, namespace, "credit-risk-v8")) and "Promoted" in found and found
    )
    assert reasons.count("StepAdvanced") == 2 and reasons.count("RolloutStarted") == 1
    eventually(lambda: "MonitorUpdated" in events(custom, namespace, "credit-risk-v8"), what="MonitorUpdated posted")
    exported = operator.metrics()
    labels = f'namespace="{namespace}",rollout="credit-risk-v8"'
    phase = f'modelmonitor_rollout_phase{{namespace="{namespace}",phase="Promoted",rollout="credit-risk-v8"}} 1.0'
    assert phase in exported
    assert f'modelmonitor_rollout_weight{{arm="candidate",{labels}}} 100.0' in exported
    assert f'modelmonitor_rollout_difference{{bound="low",metric="accuracy",{labels}}}' in exported
    watched = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", "credit-risk")
    assert watched["spec"]["model"]["version"] == "8"  # the monitor now judges the promoted version
    table = kubectl(control_plane, kubeconfig, "get", "mro", "-n", namespace).stdout
    assert "credit-risk-v8   credit-risk   7          8           3      100      0        Promoted" in table


def test_a_worse_candidate_is_rolled_back_early(start_operator, custom, namespace, samples, tmp_path, route) -> None:
    start_operator()
    monitor(custom, namespace, tmp_path / "logs", samples)
    with_candidate(custom, namespace, "9")
    with Traffic(custom, namespace, tmp_path / "logs", {"baseline": "7", "candidate": "9"}):
        rollout(custom, namespace, candidate="9")
        final = eventually(
            lambda: (
                (found := status(custom, namespace, "credit-risk-v9")).get("phase") in ("RolledBack", "Promoted")
                and found.get("weightsApplied")  # the decision is recorded first, then carried out on the router
                and found
            ),
            timeout=150,
            what="a decision carried out",
        )
    assert final["phase"] == "RolledBack" and final["currentStep"] == 1 and final["reason"] == "CandidateWorse"
    assert final["weights"] == {"baseline": 100, "candidate": 0} and final["abortedVersion"] == "9"
    assert condition({"status": final}, "RolledBack")["status"] == "True"


def test_a_worse_candidate_is_rolled_back_on_its_shadow_step_before_any_user_sees_it(
    start_operator, custom, namespace, samples, tmp_path, route
) -> None:
    start_operator()
    monitor(custom, namespace, tmp_path / "logs", samples, request_id=True)
    with_candidate(custom, namespace, "9")
    served: list[dict[str, int]] = []

    def decided() -> dict[str, Any] | None:
        served.append(traffic.weights())
        found = status(custom, namespace, "credit-risk-v9")
        return found if found.get("phase") == "RolledBack" and found.get("weightsApplied") else None

    versions = {"baseline": "7", "candidate": "9"}
    with Traffic(custom, namespace, tmp_path / "logs", versions, mirrored=True) as traffic:
        rollout(custom, namespace, candidate="9", spec=SHADOW_FIRST)
        eventually(lambda: traffic.mirror() == 100, what="the candidate mirrored")
        final = eventually(decided, timeout=150, what="rolled back and carried out")
        assert traffic.mirror() == 0  # the mirror removed with the rollback
    assert final["currentStep"] == 1 and final["reason"] == "CandidateWorse" and final["mirror"] == 0
    assert all(weights["9"] == 0 for weights in served)  # no user was ever served by version 9
    assert final["analysis"]["labeledRows"]["candidate"] >= 200  # judged on the mirrored requests' rows
    paired = final["analysis"]["paired"]  # request by request: each mirrored copy with the baseline's answer
    assert paired["labeledPairs"] >= 200 and final["analysis"]["primary"]["method"].endswith("paired")
    assert paired["agreement"]["value"] < 0.9  # a guessing build disagrees with the baseline often


def test_a_worse_candidate_is_rolled_back_on_estimates_before_any_label(
    start_operator, custom, namespace, samples, tmp_path, route, control_plane, kubeconfig
) -> None:
    """No label comes during the rollout: each version calibrated on its own validation data, the shadow step's
    estimated accuracy says 9 is worse, and it is rolled back on that, with no user ever served by it."""
    start_operator()
    monitor(custom, namespace, tmp_path / "logs", samples, request_id=True)
    with_candidate(custom, namespace, "9")
    arms = validated_arms(tmp_path, "7", "9")
    versions = {"baseline": "7", "candidate": "9"}
    with Traffic(custom, namespace, tmp_path / "logs", versions, mirrored=True, labelled=False) as traffic:
        rollout(custom, namespace, candidate="9", spec={**SHADOW_FIRST, **arms}, estimated=True)
        final = eventually(
            lambda: (
                (found := status(custom, namespace, "credit-risk-v9")).get("phase") == "RolledBack"
                and found.get("weightsApplied")
                and found
            ),
            timeout=150,
            what="rolled back on estimates",
        )
        assert traffic.mirror() == 0 and traffic.weights() == {"7": 100, "9": 0}
    analysis = final["analysis"]
    assert final["currentStep"] == 1 and final["reason"] == "CandidateWorseEstimated"
    assert analysis["decidedBy"] == "estimates" and analysis["labeledRows"] == {"baseline": 0, "candidate": 0}
    estimated = analysis["estimated"]["primary"]
    assert estimated["interval"][1] < -0.02 and estimated["method"].endswith("calibrations' bootstrap spread")
    assert estimated["candidate"]["rows"] >= 200 and analysis["estimated"]["calibrationRows"]["candidate"] == 10_000
    assert analysis["paired"]["agreement"]["value"] < 0.9  # the shadow step shows the disagreement
    assert condition({"status": final}, "EstimatesTrusted")["reason"] == "EstimatesHold"
    table = kubectl(control_plane, kubeconfig, "get", "mro", "-n", namespace).stdout
    assert "RolledBack" in table and "CandidateWorseEstimated" in table


def test_concept_drift_on_the_monitor_suspends_the_estimates(
    start_operator, custom, namespace, samples, tmp_path, route
) -> None:
    """CBPE assumes P(y | x) held: with the monitor's ConceptDrift condition True the estimates decide nothing."""
    start_operator()
    monitor(custom, namespace, tmp_path / "logs", samples, request_id=True)
    drift = {"type": "ConceptDrift", "status": "True", "reason": "ConceptDrift", "message": "ddm: drift at row 3043"}

    def accepted() -> list[dict[str, Any]] | None:
        found = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", "credit-risk")
        return condition(found, "Ready") and found["status"]["conditions"]

    kept = eventually(accepted, what="the monitor accepted")  # then its conditions are the operator's no more
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, "modelmonitors", "credit-risk", {"status": {"conditions": [*kept, drift]}}
    )
    with_candidate(custom, namespace, "9")
    arms = validated_arms(tmp_path, "7", "9")
    with Traffic(custom, namespace, tmp_path / "logs", {"baseline": "7", "candidate": "9"}, labelled=False):
        rollout(custom, namespace, candidate="9", spec=arms, estimated=True)
        found = eventually(
            lambda: (
                (got := status(custom, namespace, "credit-risk-v9"))
                and (got.get("analysis") or {})
                .get("estimated", {})
                .get("primary", {})
                .get("candidate", {})
                .get("rows", 0)
                >= 400
                and got
            ),
            timeout=120,
            what="the versions estimated on enough rows",
        )
    assert found["phase"] == "Progressing" and found["reason"] == "InsufficientData"  # not rolled back on estimates
    assert "estimates suspended (EstimateUnreliable): the monitor's concept-drift checks fire" in found["message"]
    assert found["analysis"]["estimated"]["primary"]["interval"][1] < -0.02  # though the estimate says worse
    suspended = condition({"status": found}, "EstimatesTrusted")
    assert suspended["status"] == "False" and suspended["reason"] == "EstimateUnreliable"
    assert "EstimateUnreliable" in events(custom, namespace, "credit-risk-v9")


def test_without_the_candidates_validation_data_it_waits_for_labels_and_says_why(
    start_operator, custom, namespace, samples, tmp_path, route
) -> None:
    start_operator()
    monitor(custom, namespace, tmp_path / "logs", samples, request_id=True)
    with_candidate(custom, namespace, "9")
    with Traffic(custom, namespace, tmp_path / "logs", {"baseline": "7", "candidate": "9"}, labelled=False):
        rollout(custom, namespace, candidate="9", estimated=True)
        refused = eventually(
            lambda: (
                (found := condition({"status": status(custom, namespace, "credit-risk-v9")}, "EstimatesTrusted"))
                and found["status"] == "False"
                and found
            ),
            what="the estimates refused",
        )
    assert refused["reason"] == "EstimateRefused" and refused["message"].startswith("candidate.reference is not set")
    found = status(custom, namespace, "credit-risk-v9")
    assert found["phase"] == "Progressing" and found["reason"] == "InsufficientData"


def test_a_better_candidate_passes_its_shadow_step_then_goes_live(
    start_operator, custom, namespace, samples, tmp_path, route, control_plane, kubeconfig
) -> None:
    """The logs carry request ids, but the monitor names none: the shadow step compares two arms, and says why."""
    start_operator()
    monitor(custom, namespace, tmp_path / "logs", samples)
    versions = {"baseline": "7", "candidate": "8"}
    with Traffic(custom, namespace, tmp_path / "logs", versions, mirrored=True) as traffic:
        # a shadow step long enough to be seen in its state before it may advance
        steps = [{**SHADOW_FIRST["steps"][0], "minDuration": "15s"}, SHADOW_FIRST["steps"][1]]
        rollout(custom, namespace, spec={"steps": steps})
        shadow = eventually(
            lambda: (found := status(custom, namespace, "credit-risk-v8")).get("analysis", {}).get("paired") and found,
            what="the shadow step compared",
        )
        assert shadow["currentStep"] == 1 and shadow["mirror"] == 100
        assert shadow["weights"] == {"baseline": 100, "candidate": 0}
        assert shadow["analysis"]["paired"]["reason"].startswith("the monitor has no data.columns.requestId")
        assert traffic.mirror() == 100 and traffic.weights() == {"7": 100, "8": 0}
        table = kubectl(control_plane, kubeconfig, "get", "mro", "-n", namespace).stdout
        assert "credit-risk-v8   credit-risk   7          8           1      0        100" in table
        eventually(lambda: status(custom, namespace, "credit-risk-v8").get("phase") == "Promoted", timeout=150)
        assert traffic.mirror() == 0 and traffic.weights() == {"7": 0, "8": 100}
    advanced = [e for e in events(custom, namespace, "credit-risk-v8") if e == "StepAdvanced"]
    assert len(advanced) == 1  # from the shadow step to the live one


def test_weights_changed_by_someone_else_pause_it_until_resumed(
    start_operator, custom, namespace, samples, tmp_path, traffic
) -> None:
    start_operator()
    monitor(custom, namespace, tmp_path / "logs", samples)
    rollout(custom, namespace, minSamplesPerArm=100000)  # never enough data: it stays on step 1
    eventually(lambda: status(custom, namespace, "credit-risk-v8").get("weightsApplied"), what="step 1's weights set")
    route = custom.get_namespaced_custom_object(*GATEWAY, namespace, "httproutes", "credit-risk")
    set_half_and_half_as_argocd(custom, namespace, route)
    paused = eventually(
        lambda: (found := status(custom, namespace, "credit-risk-v8")).get("phase") == "Paused" and found
    )
    assert paused["reason"] == "WeightDrift" and "changed by argocd-controller" in paused["message"]
    assert traffic.weights() == {"7": 50, "8": 50}  # it does not fight: it pauses
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "modelrollouts", "credit-risk-v8", {"spec": {"decision": "resume"}}
    )
    eventually(lambda: traffic.weights() == {"7": 90, "8": 10}, what="the weights taken back on resume")
    assert eventually(lambda: status(custom, namespace, "credit-risk-v8").get("phase") == "Progressing")
    assert status(custom, namespace, "credit-risk-v8")["reason"] == "InsufficientData"


def test_a_broken_split_pauses_with_the_shares(start_operator, custom, namespace, samples, tmp_path, traffic) -> None:
    traffic.skew = {"7": 70, "8": 30}  # the router says 90/10; the logs say otherwise
    start_operator()
    monitor(custom, namespace, tmp_path / "logs", samples)
    rollout(custom, namespace)
    paused = eventually(
        lambda: (found := status(custom, namespace, "credit-risk-v8")).get("phase") == "Paused" and found, timeout=90
    )
    assert paused["reason"] == "SampleRatioMismatch" and "not the 90.0%/10.0% set" in paused["message"]


def test_too_little_data_waits_and_says_so(start_operator, custom, namespace, samples, tmp_path, route) -> None:
    start_operator()
    monitor(custom, namespace, tmp_path / "logs", samples)
    (tmp_path / "logs").mkdir()
    rollout(custom, namespace)
    eventually(lambda: status(custom, namespace, "credit-risk-v8").get("startedAt"), what="the rollout started")
    time.sleep(1)  # then a few rows served since it started (rows logged before it are not its own)
    write_traffic(tmp_path / "logs", {"7": 90, "8": 10}, 50, end=datetime.now(UTC), span=timedelta(seconds=1), seed=1)

    def counted() -> dict[str, Any] | None:
        found = status(custom, namespace, "credit-risk-v8")
        return sum(((found.get("analysis") or {}).get("rows") or {}).values()) == 50 and found

    waiting = eventually(counted, what="the rows since it started compared")
    assert waiting["reason"] == "InsufficientData" and waiting["phase"] == "Progressing"
    assert "200 per arm needed" in waiting["message"]


@pytest.mark.parametrize(
    ("router", "message"),
    [
        (
            {"istio": {"virtualService": "credit-risk"}},
            "VirtualService {ns}/credit-risk not found (or its CRD, virtualservices.networking.istio.io, is not "
            "installed)",
        ),
        (
            {"kserve": {"inferenceService": "credit-risk"}},
            "InferenceService {ns}/credit-risk not found (or its CRD, inferenceservices.serving.kserve.io, is not "
            "installed)",
        ),
        (
            {"seldon": {"experiment": "credit-risk"}},
            "Experiment {ns}/credit-risk not found (or its CRD, experiments.mlops.seldon.io, is not installed)",
        ),
    ],
    ids=["istio", "kserve", "seldon"],
)
def test_a_router_without_its_object_or_crd_pauses_with_a_clear_reason(
    start_operator, custom, namespace, samples, tmp_path, router, message
) -> None:
    start_operator()
    monitor(custom, namespace, tmp_path / "logs", samples)
    rollout(custom, namespace, router=router)
    paused = eventually(
        lambda: (found := status(custom, namespace, "credit-risk-v8")).get("reason") == "RouterUnavailable" and found
    )
    assert paused["phase"] == "Paused" and paused["message"].startswith(message.format(ns=namespace))


def test_a_crash_between_recording_and_setting_weights_resumes_without_a_false_drift(
    start_operator, custom, namespace, samples, tmp_path, traffic
) -> None:
    doomed = start_operator(env={"MODELMONITOR_FAULT": BEFORE_ROUTER_PATCH})
    monitor(custom, namespace, tmp_path / "logs", samples)
    rollout(custom, namespace)
    eventually(lambda: doomed.process.poll() is not None, timeout=60, what="the operator dead before the router patch")
    recorded = status(custom, namespace, "credit-risk-v8")
    assert recorded["weights"] == {"baseline": 90, "candidate": 10} and recorded["weightsApplied"] is False
    assert traffic.weights() == {"7": 100, "8": 0}  # the route lags behind the status: our own unfinished write
    start_operator()
    final = eventually(
        lambda: (found := status(custom, namespace, "credit-risk-v8")).get("phase") in ("Promoted", "Paused") and found,
        timeout=150,
    )
    assert final["phase"] == "Promoted", final.get("message")
    reasons = events(custom, namespace, "credit-risk-v8")
    # Events are best-effort: the one queued just before the crash may be lost, never doubled
    assert reasons.count("RolloutStarted") <= 1 and reasons.count("StepAdvanced") == 2 and "Paused" not in reasons


def test_a_restart_mid_rollout_resumes_at_the_same_step(
    start_operator, custom, namespace, samples, tmp_path, traffic
) -> None:
    first = start_operator()
    monitor(custom, namespace, tmp_path / "logs", samples)
    rollout(custom, namespace)
    eventually(lambda: status(custom, namespace, "credit-risk-v8").get("currentStep") == 2, timeout=120, what="step 2")
    # Events are posted after the status write and best-effort: a SIGKILL between the two loses it (CI saw it once)
    eventually(
        lambda: events(custom, namespace, "credit-risk-v8").count("StepAdvanced") == 1, what="step 2's Event posted"
    )
    first.kill()
    at_kill = status(custom, namespace, "credit-risk-v8")
    start_operator()
    eventually(lambda: status(custom, namespace, "credit-risk-v8").get("phase") == "Promoted", timeout=150)
    reasons = events(custom, namespace, "credit-risk-v8")
    assert reasons.count("RolloutStarted") == 1 and reasons.count("StepAdvanced") == 2
    assert at_kill["startedAt"] == status(custom, namespace, "credit-risk-v8")["startedAt"]
