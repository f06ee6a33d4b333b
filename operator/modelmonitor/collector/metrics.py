"""The collector's Prometheus metrics, in a registry of its own (docs/collector.md lists them)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class CollectorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        prefix = "modelmonitor_collector"
        self.received = Counter(
            f"{prefix}_events_received", "Events accepted, by kind.", ["kind"], registry=self.registry
        )
        self.duplicates = Counter(
            f"{prefix}_events_duplicate",
            "Events whose id and kind came before: acknowledged, written once.",
            registry=self.registry,
        )
        self.rejected = Counter(
            f"{prefix}_events_rejected",
            "Events refused with a 400, by what was wrong.",
            ["reason"],
            registry=self.registry,
        )
        self.labels = Counter(f"{prefix}_labels", "Labels taken, written once each.", registry=self.registry)
        self.paired = Counter(f"{prefix}_pairs", "Requests paired with their response.", registry=self.registry)
        self.unpaired = Counter(
            f"{prefix}_unpaired",
            "Events kept without their other half, past the pairing timeout, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.rows = Counter(f"{prefix}_rows_written", "Rows written to the sink.", registry=self.registry)
        self.bytes = Counter(f"{prefix}_bytes_written", "Parquet bytes written to the sink.", registry=self.registry)
        self.flush_seconds = Histogram(
            f"{prefix}_flush_seconds",
            "How long a flush to the sink took.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.backlog_bytes = Gauge(
            f"{prefix}_wal_backlog_bytes", "Bytes in the write-ahead log.", registry=self.registry
        )
        self.backlog_rows = Gauge(
            f"{prefix}_wal_backlog_rows", "Rows acknowledged, not yet in the sink.", registry=self.registry
        )
        self.waiting = Gauge(f"{prefix}_waiting_events", "Events waiting for their other half.", registry=self.registry)
