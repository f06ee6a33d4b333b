"""The collector as a process on loopback: what it acknowledges reaches the sink once, through kill -9 and retries."""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from modelmonitor.api.parsing import parse_spec
from modelmonitor.checks import run_checks
from modelmonitor_tools.kserve_traffic import CollectorProcess as Collector
from modelmonitor_tools.kserve_traffic import headers, post, post_feedback
from tests.collector.kserve_events import pair
from tests.helpers import eventually


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    running = Collector(str(tmp_path / "sink"), tmp_path / "wal", tmp_path / "collector.log")
    yield running
    if running.process is not None and running.process.poll() is None:
        running.stop()


def rows(sink: str | Path) -> list[dict]:
    return ds.dataset(str(sink), partitioning="hive").to_table().to_pylist()


def test_pairs_retries_and_malformed_events(collector: Collector) -> None:
    """Every pair a row; a retried event written once; a malformed one a 400 with its reason, counted."""
    collector.start()
    sent = []
    for number in range(40):
        for found, body in pair(f"p{number}", {"age": number, "city": "x"}, [0.3, 0.7]):
            assert post(collector.port, found, body) == 200
            if number % 10 == 0:  # a sender that did not hear the answer sends again
                assert post(collector.port, found, body) == 200
        sent.append(f"p{number}")
    assert post(collector.port, headers("bad", "request"), b'{"instances": 3}') == 400
    assert [collector.get(path)[0] for path in ("/", "/nowhere", "/healthz")] == [405, 404, 200]
    metrics = collector.get("/metrics")[1]
    for line in (
        'modelmonitor_collector_events_received_total{kind="request"} 40.0',
        "modelmonitor_collector_events_duplicate_total 8.0",
        'modelmonitor_collector_events_rejected_total{reason="payload"} 1.0',
        "modelmonitor_collector_pairs_total 40.0",
    ):
        assert line in metrics, line
    assert collector.stop() == 0
    written = rows(collector.sink)
    assert sorted(r["request_id"] for r in written) == sorted(sent)
    assert {r["prediction"] for r in written} == {1} and {r["score"] for r in written} == {0.7}
    collector.start()  # the counts start again; the log replayed knows the pairs, and rewrites none
    collector.stop()
    assert len(rows(collector.sink)) == 40


def test_an_unpaired_request_is_kept_after_the_timeout_and_counted(collector: Collector) -> None:
    collector.extra = ("--pair-timeout", "1")
    collector.start()
    request, _ = pair("alone", {"age": 3}, [0.5, 0.5])
    assert post(collector.port, *request) == 200
    eventually(
        lambda: 'modelmonitor_collector_unpaired_total{kind="request"} 1.0' in collector.get("/metrics")[1],
        timeout=15,
        what="the unpaired count",
    )
    assert collector.stop() == 0
    [row] = rows(collector.sink)
    assert row["request_id"] == "alone" and row["age"] == 3 and row["prediction"] is None


