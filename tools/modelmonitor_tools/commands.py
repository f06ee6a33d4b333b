"""``modelmonitor samples DIR``: the command line's entry to the sample data."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from modelmonitor.cli import EXIT_HEALTHY, parse_time


def _samples(args: argparse.Namespace) -> int:
    from modelmonitor_tools.samples import write_samples  # numpy and Arrow: not for every command's start

    for path in write_samples(Path(args.directory), now=args.now or datetime.now(UTC), rows=args.rows):
        print(path)
    return EXIT_HEALTHY


def add_samples_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    samples = commands.add_parser("samples", help="write reproducible sample data and monitors")
    samples.add_argument("directory")
    samples.add_argument("--now", type=parse_time, help="the end of the logged window (default: now)")
    samples.add_argument("--rows", type=int, default=5000)
    samples.set_defaults(handler=_samples)
