"""The ``collector`` command: its flags here, its server imported only when it runs (the CLI starts light)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from modelmonitor.api import payload_log
from modelmonitor.errors import ModelMonitorError


def add_command(commands: argparse._SubParsersAction) -> None:
    collector = commands.add_parser("collector", help="receive KServe payload logs and write them to a sink")
    collector.add_argument("--listen", default="0.0.0.0:8080", metavar="HOST:PORT")
    collector.add_argument("--sink", required=True, metavar="URI", help="an s3:// or gs:// URI, or a directory")
    collector.add_argument(
        "--feedback-sink", metavar="URI", help="where labels go (default: the folder feedback beside the sink)"
    )
    collector.add_argument("--wal", required=True, metavar="DIR", help="the write-ahead log's directory (a volume)")
    collector.add_argument("--flush-rows", type=int, default=50_000, help="write to the sink at this many rows")
    collector.add_argument("--flush-seconds", type=float, default=10.0, help="or after this many seconds")
    collector.add_argument("--pair-timeout", type=float, default=60.0, help="seconds a request waits for its response")
    collector.add_argument("--dedupe-window", type=float, default=120.0, help="seconds a retried event is known for")
    collector.add_argument("--request-id-header", default="x-request-id", help="a logged header naming the request")
    collector.add_argument("--version-header", default=None, help="a logged header naming the model version")
    collector.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        from modelmonitor.collector.server import serve
    except ImportError as error:  # httptools (and uvloop) come with the collector extra
        raise ModelMonitorError(
            f"the collector needs the package {error.name}: pip install 'modelmonitor[collector]'"
        ) from None
    from modelmonitor.collector.service import Settings

    try:
        feedback_sink = args.feedback_sink or payload_log.feedback_sink(args.sink)
    except ValueError as error:
        raise ModelMonitorError(str(error)) from None
    host, _, port = args.listen.rpartition(":")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = Settings(
        wal=Path(args.wal),
        sink=args.sink,
        flush_rows=args.flush_rows,
        flush_seconds=args.flush_seconds,
        pair_timeout=args.pair_timeout,
        dedupe_window=args.dedupe_window,
        request_id_header=args.request_id_header or None,
        version_header=args.version_header,
        feedback_sink=feedback_sink,
    )
    try:
        import uvloop  # libuv's event loop: fewer microseconds per event than asyncio's own
    except ImportError:
        asyncio.run(serve(settings, host or "0.0.0.0", int(port)))
    else:
        uvloop.run(serve(settings, host or "0.0.0.0", int(port)))
    return 0