class Sender:
    """Several threads sending pairs; an event unanswered (the collector killed) is sent again until acknowledged."""

    def __init__(self, port: int, pairs: int, threads: int = 4, *, retry: bool = True) -> None:
        self.port, self.pairs, self.threads, self.retry = port, pairs, threads, retry
        self.acknowledged: set[str] = set()
        self.retries = 0
        self._lock = threading.Lock()

    def run(self) -> None:
        workers = [threading.Thread(target=self._send, args=(offset,)) for offset in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def _send(self, offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        for number in range(offset, self.pairs, self.threads):
            for found, body in pair(f"k{number}", {"x": number}, [0.4, 0.6]):
                while True:
                    try:
                        if post(self.port, found, body, connection) == 200:
                            break
                    except (OSError, http.client.HTTPException):
                        if not self.retry:
                            return
                        connection.close()
                        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                        with self._lock:
                            self.retries += 1
                        time.sleep(0.05)
            with self._lock:
                self.acknowledged.add(f"k{number}")
        connection.close()


def test_kill_9_at_any_moment_loses_no_acknowledged_event_and_writes_none_twice(collector: Collector) -> None:
    collector.start()
    sender = Sender(collector.port, pairs=3000)
    sending = threading.Thread(target=sender.run)
    sending.start()
    chance = random.Random(11)
    for _ in range(3):
        time.sleep(chance.uniform(0.5, 1.5))
        collector.kill()
        time.sleep(0.2)
        collector.start()
    sending.join(timeout=300)
    assert not sending.is_alive() and sender.retries > 0
    assert collector.stop() == 0
    written = [r["request_id"] for r in rows(collector.sink)]
    assert len(written) == len(set(written)) == 3000
    assert set(written) == sender.acknowledged


def test_sigterm_in_the_middle_of_the_traffic_writes_every_acknowledged_pair(collector: Collector) -> None:
    """Flushes every 50 rows, so that the stop comes in the middle of one: it is finished, then the rest."""
    collector.extra = ("--flush-rows", "50")
    collector.start()
    sender = Sender(collector.port, pairs=100_000, retry=False)
    sending = threading.Thread(target=sender.run)
    sending.start()
    time.sleep(1.5)
    assert collector.stop() == 0
    sending.join(timeout=60)
    written = [r["request_id"] for r in rows(collector.sink)]
    assert len(written) == len(set(written)) and len(sender.acknowledged) > 500
    assert set(written) >= sender.acknowledged


def test_a_monitor_on_the_kserve_source_judges_what_the_collector_wrote(collector: Collector, tmp_path: Path) -> None:
    collector.start()
    now = datetime.now(UTC).replace(microsecond=0)
    chance = random.Random(5)
    for number in range(400):
        moment = (now - timedelta(minutes=chance.uniform(1, 600))).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        income = chance.gauss(50, 10)
        for found, body in pair(
            f"m{number}", {"income": income, "age": chance.randint(20, 70)}, [0.2, 0.8], time=moment
        ):
            assert post(collector.port, found, body) == 200
    assert collector.stop() == 0
    reference = tmp_path / "reference.parquet"
    ds.write_dataset(ds.dataset(collector.sink, partitioning="hive").to_table(), tmp_path / "ref", format="parquet")
    [part] = (tmp_path / "ref").glob("*.parquet")
    part.rename(reference)
    spec = {
        "model": {"name": "credit-risk", "task": "binaryClassification"},
        "schedule": {"interval": "1h"},
        "data": {
            "current": {"kserve": {"inferenceService": "credit-risk", "logs": collector.sink}, "window": "24h"},
            "reference": {"uri": str(reference)},
            "columns": {"prediction": "prediction", "score": "score"},
            "minSamples": 50,
        },
        "drift": {"method": "auto"},
    }
    results = run_checks(parse_spec(spec, namespace="ml"), now=datetime.now(UTC))
    assert results.window.rows == 400 and not results.errors
    assert results.drift is not None and {f.feature for f in results.drift.features} == {"income", "age"}
    assert json.dumps(results.to_document())


def test_labels_are_taken_durably_once_each_beside_the_predictions(collector: Collector, tmp_path: Path) -> None:
    """By POST /v1/feedback (one, a batch, the service as query parameters) and as a CloudEvent; a label sent
    again is written once, a corrected one again; labels survive a kill -9 and land in the feedback sink."""
    collector.sink = str(tmp_path / "logs" / "kserve")
    collector.start()
    one = {"id": "loan-1", "label": 1, "inferenceService": "credit-risk", "namespace": "ml"}
    assert post_feedback(collector.port, one) == (200, "")
    assert post_feedback(collector.port, one) == (200, "")  # a retry
    batch = [{"id": f"loan-{n}", "label": n % 2} for n in range(2, 50)]
    assert post_feedback(collector.port, batch, "?inferenceService=credit-risk&namespace=ml")[0] == 200
    corrected = {**one, "label": 0, "time": "2026-12-07T09:00:00Z"}
    assert post_feedback(collector.port, corrected)[0] == 200
    status, reason = post_feedback(collector.port, {"id": "x", "label": 1})
    assert status == 400 and "needs inferenceService" in reason
    event = {
        "specversion": "1.0",
        "id": "fb-1",
        "type": "io.modelmonitor.feedback",
        "source": "crm",
        "inferenceservicename": "credit-risk",
        "namespace": "ml",
        "data": {"id": "loan-50", "label": 1},
    }
    assert post(collector.port, {"Content-Type": "application/cloudevents+json"}, json.dumps(event).encode()) == 200
    collector.kill()  # acknowledged: durable, whatever happens next
    collector.start()
    assert collector.stop() == 0
    labels = rows(tmp_path / "logs" / "feedback" / "ml" / "credit-risk")
    assert sorted((r["request_id"], r["label"]) for r in labels) == sorted(
        [("loan-1", 1), ("loan-1", 0), *((f"loan-{n}", n % 2) for n in range(2, 50)), ("loan-50", 1)]
    )
    assert not (tmp_path / "logs" / "kserve").exists()  # no prediction was sent: the predictions' sink is untouched
