"""``modelmonitor collector``: the HTTP sink an InferenceService's logger points at.

``POST /`` takes a CloudEvent (binary or structured) and answers 200 once it is in the
write-ahead log on disk, 400 with the reason if it is malformed. ``GET /metrics`` and
``GET /healthz`` serve Prometheus and the probes. SIGTERM stops taking events, then writes
every completed row to the sink before the process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import signal
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from modelmonitor.collector import http
from modelmonitor.collector.events import MalformedEvent, from_http
from modelmonitor.collector.http import Reply, Respond
from modelmonitor.collector.service import Collector, Flush, Settings
from modelmonitor.collector.wal import WriteAheadLog

_log = logging.getLogger("modelmonitor.collector")
_ACKNOWLEDGED = Reply(200)


class GroupCommit:
    """Replies wait for their record's fsync; one fsync serves every record buffered before it."""

    def __init__(self, wal: WriteAheadLog) -> None:
        self.wal = wal
        self.wanted = asyncio.Event()
        self._waiting: list[tuple[int, int, Callable[[], None]]] = []  # a heap by record number
        self._count = itertools.count()

    def when_durable(self, seq: int, then: Callable[[], None]) -> None:
        if seq <= self.wal.durable_seq:
            then()
            return
        heapq.heappush(self._waiting, (seq, next(self._count), then))
        self.wanted.set()

    async def run(self) -> None:
        while True:
            await self.wanted.wait()
            await self.sync()

    async def sync(self) -> None:
        self.wanted.clear()
        durable = await asyncio.to_thread(self.wal.sync)
        while self._waiting and self._waiting[0][0] <= durable:
            heapq.heappop(self._waiting)[2]()
        if self._waiting:
            self.wanted.set()


class CollectorServer:
    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.commit = GroupCommit(collector.wal)
        self.flush_wanted = asyncio.Event()
        self.unwritten: Flush | None = None  # a flush the sink refused: tried again, before any other
        self.stopping = False

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes, respond: Respond
    ) -> None:
        if path == "/" and method == "POST":
            self.ingest(headers, body, respond)
        elif path == "/v1/feedback" and method == "POST":
            self.feedback(query, body, respond)
        elif path in ("/", "/v1/feedback"):
            respond(Reply(405, b"POST here\n"))
        elif path == "/healthz" and method == "GET":
            respond(Reply(200, b"ok\n"))
        elif path == "/metrics" and method == "GET":
            respond(Reply(200, generate_latest(self.collector.metrics.registry), CONTENT_TYPE_LATEST))
        else:
            respond(Reply(404, b"POST / for events, /v1/feedback for labels; GET /metrics, /healthz\n"))

    def ingest(self, headers: dict[str, str], body: bytes, respond: Respond) -> None:
        """200 once the event is durable; 400, at once, if it is malformed."""
        metrics = self.collector.metrics
        try:
            event = from_http(headers, body)
        except MalformedEvent as error:
            metrics.rejected.labels("event").inc()
            respond(Reply(400, f"{error}\n".encode()))
            return
        try:
            seq = self.collector.accept(event)
        except MalformedEvent as error:
            metrics.rejected.labels("payload").inc()
            respond(Reply(400, f"event {event.id}: {error}\n".encode()))
            return
        self.commit.when_durable(seq, lambda: respond(_ACKNOWLEDGED))
        if self.collector.due():
            self.flush_wanted.set()

    def feedback(self, query: dict[str, str], body: bytes, respond: Respond) -> None:
        """200 once the labels are durable; 400, at once, naming what is wrong."""
        defaults = {key: query[key] for key in ("inferenceService", "namespace") if query.get(key)}
        try:
            seq = self.collector.accept_feedback(body, defaults)
        except MalformedEvent as error:
            self.collector.metrics.rejected.labels("feedback").inc()
            respond(Reply(400, f"{error}\n".encode()))
            return
        self.commit.when_durable(seq, lambda: respond(_ACKNOWLEDGED))

    async def flush(self) -> None:
        """Write every completed row to the sink: first any flush the sink refused, then the rows completed since."""
        await self.commit.sync()
        while (flush := self.unwritten or self.collector.begin_flush()) is not None:
            self.unwritten = flush
            await asyncio.to_thread(self.collector.write, flush)
            self.unwritten = None
            self.collector.tidy()

    async def flush_loop(self) -> None:
        """Flush every flush_seconds, or sooner when rows are due; a last time once stopping, then return."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.flush_wanted.wait(), timeout=self.collector.settings.flush_seconds)
            self.flush_wanted.clear()
            try:
                await self.flush()
            except OSError as error:  # the sink away: the rows stay in the log and memory, tried again
                _log.error("cannot write to the sink %s: %s", self.collector.settings.sink, error)
                if self.stopping:
                    _log.error("%d rows wait in the write-ahead log for the next start", len(self.collector.rows))
            if self.stopping:
                return

    async def expire_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self.collector.expire_waiting():
                self.commit.wanted.set()


async def serve(settings: Settings, host: str, port: int, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM or SIGINT (or ``stop``), then flush what is complete and return."""
    collector = Collector(settings)
    redo = await asyncio.to_thread(collector.recover)
    if redo is not None:  # a flush a stop cut short: done again, under the same names
        await asyncio.to_thread(collector.write, redo)
        collector.tidy()
    server = CollectorServer(collector)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for stopping in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stopping, stop.set)
    listening = http.HttpServer(server.handle)
    await listening.start(host, port)
    _log.info("collector listening on %s:%d, writing to %s", host, port, settings.sink)
    flushing = asyncio.create_task(server.flush_loop())
    tasks = [asyncio.create_task(work()) for work in (server.commit.run, server.expire_loop)]
    try:
        await stop.wait()
    finally:
        await listening.stop()  # no new events; the ones in flight are answered
        server.stopping = True
        server.flush_wanted.set()
        await flushing  # the write under way, then the rest
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        collector.wal.close()
        _log.info("collector stopped with %d rows not in the sink", len(collector.rows))
