"""The demo's second half: deploy the retrained version through a ModelRollout, and keep monitoring.

Traffic is served by ``modelmonitor_tools.samples.serve`` in the proportions the real HTTPRoute
holds, so the logged rows prove the weights took effect. The model's versions are registered
in MLflow (a real ``mlflow server``), where the alias ``champion`` names version 7 and
``challenger`` version 8. A live monitor follows ``champion`` and judges version 7 unhealthy.
A ModelRollout of ``challenger`` against ``champion`` moves version 8 through 10, 25 and 50 %
and promotes it, because it is better: the operator moves ``champion`` to version 8, and the
monitor, run again, follows it and is healthy. ``challenger`` then names a botched version 9,
rolled back at its first step: tagged so in the registry, the aliases left alone. Last, version 10
goes out while the labels are a day away: a shadow step mirrors every request to it, its answers
disagree with version 8's, and it is rolled back on their estimated accuracy (each version
calibrated on its own validation data) before any label exists.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelmonitor.api.monitor import API_GROUP, API_VERSION
from modelmonitor_tools.devcluster.mlflow_server import MlflowServer
from modelmonitor_tools.samples import Mirror, serve, write_validation

GROUP, VERSION = API_GROUP, API_VERSION
GATEWAY = ("gateway.networking.k8s.io", "v1")
ROUTE = "credit-risk"
MODEL = "credit-risk"  # the registered model
TIMEOUT = 180.0
REGISTRY = Path(__file__).resolve().parent / "mlflow_registry.py"  # run with MLflow's own client

Kubectl = Callable[..., str]


def _route(backends: dict[str, int]) -> dict[str, Any]:
    refs = [{"name": f"credit-risk-v{version}", "port": 8080, "weight": weight} for version, weight in backends.items()]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": ROUTE, "namespace": "default"},
        "spec": {"parentRefs": [{"name": "inference-gateway"}], "rules": [{"backendRefs": refs}]},
    }


def _live_monitor(traffic: Path, reference: Path, tracking: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelMonitor",
        "metadata": {"name": "credit-risk-live", "namespace": "default"},
        "spec": {
            "model": {
                "name": "credit-risk",
                "task": "binaryClassification",
                "mlflow": {"trackingUri": tracking, "name": MODEL, "alias": "champion"},
            },
            "schedule": {"interval": "5m"},
            "data": {
                "current": {"uri": str(traffic), "format": "parquet", "window": "1h"},
                "reference": {"uri": str(reference)},
                "columns": {
                    "timestamp": "ts",
                    "label": "label",
                    "score": "score",
                    "modelVersion": "model_version",
                    "requestId": "request_id",  # a shadow step's mirrored copies pair with the requests by it
                },
                "minSamples": 200,
            },
            "metrics": [{"name": "accuracy", "min": 0.75}, {"name": "rocAuc", "min": 0.80}],
        },
    }


def _rollout(candidate: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A ModelRollout of the live monitor's model on the demo's route: ``spec`` holds its arms, steps and analysis."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelRollout",
        "metadata": {"name": f"credit-risk-v{candidate}", "namespace": "default"},
        "spec": {
            "monitorRef": {"name": "credit-risk-live"},
            "trafficRouter": {"gatewayAPI": {"httpRoute": ROUTE, "ruleIndex": 0}},
            **spec,
        },
    }


def _rollout_by_alias(baseline: str, candidate: str) -> dict[str, Any]:
    return _rollout(
        candidate,
        {
            "baseline": {"mlflow": {"alias": "champion"}, "backend": f"credit-risk-v{baseline}"},
            "candidate": {"mlflow": {"alias": "challenger"}, "backend": f"credit-risk-v{candidate}"},
            "steps": [{"weight": w, "minDuration": "3s"} for w in (10, 25, 50)],
            "analysis": {
                "metric": "accuracy",
                "nonInferiorityMargin": 0.02,
                "guardrails": [{"metric": "rocAuc", "nonInferiorityMargin": 0.05}],
                "minSamplesPerArm": 300,
                "interval": "1s",
            },
        },
    )


def _rollout_before_labels(baseline: str, candidate: str, data: Path) -> dict[str, Any]:
    """A rollout by version, shadow step first, decided on estimates too: each arm names its validation data."""

    def arm(version: str) -> dict[str, Any]:
        validation = write_validation(data / f"validation-v{version}.parquet", version)
        return {"version": version, "backend": f"credit-risk-v{version}", "reference": {"uri": str(validation)}}

    return _rollout(
        candidate,
        {
            "baseline": arm(baseline),
            "candidate": arm(candidate),
            "steps": [{"mirror": 100, "minDuration": "3s"}, *({"weight": w, "minDuration": "3s"} for w in (10, 50))],
            "analysis": {
                "metric": "accuracy",
                "nonInferiorityMargin": 0.02,
                "minSamplesPerArm": 300,
                "interval": "1s",
                "estimated": True,
            },
        },
    )


class Loop:
    def __init__(self, api_client: Any, kubectl: Kubectl, directory: Path, mlflow: MlflowServer) -> None:
        from kubernetes import client

        self.custom = client.CustomObjectsApi(api_client)
        self.mlflow = mlflow
        self.kubectl = kubectl
        self.traffic = directory / "traffic"
        self.stop = threading.Event()

    def _rule(self) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object(*GATEWAY, "default", "httproutes", ROUTE)["spec"]["rules"][0]

    def shares(self) -> dict[str, int]:
        refs = self._rule()["backendRefs"]
        return {ref["name"].removeprefix("credit-risk-v"): int(ref.get("weight", 1)) for ref in refs}

    def mirror(self) -> Mirror:
        """What the route's RequestMirror filter copies: to which version, what share (none: 0 %)."""
        shares = self.shares()
        for found in self._rule().get("filters") or []:
            if found.get("type") == "RequestMirror":
                target = found["requestMirror"]["backendRef"]["name"].removeprefix("credit-risk-v")
                source = next(version for version, weight in shares.items() if weight)
                return Mirror(source, target, int(found["requestMirror"].get("percent", 100)))
        return Mirror("", "", 0)

    def wait(self, what: str, check: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + TIMEOUT
        while not (found := check()):
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what}")
            time.sleep(0.5)
        return found

    def status(self, plural: str, name: str) -> dict[str, Any]:
        found = self.custom.get_namespaced_custom_object(GROUP, VERSION, "default", plural, name)
        return found.get("status") or {}

    def healthy(self) -> str:
        conditions = self.status("modelmonitors", "credit-risk-live").get("conditions", [])
        return next((c["status"] for c in conditions if c["type"] == "Healthy"), "")

    def last_run(self) -> dict[str, Any]:
        return self.status("modelmonitors", "credit-risk-live").get("lastRun") or {}

    def registry(self, *command: str) -> str:
        """MLflow's client on the registry: ``create``, ``alias`` or ``show`` (mlflow_registry.py)."""
        return self.mlflow.run_python(str(REGISTRY), *command)

    def show_registry(self) -> dict[str, Any]:
        shown = json.loads(self.registry("show", MODEL).splitlines()[-1])
        aliases = " ".join(f"{alias}={version}" for alias, version in shown["aliases"].items())
        print(f"MLflow registry, model {MODEL}: aliases {aliases}")
        for version, tags in sorted(shown["tags"].items()):
            told = ", ".join(
                f"{key.removeprefix('modelmonitor.rollout.')}={value}"
                for key, value in tags.items()
                if key != "modelmonitor.rollout"  # the rollout's name, told first
            )
            print(f"  version {version} tagged by {tags.get('modelmonitor.rollout')}: {told}")
        return shown

    def roll_out(self, baseline: str, candidate: str) -> dict[str, Any]:
        name = f"credit-risk-v{candidate}"
        print(f"\n$ kubectl apply -f <ModelRollout {name}: {baseline} -> {candidate}, steps 10/25/50 %>", flush=True)
        self.custom.create_namespaced_custom_object(
            GROUP, VERSION, "default", "modelrollouts", _rollout_by_alias(baseline, candidate)
        )
        final = self.wait(
            f"{name} to decide and write its decision to the registry",
            lambda: (found := self.status("modelrollouts", name)).get("registryRecordedAt") and found,
        )
        print("$ kubectl get mro")
        print(self.kubectl("get", "mro"))
        print(f"{name}: {final['phase']} ({final['reason']}): {final['message']}")
        return final

    def run(self, reference: Path) -> bool:
        self.registry("create", MODEL, "9", "champion=7", "challenger=8")
        print("\n$ python mlflow_registry.py show credit-risk   # MLflow's own client")
        self.show_registry()
        self.custom.create_namespaced_custom_object(*GATEWAY, "default", "httproutes", _route({"7": 100, "8": 0}))
        server = threading.Thread(target=serve, args=(self.shares, self.traffic, self.stop), daemon=True)
        server.start()
        try:
            self.wait("the first served traffic", lambda: any(self.traffic.glob("*.parquet")))
            time.sleep(2)
            monitor = _live_monitor(self.traffic, reference, self.mlflow.uri)
            self.custom.create_namespaced_custom_object(GROUP, VERSION, "default", "modelmonitors", monitor)
            before = self.wait("the live monitor judged", self.healthy)
            version = self.last_run().get("modelVersion")
            print(f"\ncredit-risk-live watches served traffic: version {version}, Healthy={before}")
            promoted = self.roll_out("7", "8")
            promoted_registry = self.show_registry()
            # the monitor follows champion: a run now judges the version it names now
            judged = self.last_run().get("name")
            annotation = {"metadata": {"annotations": {"modelmonitor.io/run-now": "after-promotion"}}}
            self.custom.patch_namespaced_custom_object(
                GROUP, VERSION, "default", "modelmonitors", "credit-risk-live", annotation
            )
            print("$ kubectl annotate mm credit-risk-live modelmonitor.io/run-now=after-promotion")
            self.wait(
                "the monitor's run on version 8",
                lambda: (run := self.last_run()).get("name") != judged and run.get("modelVersion") == "8",
            )
            after = self.healthy()
            print(f"credit-risk-live now follows version 8: Healthy={after}")
            self.custom.patch_namespaced_custom_object(
                *GATEWAY,
                "default",
                "httproutes",
                ROUTE,
                {"spec": {"rules": _route({"8": 100, "9": 0})["spec"]["rules"]}},
            )
            self.registry("alias", MODEL, "challenger", "9")
            print("\n$ python mlflow_registry.py alias credit-risk challenger 9")
            rolled_back = self.roll_out("8", "9")
            rolled_back_registry = self.show_registry()
        finally:
            self.stop.set()
            server.join(10)
        estimated = self.roll_out_before_labels("8", "10", reference.parent)
        outcomes = (before, promoted["phase"], after, rolled_back["phase"], estimated["reason"])
        aliases = (promoted_registry["aliases"]["champion"], rolled_back_registry["aliases"]["champion"])
        expected = ("False", "Promoted", "True", "RolledBack", "CandidateWorseEstimated")
        return outcomes == expected and aliases == ("8", "8")

    def roll_out_before_labels(self, baseline: str, candidate: str, data: Path) -> dict[str, Any]:
        """Version 10, whose labels are a day away: mirrored first, rolled back on its estimated accuracy."""
        print(f"\n== version {candidate}, before its labels: a shadow step, decided on estimates", flush=True)
        rules = _route({baseline: 100, candidate: 0})["spec"]["rules"]
        self.custom.patch_namespaced_custom_object(*GATEWAY, "default", "httproutes", ROUTE, {"spec": {"rules": rules}})
        stop = threading.Event()
        server = threading.Thread(
            target=serve,
            args=(self.shares, self.traffic, stop),
            kwargs={"read_mirror": self.mirror, "labelled": False},  # the labels come tomorrow
            daemon=True,
        )
        server.start()
        name = f"credit-risk-v{candidate}"
        try:
            print(
                f"$ kubectl apply -f <ModelRollout {name}: {baseline} -> {candidate}, mirror 100 % then 10/50 %, "
                "analysis.estimated, each version's validation data as its reference>",
                flush=True,
            )
            document = _rollout_before_labels(baseline, candidate, data)
            self.custom.create_namespaced_custom_object(GROUP, VERSION, "default", "modelrollouts", document)
            final = self.wait(
                f"{name} to decide",
                lambda: (
                    (found := self.status("modelrollouts", name)).get("phase") in ("RolledBack", "Promoted")
                    and found.get("weightsApplied")
                    and found
                ),
            )
        finally:
            stop.set()
            server.join(10)
        print("$ kubectl get mro")
        print(self.kubectl("get", "mro"))
        analysis = final.get("analysis") or {}
        paired = analysis.get("paired") or {}
        agreement = (paired.get("agreement") or {}).get("value")
        estimated = (analysis.get("estimated") or {}).get("primary") or {}

        def accuracy(arm: str) -> str:
            value = (estimated.get(arm) or {}).get("value")
            return "-" if value is None else f"{value:.3f}"

        agreed = "-" if agreement is None else f"{agreement:.1%}"
        print(
            f"{name}: {final['phase']} ({final['reason']}), decided by {analysis.get('decidedBy')}: "
            f"{final['message']}\n"
            f"  labelled rows {analysis.get('labeledRows')}; on the shadow step versions {baseline} and {candidate} "
            f"agreed on {agreed} of {paired.get('pairs')} requests; estimated accuracy "
            f"{baseline} {accuracy('baseline')}, {candidate} {accuracy('candidate')}"
        )
        return final
