"""An Apache Kafka broker on loopback, in KRaft mode (one process as broker and controller), from Maven Central.

The jars are ``org.apache.kafka:kafka_2.13`` and its runtime dependencies, copied by Maven
(``dependency:copy-dependencies``) into the cache once, with the SLF4J binding that matches
the ``slf4j-api`` it pulls in (1.7.x): without one the broker's log is lost. Each broker
gets its own log directory, formatted with a fresh cluster id (``kafka.tools.StorageTool
format``), and Java 17 runs ``kafka.Kafka`` on it, with a plain listener and one that asks
for a user and password (SASL/PLAIN), as a production broker would. Ready when the broker answers on its port
and says it started; stopped by its process id.
"""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from modelmonitor_tools.devcluster.assets import AssetError, Progress, cache_root, stderr_progress
from modelmonitor_tools.devcluster.processes import ManagedProcess, free_port

KAFKA_VERSION = "4.1.1"
SLF4J_BINDING = "org.slf4j:slf4j-simple:1.7.36"  # the slf4j-api version kafka_2.13 4.1.1 pulls in
READY_TIMEOUT = 90.0
STARTED = "Kafka Server started"  # the broker's own line once it serves
_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.modelmonitor.devcluster</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""


def _dependency(coordinates: str) -> str:
    group, artifact, version = coordinates.split(":")
    return (
        f"    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
        f"<version>{version}</version></dependency>"
    )


def ensure_kafka(progress: Progress = stderr_progress) -> Path:
    """The folder of the broker's jars, copied from Maven Central into the cache the first time."""
    target = cache_root() / f"kafka-{KAFKA_VERSION}"
    libs, complete = target / "libs", target / ".complete"
    if complete.is_file():
        return libs
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise AssetError("Kafka's broker needs Maven (mvn) and Java 17 (java) on the PATH")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    coordinates = [f"org.apache.kafka:kafka_2.13:{KAFKA_VERSION}", SLF4J_BINDING]
    (target / "pom.xml").write_text(_POM.format(dependencies="\n".join(_dependency(c) for c in coordinates)))
    progress(f"copying Apache Kafka {KAFKA_VERSION}'s jars from Maven Central (the first time only)")
    done = subprocess.run(
        ["mvn", "-q", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={libs}", "-DincludeScope=runtime"],
        cwd=target,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise AssetError(f"mvn could not copy Kafka's jars:\n{(done.stdout + done.stderr)[-3000:]}")
    complete.write_text(KAFKA_VERSION)  # last: an interrupted copy is not taken for a cached one
    return libs


def _cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (as ``StorageTool random-uuid``).

    One in 64 begins with ``-``, so it is passed as ``--cluster-id=ID``: argparse would take a
    separate ``-xyz`` argument for an option.
    """
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


@dataclass
class KafkaBroker:
    """One KRaft broker and controller. Once started, ``bootstrap`` is its plain listener's ``host:port``, and
    ``sasl_bootstrap`` a listener that takes only the user ``sasl_user`` with ``sasl_password`` (SASL/PLAIN over
    plaintext), as a broker that asks its clients for credentials."""

    workdir: Path
    bootstrap: str = ""
    sasl_bootstrap: str = ""
    sasl_user: str = "modelmonitor-reader"
    sasl_password: str = field(default_factory=lambda: uuid.uuid4().hex, repr=False)
    _process: ManagedProcess | None = field(default=None, repr=False)

    def start(self, progress: Progress = stderr_progress) -> KafkaBroker:
        libs = ensure_kafka(progress)
        self.workdir.mkdir(parents=True, exist_ok=True)
        port, sasl, controller = free_port(), free_port(), free_port()
        properties = self.workdir / "server.properties"
        login = "org.apache.kafka.common.security.plain.PlainLoginModule required"
        properties.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{controller}",
                    f"listeners=PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl},"
                    f"CONTROLLER://127.0.0.1:{controller}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl}",
                    "inter.broker.listener.name=PLAINTEXT",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,"
                    "CONTROLLER:PLAINTEXT",
                    "sasl.enabled.mechanisms=PLAIN",
                    f'listener.name.sasl_plaintext.plain.sasl.jaas.config={login} user_{self.sasl_user}="'
                    f'{self.sasl_password}";',
                    f"log.dirs={self.workdir / 'logs'}",
                    "num.partitions=1",
                    "offsets.topic.replication.factor=1",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "",
                ]
            )
        )
        classpath = f"{libs}/*"
        cluster_id = f"--cluster-id={_cluster_id()}"
        formatted = subprocess.run(
            ["java", "-cp", classpath, "kafka.tools.StorageTool", "format", cluster_id, "-c", str(properties)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if formatted.returncode != 0:
            raise AssetError(f"Kafka's StorageTool could not format {self.workdir}:\n{formatted.stderr[-3000:]}")
        self._process = ManagedProcess(
            "kafka",
            ["java", "-Xmx512m", "-cp", classpath, "kafka.Kafka", str(properties)],
            self.workdir / "kafka.log",
        )
        self._process.start()
        self.bootstrap, self.sasl_bootstrap = f"127.0.0.1:{port}", f"127.0.0.1:{sasl}"
        try:
            self._wait_ready(port)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, port: int) -> None:
        assert self._process is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if not self._process.running():
                raise AssetError(f"the Kafka broker exited at start:\n{self._process.tail()}")
            if STARTED in self._process.tail(400) and _answers(port):
                return
            time.sleep(0.5)
        raise AssetError(f"the Kafka broker did not start within {READY_TIMEOUT:.0f} s:\n{self._process.tail()}")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def tail(self) -> str:
        return self._process.tail() if self._process else ""

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop(timeout=30.0)  # a controlled shutdown may take a while


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
