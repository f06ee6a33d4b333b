"""A fleet of monitors on a 1-minute interval against one operator: are the runs on time, none lost or doubled?

    python benchmarks/fleet.py N MINUTES [--namespaces K] [--aligned] [--check-processes P]
                                         [--profile FILE] [--memory-profile FILE] [--keep-log FILE]

Starts a dev cluster (etcd and kube-apiserver as local processes), installs the CRDs, writes
small sample data (300 current and 600 reference rows: inline runs), starts the operator
as a process of its own (verbose off, with the environment operator/Dockerfile sets, unless
``--no-image-env``), and creates N monitors with ``schedule: {interval: 1m, spread: true}``
in K namespaces (``--aligned``: without ``spread``, so every slot falls on the minute and
all N runs start at once). After two minutes of warm-up (creating the fleet asks for N
first runs at once) it watches MINUTES minutes, then reads the operator's peak RSS and CPU
time from /proc and every MonitorRun, and prints, for the schedule slots due in the
measured minutes:

* runs due, created, started and finished, and runs lost (a slot at least two minutes
  old without a run) or duplicated (two runs of one monitor for one slot);
* lateness: a run's ``startedAt`` minus its slot time, p50 / p99 / max, where a slot
  without a started run counts as late until the end of the measurement (so a backlog
  cannot hide);
* the operator's peak RSS and its CPU as a share of one core over the measured minutes (and
  its peak RSS before them, while the fleet was created and its first runs made), and
  the same for each of its check processes, with the peak RSS of the fork server they come
  from and of multiprocessing's resource tracker; and the memory of all of them together at
  the end (the sum of their PSS, which counts the pages they share, such as libraries and
  what the fork server loaded before forking, once: what the pod's memory limit must hold);
* lateness p99 for each measured minute, so a backlog that grows shows as one.

``--profile FILE`` runs the operator under cProfile and writes its statistics to FILE
(``python -m pstats FILE``, or snakeviz) when it stops; ``--memory-profile FILE`` under
tracemalloc, with a snapshot written to FILE when it stops (``traced_operator.py --top FILE``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GROUP, VERSION = "modelmonitor.io", "v1alpha1"
WARM_UP = timedelta(minutes=2)  # creating the fleet asks for 1,000 first runs at once: not the steady state
LOST_AFTER = timedelta(minutes=2)


class ProcessSampler:
    """Peak RSS (the kernel's high-water mark) and CPU seconds of one process, read from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.started_cpu = self.cpu_seconds()
        self.started = time.monotonic()

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def peak_mb(self) -> int:
        return self._kilobytes("status", "VmHWM") // 1024

    def restart_peak(self) -> int:
        """The peak RSS so far; from now on the peak counts anew (the kernel's clear_refs 5)."""
        peak = self.peak_mb()
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        return peak

    def pss_mb(self) -> int:
        """Proportional set size now: pages shared with other processes (libraries) split among them."""
        return self._kilobytes("smaps_rollup", "Pss") // 1024

    def descendants(self) -> list[ProcessSampler]:
        """The processes alive now below this one: the fork server, the check processes it forked, and
        multiprocessing's resource tracker."""
        found = []
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                try:
                    sampler = ProcessSampler(int(child))
                    found += [sampler, *sampler.descendants()]
                except FileNotFoundError:  # gone meanwhile
                    continue
        return found

    def role(self) -> str:
        command = _command(self.pid)
        if "resource_tracker" in command:
            return "resource tracker"
        forked = "multiprocessing.forkserver" in command  # the fork server's children keep its command line
        parent = int(Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        return "check process" if not forked or "multiprocessing.forkserver" in _command(parent) else "fork server"

    def core_share(self) -> float:
        return (self.cpu_seconds() - self.started_cpu) / (time.monotonic() - self.started)

    def _kilobytes(self, file: str, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/{file}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)


def _command(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")


def _monitor(name: str, samples: Path, spread: bool) -> dict:
    document = yaml.safe_load((samples / "healthy-monitor.yaml").read_text())
    document["metadata"] = {"name": name}
    document["spec"]["schedule"] = {"interval": "1m", "spread": spread}
    document["spec"]["runner"] = "inline"
    # keep every run of the measurement: pruning one would read as a lost run
    document["spec"]["successfulRunsHistoryLimit"] = document["spec"]["failedRunsHistoryLimit"] = 1000
    return document


def _percentile(values: list[float], share: float) -> float:
    return float(np.percentile(values, share)) if values else float("nan")


def slots_between(since: datetime, until: datetime, offset: timedelta) -> list[datetime]:
    """A 1-minute schedule's slots in (since, until], each ``offset`` past the minute."""
    slots, moment = [], since.replace(second=0, microsecond=0) + offset
    while moment <= until:
        if moment > since:
            slots.append(moment)
        moment += timedelta(minutes=1)
    return slots


def measure(runs: list[dict], monitors: dict[tuple[str, str], timedelta], since: datetime, until: datetime) -> dict:
    """What the runs say about the slots from ``since`` to ``until`` (the measured minutes); monitors -> slot offset."""
    by_slot: dict[tuple[str, str, str], list[dict]] = {}
    for run in runs:
        spec, meta = run["spec"], run["metadata"]
        if spec.get("trigger") == "schedule":
            by_slot.setdefault((meta["namespace"], spec["monitor"], spec["evaluateAt"]), []).append(run)
    due = created = started = finished = lost = duplicated = 0
    lateness: list[float] = []
    by_minute: dict[int, list[float]] = {}
    for (namespace, name), offset in monitors.items():
        for slot in slots_between(since, until, offset):
            found = by_slot.get((namespace, name, slot.strftime("%Y-%m-%dT%H:%M:%SZ")), [])
            due += 1
            created += bool(found)
            duplicated += max(0, len(found) - 1)
            if not found and until - slot >= LOST_AFTER:
                lost += 1
            status = (found[0].get("status") or {}) if found else {}
            if status.get("startedAt"):
                started += 1
                begun = datetime.fromisoformat(status["startedAt"].replace("Z", "+00:00"))
                lateness.append((begun - slot).total_seconds())
            else:
                lateness.append((until - slot).total_seconds())  # not started yet: late at least this long
            by_minute.setdefault(int((slot - since).total_seconds() // 60), []).append(lateness[-1])
            finished += status.get("phase") in ("Succeeded", "Failed", "Error")
    return {
        "due": due,
        "created": created,
        "started": started,
        "finished": finished,
        "lost": lost,
        "duplicated": duplicated,
        "lateness_p50_s": _percentile(lateness, 50),
        "lateness_p99_s": _percentile(lateness, 99),
        "lateness_max_s": max(lateness, default=float("nan")),
        "lateness_p99_by_minute_s": [_percentile(by_minute[minute], 99) for minute in sorted(by_minute)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("monitors", type=int)
    parser.add_argument("minutes", type=float)
    parser.add_argument("--namespaces", type=int, default=1)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--memory-profile", type=Path, help="a tracemalloc snapshot of the operator, at its end")
    parser.add_argument("--keep-log", type=Path, help="copy the operator's log there")
    parser.add_argument("--no-image-env", action="store_true", help="without the environment the image sets")
    parser.add_argument("--check-processes", type=int, default=2, help="the operator's --check-processes")
    parser.add_argument("--aligned", action="store_true", help="every monitor on the minute (no schedule.spread)")
    args = parser.parse_args()

    from kubernetes import client, config

    from modelmonitor.api.schedule import Schedule
    from modelmonitor.controller.scheduling import slot_offset
    from modelmonitor_tools.devcluster.cluster import ControlPlane
    from modelmonitor_tools.devcluster.processes import free_port, stop_pid
    from modelmonitor_tools.samples import write_samples

    with (
        tempfile.TemporaryDirectory(prefix="fleet-") as scratch,
        ControlPlane(workdir=Path(scratch) / "cluster") as plane,  # its etcd data goes with the directory
    ):
        work = Path(scratch)
        assert plane.kubeconfig is not None and plane.assets is not None
        env = {**os.environ, "KUBECONFIG": str(plane.kubeconfig)}
        plane.install_crds(ROOT / "crds")
        api = config.new_client_from_config(str(plane.kubeconfig))
        core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
        namespaces = [f"fleet-{index}" for index in range(args.namespaces)]
        for namespace in namespaces:
            core.create_namespace({"metadata": {"name": namespace}})
        write_samples(work / "samples", now=datetime.now(UTC), rows=300)

        port = free_port()
        command = [sys.executable, "-m", "modelmonitor", "operator", "--all-namespaces", "--port", str(port)]
        command += ["--standalone", "--runner-command", f"{sys.executable} -m modelmonitor"]
        command += ["--check-processes", str(args.check_processes)]
        if args.profile:
            command[1:1] = ["-m", "cProfile", "-o", str(args.profile)]
        elif args.memory_profile:
            command[1:3] = [str(HERE / "traced_operator.py"), str(args.memory_profile)]
        log = (work / "operator.log").open("wb")
        image_env = {} if args.no_image_env else _image_env()
        operator = subprocess.Popen(command, env={**env, **image_env}, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(port, operator)
            sampler = ProcessSampler(operator.pid)
            monitors = [(namespaces[index % len(namespaces)], f"m-{index:05d}") for index in range(args.monitors)]
            created_at = time.monotonic()
            for namespace, name in monitors:
                body = _monitor(name, work / "samples", not args.aligned)
                custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors", body)
            print(f"created {len(monitors)} monitors in {time.monotonic() - created_at:.0f}s", flush=True)
            since = datetime.now(UTC) + WARM_UP
            until = since + timedelta(minutes=args.minutes)
            time.sleep(max(0.0, (since - datetime.now(UTC)).total_seconds()))
            sampler, below = ProcessSampler(operator.pid), sampler.descendants()  # CPU over the measured minutes
            warm_up_peak = sampler.restart_peak()
            time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()))
            peak, share = sampler.peak_mb(), sampler.core_share()
            children, helpers = [], {}
            for child in below:
                if (role := child.role()) == "check process":
                    children.append((child.peak_mb(), child.core_share()))
                else:
                    helpers[role] = child.peak_mb()
            shares = {"operator": sampler.pss_mb()}
            for child in sampler.descendants():
                role = child.role()
                shares[role] = shares.get(role, 0) + child.pss_mb()
            runs = [run for namespace in namespaces for run in _list_all(custom, namespace)]
        finally:
            stop_pid(operator.pid, timeout=30)
            log.close()
            if args.keep_log:
                shutil.copy(work / "operator.log", args.keep_log)
        schedule = Schedule(interval="1m", spread=not args.aligned)
        offsets = {(namespace, name): slot_offset(schedule, namespace, name) for namespace, name in monitors}
        found = measure(runs, offsets, since, until)
        found.update(monitors=args.monitors, minutes=args.minutes, operator_peak_rss_mb=peak, operator_cpu_share=share)
        found.update(operator_warm_up_peak_rss_mb=warm_up_peak)
        found.update(
            check_processes_peak_rss_mb=[mb for mb, _ in children],
            check_processes_cpu_share=[c for _, c in children],
            helper_processes_peak_rss_mb=helpers,
            operator_and_check_processes_pss_mb=sum(shares.values()),
            pss_mb_by_role=shares,
        )
        print(
            f"{args.monitors} monitors, {args.minutes:g} min: {found['due']} runs due, {found['created']} created, "
            f"{found['started']} started, {found['finished']} finished; lost {found['lost']}, "
            f"duplicated {found['duplicated']}\n"
            f"lateness p50 {found['lateness_p50_s']:.1f}s, p99 {found['lateness_p99_s']:.1f}s, "
            f"max {found['lateness_max_s']:.1f}s; operator peak RSS {peak} MB, CPU {share:.0%} of one core "
            f"(peak RSS in the warm-up, creating the fleet: {warm_up_peak} MB)\n"
            f"check processes: peak RSS {', '.join(f'{mb} MB' for mb, _ in children) or '-'}, "
            f"CPU {', '.join(f'{cpu:.0%}' for _, cpu in children) or '-'} of one core; "
            + ", ".join(f"{role} {mb} MB" for role, mb in helpers.items())
            + "\n"
            + f"the operator and the processes below it together at the end: {sum(shares.values())} MB "
            + f"(PSS, which counts shared pages once: {', '.join(f'{role} {mb} MB' for role, mb in shares.items())})"
        )
        print(
            "lateness p99 by measured minute: " + ", ".join(f"{p99:.0f}s" for p99 in found["lateness_p99_by_minute_s"])
        )
        print(json.dumps(found))


def _image_env() -> dict[str, str]:
    """The environment operator/Dockerfile gives the operator, but PATH: the process runs as it would in the image."""
    text = (ROOT / "operator" / "Dockerfile").read_text().replace("\\\n", " ")
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            found.update(pair.split("=", 1) for pair in line[4:].split())
    found.pop("PATH", None)
    return found


def _list_all(custom, namespace: str) -> list[dict]:
    items, token = [], None
    while True:
        page = custom.list_namespaced_custom_object(
            GROUP, VERSION, namespace, "monitorruns", limit=500, _continue=token
        )
        items += page["items"]
        token = page["metadata"].get("continue")
        if not token:
            return items


def _wait_ready(port: int, operator: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if operator.poll() is not None:
            raise SystemExit(f"the operator exited {operator.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the operator never became ready")


if __name__ == "__main__":
    main()
