"""An S3-compatible object store on loopback: SeaweedFS (Apache-2.0), built from its Go module and cached.

``weed server -s3`` runs a master, a volume server, a filer and the S3 gateway in one process.
Its S3 identities come from a JSON file: one access key with every action, so a wrong key is
refused (``AccessDenied``) as a real store refuses it. SeaweedFS's go.mod has replace
directives, which ``go install`` refuses, so the build runs inside a writable copy of the
module; it took 6.5 minutes on 2 cores here, and is cached like the control plane.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.fs as pafs

from modelmonitor_tools.devcluster.assets import (
    AssetError,
    Progress,
    cache_root,
    module_info,
    run_go,
    stderr_progress,
)
from modelmonitor_tools.devcluster.processes import ManagedProcess, free_port

SEAWEEDFS_MODULE = "github.com/seaweedfs/seaweedfs"
SEAWEEDFS_VERSION = "v0.0.0-20261109003541-7506e5f91cd6"
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0  # it may take more than 15 s to stop on SIGTERM
PROBE_BUCKET = "modelmonitor-ready-probe"


def ensure_seaweedfs(progress: Progress = stderr_progress) -> Path:
    """The ``weed`` binary: ``TEST_ASSET_WEED`` if set, else built once into the cache."""
    if configured := os.environ.get("TEST_ASSET_WEED"):
        return Path(configured)
    target = cache_root() / f"seaweedfs-{SEAWEEDFS_VERSION}" / "weed"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    workdir = cache_root() / "build" / f"seaweedfs-{SEAWEEDFS_VERSION}"
    source = Path(module_info(SEAWEEDFS_MODULE, SEAWEEDFS_VERSION, workdir / "download", progress)["Dir"])
    copy = workdir / "src"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy)  # the module cache is read-only, and the build writes beside go.mod
    for path in [copy, *copy.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    progress(f"building SeaweedFS {SEAWEEDFS_VERSION}; this takes about 7 minutes on 2 cores the first time")
    partial = target.with_name("weed.partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    run_go(["build", "-trimpath", "-ldflags", "-s -w", "-o", str(partial), "./weed"], copy, progress)
    partial.rename(target)  # whole or absent: an interrupted build is not taken for a cached one
    shutil.rmtree(copy, ignore_errors=True)
    return target


@dataclass
class ObjectStore:
    """A running SeaweedFS with its S3 gateway on 127.0.0.1, an admin identity and any others, stopped by its pid."""

    workdir: Path
    access_key: str = "modelmonitor"
    secret_key: str = "modelmonitor-secret"
    # more identities, as SeaweedFS's s3.config writes them: name, credentials, actions ("Read:bucket"...)
    identities: list[dict[str, object]] = field(default_factory=list)
    endpoint: str = ""
    _process: ManagedProcess | None = field(default=None, repr=False)

    def start(self, progress: Progress = stderr_progress) -> ObjectStore:
        weed = ensure_seaweedfs(progress)
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "s3.json"
        key = {"accessKey": self.access_key, "secretKey": self.secret_key}
        identity = {"name": "modelmonitor", "credentials": [key], "actions": ["Admin", "Read", "Write", "List"]}
        config.write_text(json.dumps({"identities": [identity, *self.identities]}))
        s3_port = free_port()
        # every port given: the gRPC ones default to port + 10000, and the Iceberg and Lance servers to fixed ones
        ports = {
            f"-{server}.port{kind}": free_port() for server in ("master", "volume", "filer") for kind in ("", ".grpc")
        }
        self._process = ManagedProcess(
            "seaweedfs",
            [
                str(weed),
                "server",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-dir={data}",
                *(f"{flag}={port}" for flag, port in ports.items()),
                # small volumes, many of them: each bucket is a collection with volumes of its own
                "-master.volumeSizeLimitMB=256",
                "-volume.max=200",
                "-master.telemetry=false",
                "-s3",
                f"-s3.port={s3_port}",
                f"-s3.port.grpc={free_port()}",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                f"-s3.config={config}",
            ],
            self.workdir / "seaweedfs.log",
        )
        self._process.start()
        self.endpoint = f"http://127.0.0.1:{s3_port}"
        try:
            self._wait_ready()
        except BaseException:
            self.stop()  # not left running by a start that failed
            raise
        return self

    def _wait_ready(self) -> None:
        """Until an object can be written: the gateway answers before the volume server has registered."""
        assert self._process is not None
        deadline = time.monotonic() + READY_TIMEOUT
        failure = ""
        while time.monotonic() < deadline:
            if not self._process.running():
                raise AssetError(f"SeaweedFS exited at start:\n{self._process.tail()}")
            try:
                self.put(f"{PROBE_BUCKET}/ready", b"ready")
            except OSError as error:
                failure = str(error)
                time.sleep(0.5)
            else:
                self.filesystem().delete_dir(PROBE_BUCKET)
                return
        raise AssetError(f"SeaweedFS took no write within {READY_TIMEOUT:.0f} s ({failure}):\n{self._process.tail()}")

    def running(self) -> bool:
        return self._process is not None and self._process.running()

    def tail(self) -> str:
        return self._process.tail() if self._process else ""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def environment(self) -> dict[str, str]:
        """The standard AWS variables that reach this store."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_REGION": "us-east-1",
        }

    def filesystem(self) -> pafs.S3FileSystem:
        """Arrow's S3 client on this store, as its first identity."""
        host = self.endpoint.removeprefix("http://")
        return pafs.S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            endpoint_override=host,
            scheme="http",
            region="us-east-1",
            allow_bucket_creation=True,
            allow_bucket_deletion=True,
        )

    def create_bucket(self, name: str) -> None:
        self.filesystem().create_dir(name)

    def put(self, path: str, body: bytes) -> None:
        """Write an object (``bucket/key``), creating its bucket if need be."""
        filesystem = self.filesystem()
        bucket = path.split("/", 1)[0]
        if filesystem.get_file_info(bucket).type == pafs.FileType.NotFound:
            filesystem.create_dir(bucket)
        with filesystem.open_output_stream(path) as stream:
            stream.write(body)

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop(timeout=STOP_TIMEOUT)
