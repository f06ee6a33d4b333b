"""The payload-log collector under load: sustained pairs a second, acknowledgement latency, CPU, RSS, and a kill -9.

    python benchmarks/collector_load.py [--pairs 100000] [--senders 64] [--rounds 3]

The load comes from ``benchmarks/loadgen`` (Go, built once into ~/.cache/modelmonitor): many
concurrent senders, each on its own keep-alive connection, POSTing KServe-shaped CloudEvents (a
request and a response per inference, binary mode, as KServe's agent sends them) to one
collector on loopback. Go leaves the CPU to the collector: a Python sender would take half of it.

Each round starts a fresh collector (a local sink and write-ahead log in a temporary folder).
The last round kills it with SIGKILL in the middle of the traffic and starts it again at once;
the senders resend what went unanswered. After SIGTERM, the sink's rows are counted: every
inference once, none twice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds

from modelmonitor_tools.devcluster.assets import cache_root, run_go, stderr_progress
from modelmonitor_tools.devcluster.processes import free_port, stop_pid

LOADGEN = Path(__file__).resolve().parent / "loadgen"
TICKS = os.sysconf("SC_CLK_TCK")


def loadgen() -> Path:
    """The load generator, built once per version of its source."""
    digest = hashlib.sha256((LOADGEN / "main.go").read_bytes() + (LOADGEN / "go.mod").read_bytes()).hexdigest()[:12]
    binary = cache_root() / f"loadgen-{digest}" / "loadgen"
    if not binary.exists():
        binary.parent.mkdir(parents=True, exist_ok=True)
        run_go(["build", "-o", str(binary), "."], LOADGEN, stderr_progress)
    return binary


class Collector:
    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir, self.port = workdir, port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [sys.executable, "-m", "modelmonitor", "collector", "--listen", f"127.0.0.1:{self.port}"]
        argv += ["--sink", str(self.workdir / "sink"), "--wal", str(self.workdir / "wal")]
        with (self.workdir / "collector.log").open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the collector did not start:\n{(self.workdir / 'collector.log').read_text()[-2000:]}")

    def cpu_seconds(self) -> float:
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime and stime, after the name

    def peak_rss_mb(self) -> float:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        assert self.process is not None
        stop_pid(self.process.pid, timeout=60)
        self.process.wait()


def send(binary: Path, port: int, pairs: int, senders: int) -> dict[str, float]:
    result = subprocess.run(
        [str(binary), "-url", f"http://127.0.0.1:{port}/", "-pairs", str(pairs), "-senders", str(senders)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def steady_round(binary: Path, pairs: int, senders: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        collector = Collector(Path(folder), free_port())
        collector.start()
        before = collector.cpu_seconds()
        load = send(binary, collector.port, pairs, senders)
        cpu = collector.cpu_seconds() - before
        rss = collector.peak_rss_mb()
        collector.stop()
        rows = ds.dataset(str(Path(folder) / "sink"), partitioning="hive").count_rows()
    return {**load, "cpu_seconds": cpu, "cores": cpu / load["seconds"], "peak_rss_mb": rss, "rows": rows}


def killed_round(binary: Path, pairs: int, senders: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        collector = Collector(Path(folder), free_port())
        collector.start()
        result: dict[str, dict[str, float]] = {}
        sending = threading.Thread(target=lambda: result.update(load=send(binary, collector.port, pairs, senders)))
        sending.start()
        time.sleep(2.0)
        collector.kill()
        collector.start()  # at once: the senders resend what went unanswered
        sending.join()
        collector.stop()
        table = ds.dataset(str(Path(folder) / "sink"), partitioning="hive").to_table(columns=["request_id"])
        unique = len(pc.unique(table["request_id"]))
    return {**result["load"], "rows": table.num_rows, "unique": unique, "missing": pairs - unique}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--senders", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    binary = loadgen()
    print(f"{args.pairs:,} pairs (two events each) from {args.senders} senders, {os.cpu_count()} cores\n")
    print(
        f"{'round':>5}  {'pairs/s':>8}  {'p50 ms':>7}  {'p99 ms':>7}  {'max ms':>7}  {'cores':>5}  {'RSS MB':>6}  rows"
    )
    rounds = []
    for number in range(1, args.rounds + 1):
        found = steady_round(binary, args.pairs, args.senders)
        rounds.append(found)
        print(
            f"{number:>5}  {found['pairs_per_second']:>8,.0f}  {found['p50_ms']:>7.1f}  {found['p99_ms']:>7.1f}  "
            f"{found['max_ms']:>7.1f}  {found['cores']:>5.2f}  {found['peak_rss_mb']:>6.0f}  {found['rows']:,}"
        )
    middle = {key: statistics.median(r[key] for r in rounds) for key in ("pairs_per_second", "p99_ms")}
    print(f"median  {middle['pairs_per_second']:>8,.0f}  {'':>7}  {middle['p99_ms']:>7.1f}")
    killed = killed_round(binary, args.pairs, args.senders)
    print(
        f"\nkill -9 after 2 s, started again at once: {killed['retries']:,.0f} events resent; "
        f"{killed['rows']:,} rows written, {killed['unique']:,} distinct, {killed['missing']:,} missing, "
        f"{killed['rows'] - killed['unique']:,} twice"
    )


if __name__ == "__main__":
    main()
