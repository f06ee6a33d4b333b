"""The README's demo: ``make demo`` (or ``python -m modelmonitor_tools.demo [--keep]``).

Starts the dev cluster (etcd, kube-apiserver, kube-controller-manager and the pod runner),
installs the CRDs, runs the operator, and applies two sample monitors over reproducible
sample data: a healthy credit-risk model checked inline, and one whose inputs drifted and
whose accuracy dropped, checked by a Kubernetes Job.  The drifted monitor's
degraded performance starts a retraining Job that refits the model on the logged window
and writes version 8.  The drifted model's traffic also goes, as KServe CloudEvents, through
``modelmonitor collector`` into an S3 bucket (SeaweedFS), its labels after it; a third monitor
judges it from there and must agree with the one on the file (``demo_payload_logs``).  Then
version 8 is rolled out by MLflow alias and promoted, which moves the alias ``champion``, and a
botched version 9 is rolled back (``demo_loop``).  It waits
for all to be judged and the retraining to end, prints ``kubectl get mm``, the conditions and
the retraining's outcome, and stops everything (``--keep`` leaves it running until Ctrl-C, with
``KUBECONFIG`` printed for you).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import yaml

from modelmonitor_tools.demo_loop import Loop
from modelmonitor_tools.demo_payload_logs import NAME as KSERVE_MONITOR
from modelmonitor_tools.demo_payload_logs import PayloadLogs, describe
from modelmonitor_tools.devcluster.assets import ensure_assets
from modelmonitor_tools.devcluster.cluster import ControlPlane
from modelmonitor_tools.devcluster.crds import ensure_gateway_api_crds
from modelmonitor_tools.devcluster.mlflow_server import MlflowServer
from modelmonitor_tools.devcluster.podrunner import PodRunner
from modelmonitor_tools.devcluster.processes import ManagedProcess, free_port
from modelmonitor_tools.samples import write_samples

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180.0
IMAGE = "ghcr.io/modelmonitor/modelmonitor:0.1.0"  # the dev cluster's pod runner runs the command with this Python


def _kubectl(kubectl: Path, kubeconfig: Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(
        [str(kubectl), *args], env={**os.environ, "KUBECONFIG": str(kubeconfig)}, capture_output=True, text=True
    )
    if check and result.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def _judged(kubectl: Path, kubeconfig: Path, name: str) -> bool:
    jsonpath = "{.status.lastRun.name}"
    return bool(_kubectl(kubectl, kubeconfig, "get", "mm", name, "-o", f"jsonpath={jsonpath}", check=False).strip())


def _install_gateway_api(kubectl: Path, kubeconfig: Path) -> None:
    _kubectl(kubectl, kubeconfig, "apply", "--server-side", "-f", str(ensure_gateway_api_crds()))
    deadline = time.monotonic() + 60
    crd = "crd/httproutes.gateway.networking.k8s.io"
    while _kubectl(kubectl, kubeconfig, "wait", "--for=condition=Established", crd, check=False) == "":
        if time.monotonic() > deadline:
            raise SystemExit("the Gateway API CRDs did not become Established")
        time.sleep(0.5)


def _retrained(kubectl: Path, kubeconfig: Path, name: str) -> bool:
    jsonpath = "{.status.retraining.last.outcome}"
    return bool(_kubectl(kubectl, kubeconfig, "get", "mm", name, "-o", f"jsonpath={jsonpath}", check=False).strip())


def _retraining(logs: Path, models: Path) -> dict[str, object]:
    """Retrain when performance degrades: a Job running the sample training script on the logged window."""
    command = [sys.executable, "-m", "modelmonitor_tools.sample_training", "--data", str(logs), "--out", str(models)]
    return {
        "on": ["PerformanceDegraded"],
        "cooldown": "1h",
        "jobTemplate": {
            "spec": {
                "backoffLimit": 0,
                "template": {"spec": {"containers": [{"name": "train", "image": IMAGE, "command": command}]}},
            }
        },
    }


def _wait_ready(port: int, operator: ManagedProcess) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not operator.running():
            raise SystemExit(f"the operator exited:\n{operator.tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the operator was not ready in time:\n{operator.tail()}")


def _write_report(port: int, name: str, directory: Path) -> Path:
    """The monitor's last run as an HTML report, from the web view's JSON twin."""
    from modelmonitor.api.results import Results
    from modelmonitor.report import render_report

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/monitors/default/{name}", timeout=10) as response:
        latest = json.load(response)["latest"]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.html"
    path.write_text(render_report(Results.from_document(latest), name=f"{name} ({latest['run']})"), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description="the modelmonitor demo on a local dev cluster")
    parser.add_argument("--keep", action="store_true", help="keep everything running until Ctrl-C")
    parser.add_argument("--dir", type=Path, default=Path(".demo"), help="where the demo keeps its files")
    args = parser.parse_args()
    directory = args.dir.resolve()
    shutil.rmtree(directory / "cluster", ignore_errors=True)
    print("== building or finding the control plane (the first build takes minutes)", flush=True)
    assets = ensure_assets()
    print("== writing sample data", flush=True)
    monitors = write_samples(directory / "data", now=datetime.now(UTC))
    plane = ControlPlane(workdir=directory / "cluster", assets=assets, with_controllers=True)
    runner: PodRunner | None = None
    operator: ManagedProcess | None = None
    payload = PayloadLogs(directory / "payload-logs")
    shutil.rmtree(directory / "mlflow", ignore_errors=True)
    mlflow = MlflowServer(directory / "mlflow")
    try:
        print("== starting etcd, kube-apiserver, kube-controller-manager and the pod runner", flush=True)
        plane.start()
        assert plane.kubeconfig is not None and plane.ca is not None
        kubeconfig = plane.kubeconfig
        runner = PodRunner(kubeconfig, plane.ca.certificate, plane.workdir)
        runner.start()
        _kubectl(assets.kubectl, kubeconfig, "apply", "-f", str(ROOT / "crds"))
        _kubectl(assets.kubectl, kubeconfig, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
        port = free_port()
        print(f"== starting the operator (metrics on http://127.0.0.1:{port}/metrics)", flush=True)
        operator = ManagedProcess(
            "operator",
            [
                sys.executable,
                "-m",
                "modelmonitor",
                "operator",
                "--namespace",
                "default",
                "--port",
                str(port),
                "--standalone",
                "--runner-command",
                f"{sys.executable} -m modelmonitor",
            ],
            plane.logs_dir / "operator.log",
            env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        )
        operator.start()
        _wait_ready(port, operator)
        healthy, drifted = (yaml.safe_load(path.read_text()) for path in monitors)
        drifted["spec"]["runner"] = "job"  # the drifted model is checked by a Job, through the Job controller
        models = directory / "models"
        drifted["spec"]["actions"] = {"retrain": _retraining(directory / "data" / "drifted.parquet", models)}
        print("== the drifted model's traffic through the collector into S3 (SeaweedFS; built the first time)")
        payload.start()
        sent, labelled = payload.send(directory / "data" / "drifted.parquet", "default")
        print(f"   {sent} requests and responses as KServe CloudEvents, then {labelled} labels to /v1/feedback")
        manifest = directory / "monitors.yaml"
        manifest.write_text(yaml.safe_dump_all([healthy, drifted, *payload.manifests(drifted)], sort_keys=False))
        print(f"$ kubectl apply -f {manifest}", flush=True)
        print(_kubectl(assets.kubectl, kubeconfig, "apply", "-f", str(manifest)), end="", flush=True)
        names = [healthy["metadata"]["name"], drifted["metadata"]["name"]]
        kserve = KSERVE_MONITOR
        deadline = time.monotonic() + TIMEOUT
        while not all(_judged(assets.kubectl, kubeconfig, name) for name in [*names, kserve]) or not _retrained(
            assets.kubectl, kubeconfig, names[1]
        ):
            if time.monotonic() > deadline:
                raise SystemExit(f"the monitors were not judged and retrained in time:\n{operator.tail()}")
            time.sleep(0.5)
        print("\n$ kubectl get mm -o wide")
        print(_kubectl(assets.kubectl, kubeconfig, "get", "mm", "-o", "wide"))
        print("$ kubectl get monitorruns,jobs")
        print(_kubectl(assets.kubectl, kubeconfig, "get", "monitorruns,jobs"))
        conditions = '{range .status.conditions[*]}  {.type}={.status} ({.reason}): {.message}{"\\n"}{end}'
        for name in names:
            print(f"$ kubectl get mm {name} -o jsonpath=<conditions>")
            print(_kubectl(assets.kubectl, kubeconfig, "get", "mm", name, "-o", f"jsonpath={conditions}"))
        for name in (names[1], kserve):  # the same rows, from the file and from what the collector wrote
            print(f"$ kubectl get mm {name} -o jsonpath=<the last verdict>")
            print(describe(lambda *a: _kubectl(assets.kubectl, kubeconfig, *a), name))
        retrained = "{.status.retraining.last.kind} {.status.retraining.last.name}: {.status.retraining.last.outcome}"
        print(f"$ kubectl get mm {names[1]} -o jsonpath=<the last retraining>")
        print(_kubectl(assets.kubectl, kubeconfig, "get", "mm", names[1], "-o", f"jsonpath={retrained}"))
        print("$ kubectl get jobs -l modelmonitor.io/retraining=true")
        print(_kubectl(assets.kubectl, kubeconfig, "get", "jobs", "-l", "modelmonitor.io/retraining=true"))
        for model in sorted(models.glob("*.json")):
            written = json.loads(model.read_text())
            print(
                f"the retraining Job wrote {model.name}: version {written['version']}, held-out accuracy "
                f"{written['heldOutAccuracy']} on the window that triggered it ({written['trigger']['reason']})\n"
            )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            exported = [
                line
                for line in response.read().decode().splitlines()
                if line.startswith(("modelmonitor_metric_value", "modelmonitor_dataset_drift"))
            ]
        print(f"$ curl http://127.0.0.1:{port}/metrics | grep ...")
        print("\n".join(exported))
        print("== closing the loop: deploying version 8 through a ModelRollout, by MLflow alias", flush=True)
        print("   starting mlflow server (SQLite; its virtualenv is built the first time)", flush=True)
        mlflow.start()
        print(f"   MLflow UI and API: {mlflow.uri}", flush=True)
        _install_gateway_api(assets.kubectl, kubeconfig)
        from kubernetes import config

        loop = Loop(
            config.new_client_from_config(str(kubeconfig)),
            lambda *a: _kubectl(assets.kubectl, kubeconfig, *a),
            directory,
            mlflow,
        )
        loop_closed = loop.run(directory / "data" / "reference.parquet")
        healthy_state = _kubectl(
            assets.kubectl,
            kubeconfig,
            "get",
            "mm",
            "-o",
            'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Healthy")].status} {end}',
        )
        print(f"\nresult: {healthy_state.strip()}")
        report = _write_report(port, names[1], directory / "reports")
        print(f"report of {names[1]}'s last run: {report.resolve()}")
        until = "until Ctrl-C" if args.keep else "while the demo runs; --keep leaves it up"
        print(f"web view: http://127.0.0.1:{port}/ (up {until})")
        if args.keep:
            print(f"\nexport KUBECONFIG={kubeconfig}   # Ctrl-C stops the demo", flush=True)
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        health = dict(item.split("=", 1) for item in healthy_state.split())
        expected = {names[0]: "True", names[1]: "False", kserve: "False", "credit-risk-live": "True"}
        return 0 if health == expected and loop_closed else 1
    finally:
        if operator:
            operator.stop()
        if runner:
            runner.stop()
        payload.stop()
        mlflow.stop()
        plane.stop()


if __name__ == "__main__":
    sys.exit(main())
