"""``modelmonitor dev-cluster up|down|env``: the dev cluster for people."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from modelmonitor_tools.devcluster.assets import AssetError, cache_root
from modelmonitor_tools.devcluster.processes import is_alive, stop_pid

READY_TIMEOUT = 1800.0  # the first `up` may build the binaries
BUCKET = "modelmonitor"


def _home(args: argparse.Namespace) -> Path:
    return Path(args.state_dir) if args.state_dir else cache_root() / "devcluster"


def _state_file(args: argparse.Namespace) -> Path:
    return _home(args) / "state.json"


def read_state(args: argparse.Namespace) -> dict | None:
    path = _state_file(args)
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    return state if is_alive(state["supervisor"]) else None


def _up(args: argparse.Namespace) -> int:
    if state := read_state(args):
        print(
            f"error: a dev cluster is already running (pid {state['supervisor']}); "
            "run 'modelmonitor dev-cluster down' first",
            file=sys.stderr,
        )
        return 2
    if args.detach:
        return _detach(args)
    return _run_foreground(args)


def _detach(args: argparse.Namespace) -> int:
    home = _home(args)
    home.mkdir(parents=True, exist_ok=True)
    _state_file(args).unlink(missing_ok=True)
    argv = [sys.executable, "-m", "modelmonitor", "dev-cluster", "up", "--state-dir", str(home)]
    argv += ["--kubeconfig", args.kubeconfig] if args.kubeconfig else []
    argv += ["--with-controllers"] if args.with_controllers else []
    argv += ["--with-object-store"] if args.with_object_store else []
    log = home / "supervisor.log"
    with log.open("wb") as output:
        child = subprocess.Popen(
            argv, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if child.poll() is not None:
            print(f"error: the dev cluster did not start:\n{log.read_text()[-3000:]}", file=sys.stderr)
            return 2
        if (state := read_state(args)) and state.get("ready"):
            print(f"dev cluster running (supervisor pid {child.pid}); logs in {state['workdir']}/logs")
            _print_environment(state)
            return 0
        time.sleep(0.5)
    stop_pid(child.pid)
    print("error: the dev cluster was not ready in time", file=sys.stderr)
    return 2


def _run_foreground(args: argparse.Namespace) -> int:
    from modelmonitor_tools.devcluster.cluster import ControlPlane, ControlPlaneError
    from modelmonitor_tools.devcluster.object_store import ObjectStore
    from modelmonitor_tools.devcluster.podrunner import PodRunner

    home = _home(args)
    workdir = home / "run"
    shutil.rmtree(workdir, ignore_errors=True)
    kubeconfig = Path(args.kubeconfig).resolve() if args.kubeconfig else home / "kubeconfig"
    plane = ControlPlane(workdir=workdir, with_controllers=args.with_controllers, kubeconfig=kubeconfig)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    runner = store = None
    try:
        plane.start()
        if args.with_controllers:
            assert plane.ca is not None
            runner = PodRunner(kubeconfig, plane.ca.certificate, workdir)
            runner.start()
        pids = plane.pids()
        environment = {"KUBECONFIG": str(kubeconfig)}
        if args.with_object_store:
            store = ObjectStore(workdir / "object-store").start()
            store.create_bucket(BUCKET)
            pids["seaweedfs"] = store.pid
            environment.update(store.environment())
        state = {
            "supervisor": os.getpid(),
            "pids": pids,
            "kubeconfig": str(kubeconfig),
            "environment": environment,
            "server": plane.server,
            "workdir": str(workdir),
            "ready": True,
        }
        _state_file(args).write_text(json.dumps(state, indent=2))
        print(f"dev cluster ready at {plane.server}; Ctrl-C stops it", flush=True)
        if store is not None:
            print(f"object store (S3) at {store.endpoint}, bucket {BUCKET}", flush=True)
        _print_environment(state)
        while not stopping.wait(1.0):
            if dead := [p.name for p in plane.processes if not p.running()]:
                print(f"error: {', '.join(dead)} exited:\n{plane.logs()}", file=sys.stderr)
                return 1
            if store is not None and not store.running():
                print(f"error: the object store exited:\n{store.tail()}", file=sys.stderr)
                return 1
        return 0
    except (AssetError, ControlPlaneError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        if store:
            store.stop()
        if runner:
            runner.stop()
        plane.stop()
        _state_file(args).unlink(missing_ok=True)


def _down(args: argparse.Namespace) -> int:
    path = _state_file(args)
    if not path.exists():
        print("no dev cluster is running")
        return 0
    state = json.loads(path.read_text())
    stop_pid(state["supervisor"], timeout=60)  # it stops the object store, which may take 30 s
    for name, pid in state["pids"].items():  # should the supervisor have died without stopping them
        if is_alive(pid):
            stop_pid(pid)
            print(f"stopped {name} (pid {pid})")
    path.unlink(missing_ok=True)
    print("dev cluster stopped")
    return 0


def _env(args: argparse.Namespace) -> int:
    state = read_state(args)
    if not state:
        print(
            "error: no dev cluster is running; start one with 'modelmonitor dev-cluster up --detach'", file=sys.stderr
        )
        return 2
    _print_environment(state)
    return 0


def _print_environment(state: dict[str, Any]) -> None:
    """The export lines that reach the dev cluster (and its object store, if it runs one)."""
    for name, value in state["environment"].items():
        print(f"export {name}={value}", flush=True)


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("dev-cluster", help="a local Kubernetes control plane for tests and the demo")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser("up", help="start etcd and kube-apiserver (building them on first use)")
    up.add_argument("--kubeconfig", help="where to write the kubeconfig (default: in the state folder)")
    up.add_argument(
        "--with-controllers",
        action="store_true",
        help="also run kube-controller-manager (jobs, garbage collection) and the pod runner",
    )
    up.add_argument(
        "--with-object-store",
        action="store_true",
        help=f"also run an S3-compatible object store (SeaweedFS) with a bucket {BUCKET!r}",
    )
    up.add_argument("--detach", action="store_true", help="run in the background and return once ready")
    up.set_defaults(handler=_up)
    down = actions.add_parser("down", help="stop the dev cluster by the process ids it recorded")
    down.set_defaults(handler=_down)
    env = actions.add_parser("env", help="print the export lines for KUBECONFIG (and the object store's AWS variables)")
    env.set_defaults(handler=_env)
    for action in (up, down, env):
        action.add_argument("--state-dir", help="the dev cluster's folder (default: ~/.cache/modelmonitor/devcluster)")
