"""The demo's second half: deploy the retrained version through a ModelRollout, and keep monitoring.

Traffic is served by ``modelmonitor_tools.samples.serve`` in the proportions the real HTTPRoute
holds, so the logged rows prove the weights took effect. A live monitor judges version
7 unhealthy. A ModelRollout moves version 8 through 10, 25 and 50 % and promotes it,
because it is better; the monitor then follows version 8 and is healthy. A botched
version 9 is rolled back at its first step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelmonitor.api.monitor import API_GROUP, API_VERSION
from modelmonitor_tools.samples import serve

GROUP, VERSION = API_GROUP, API_VERSION
GATEWAY = ("gateway.networking.k8s.io", "v1")
ROUTE = "credit-risk"
TIMEOUT = 180.0

Kubectl = Callable[..., str]


def _route(backends: dict[str, int]) -> dict[str, Any]:
    refs = [{"name": f"credit-risk-v{version}", "port": 8080, "weight": weight} for version, weight in backends.items()]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": ROUTE, "namespace": "default"},
        "spec": {"parentRefs": [{"name": "inference-gateway"}], "rules": [{"backendRefs": refs}]},
    }


def _live_monitor(traffic: Path, reference: Path) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelMonitor",
        "metadata": {"name": "credit-risk-live", "namespace": "default"},
        "spec": {
            "model": {"name": "credit-risk", "version": "7", "task": "binaryClassification"},
            "schedule": {"interval": "5m"},
            "data": {
                "current": {"uri": str(traffic), "format": "parquet", "window": "1h"},
                "reference": {"uri": str(reference)},
                "columns": {"timestamp": "ts", "label": "label", "score": "score", "modelVersion": "model_version"},
                "minSamples": 200,
            },
            "metrics": [{"name": "accuracy", "min": 0.75}, {"name": "rocAuc", "min": 0.80}],
        },
    }


def _rollout(baseline: str, candidate: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelRollout",
        "metadata": {"name": f"credit-risk-v{candidate}", "namespace": "default"},
        "spec": {
            "monitorRef": {"name": "credit-risk-live"},
            "baseline": {"version": baseline, "backend": f"credit-risk-v{baseline}"},
            "candidate": {"version": candidate, "backend": f"credit-risk-v{candidate}"},
            "trafficRouter": {"gatewayAPI": {"httpRoute": ROUTE, "ruleIndex": 0}},
            "steps": [{"weight": w, "minDuration": "3s"} for w in (10, 25, 50)],
            "analysis": {
                "metric": "accuracy",
                "nonInferiorityMargin": 0.02,
                "guardrails": [{"metric": "rocAuc", "nonInferiorityMargin": 0.05}],
                "minSamplesPerArm": 300,
                "interval": "1s",
            },
            "updateMonitorOnPromotion": True,
        },
    }


class Loop:
    def __init__(self, api_client: Any, kubectl: Kubectl, directory: Path) -> None:
        from kubernetes import client

        self.custom = client.CustomObjectsApi(api_client)
        self.kubectl = kubectl
        self.traffic = directory / "traffic"
        self.stop = threading.Event()

    def shares(self) -> dict[str, int]:
        route = self.custom.get_namespaced_custom_object(*GATEWAY, "default", "httproutes", ROUTE)
        refs = route["spec"]["rules"][0]["backendRefs"]
        return {ref["name"].removeprefix("credit-risk-v"): int(ref.get("weight", 1)) for ref in refs}

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

    def judged_current_generation(self) -> bool:
        monitor = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, "default", "modelmonitors", "credit-risk-live"
        )
        last = (monitor.get("status") or {}).get("lastRun") or {}
        return monitor["metadata"]["generation"] > 1 and last.get("generation") == monitor["metadata"]["generation"]

    def roll_out(self, baseline: str, candidate: str) -> dict[str, Any]:
        name = f"credit-risk-v{candidate}"
        print(f"\n$ kubectl apply -f <ModelRollout {name}: {baseline} -> {candidate}, steps 10/25/50 %>", flush=True)
        self.custom.create_namespaced_custom_object(
            GROUP, VERSION, "default", "modelrollouts", _rollout(baseline, candidate)
        )
        final = self.wait(
            f"{name} to decide",
            lambda: (found := self.status("modelrollouts", name)).get("phase") in ("Promoted", "RolledBack") and found,
        )
        print("$ kubectl get mro")
        print(self.kubectl("get", "mro"))
        print(f"{name}: {final['phase']} ({final['reason']}): {final['message']}")
        return final

    def run(self, reference: Path) -> bool:
        self.custom.create_namespaced_custom_object(*GATEWAY, "default", "httproutes", _route({"7": 100, "8": 0}))
        server = threading.Thread(target=serve, args=(self.shares, self.traffic, self.stop), daemon=True)
        server.start()
        try:
            self.wait("the first served traffic", lambda: any(self.traffic.glob("*.parquet")))
            time.sleep(2)
            self.custom.create_namespaced_custom_object(
                GROUP, VERSION, "default", "modelmonitors", _live_monitor(self.traffic, reference)
            )
            before = self.wait("the live monitor judged", self.healthy)
            print(f"\ncredit-risk-live watches served traffic: version 7, Healthy={before}")
            promoted = self.roll_out("7", "8")
            # promotion set the monitor's model.version to 8: that spec change runs it again
            self.wait("the monitor's run on version 8", self.judged_current_generation)
            after = self.healthy()
            print(f"credit-risk-live now follows version 8: Healthy={after}")
            self.custom.patch_namespaced_custom_object(
                *GATEWAY,
                "default",
                "httproutes",
                ROUTE,
                {"spec": {"rules": _route({"8": 100, "9": 0})["spec"]["rules"]}},
            )
            rolled_back = self.roll_out("8", "9")
        finally:
            self.stop.set()
            server.join(10)
        return (before, promoted["phase"], after, rolled_back["phase"]) == ("False", "Promoted", "True", "RolledBack")
