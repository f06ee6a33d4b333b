"""``modelmonitor operator`` and ``modelmonitor run``: the operator, and the run Job's entry point."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import socket
import sys

from modelmonitor.controller.config import CONFIG
from modelmonitor.controller.peering import (
    DEFAULT_PEERING,
    PeeringChoice,
    PeeringLookupError,
    choose_peering,
    kubernetes_lookup,
)


def run_operator(args: argparse.Namespace) -> int:
    import kopf

    if not args.all_namespaces and not args.namespace:
        print(
            "error: name the namespaces to watch (--namespace NS, repeatable) or use --all-namespaces", file=sys.stderr
        )
        return 2
    CONFIG.port = args.port
    CONFIG.runner_image = args.runner_image or CONFIG.runner_image
    CONFIG.runner_command = shlex.split(args.runner_command) if args.runner_command else CONFIG.runner_command
    CONFIG.inline_max_bytes = args.inline_max_bytes
    CONFIG.check_processes = args.check_processes
    if args.sharded and args.peering:
        print("error: --sharded replicas are all active: they take no --peering", file=sys.stderr)
        return 2
    CONFIG.sharded = args.sharded
    CONFIG.shard_identity = args.shard_identity or os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"
    CONFIG.shard_namespace = args.shard_namespace or os.environ.get("POD_NAMESPACE") or "default"
    CONFIG.dask_scheduler = args.dask_scheduler or CONFIG.dask_scheduler
    from modelmonitor.controller import handlers  # noqa: F401 - registers the handlers with kopf

    kopf.configure(verbose=args.verbose, log_format=kopf.LogFormat.PLAIN)
    peering = PeeringChoice(None) if args.sharded else _choose_peering(args)
    if peering.error:
        print(f"error: {peering.error}", file=sys.stderr)
        return 2
    if peering.warning:
        logging.getLogger("modelmonitor").warning(peering.warning)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # every watch event of a monitor updates the scheduler: its success says nothing
    logging.getLogger("kopf.objects").addFilter(
        lambda record: "Handler 'track_monitor' succeeded" not in record.getMessage()
    )
    # the client's debug log prints whole response bodies, Secrets' data among them
    for noisy in ("kubernetes", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    asyncio.run(
        kopf.operator(
            clusterwide=args.all_namespaces,
            namespaces=args.namespace or [],
            standalone=peering.name is None,
            peering_name=peering.name,  # with a name, kopf makes peering mandatory even when standalone
            priority=args.priority,
        )
    )
    return 0


def _choose_peering(args: argparse.Namespace) -> PeeringChoice:
    from modelmonitor.controller.kube import load_config

    if args.standalone:
        return PeeringChoice(None)
    try:
        return choose_peering(
            requested=args.peering,
            clusterwide=args.all_namespaces,
            namespaces=args.namespace or [],
            lookup=kubernetes_lookup(load_config()),
        )
    except PeeringLookupError as error:
        return PeeringChoice(None, error=str(error))


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def run_job(args: argparse.Namespace) -> int:
    """Evaluate one MonitorRun and write its status: what the run Job's container does."""
    from modelmonitor.controller.runners.job_container import evaluate_and_write

    return evaluate_and_write(args.namespace, args.name)


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    operator = commands.add_parser("operator", help="run the operator (kopf) against the current kubeconfig")
    scope = operator.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", action="append", help="a namespace to watch (repeatable)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace")
    operator.add_argument("--port", type=int, default=8080, help="HTTP port for /metrics, /healthz and /readyz")
    operator.add_argument("--runner-image", help="the image of run Jobs (default: $MODELMONITOR_IMAGE)")
    operator.add_argument("--runner-command", help="the run Jobs' command before 'run ...' (default: modelmonitor)")
    operator.add_argument(
        "--dask-scheduler",
        metavar="tcp://HOST:8786",
        help="the Dask scheduler of monitors with runner dask and no spec.dask (default: $MODELMONITOR_DASK_SCHEDULER)",
    )
    operator.add_argument(
        "--inline-max-bytes",
        type=int,
        default=CONFIG.inline_max_bytes,
        help="the largest data (current + reference files) that runs inside the operator",
    )
    operator.add_argument(
        "--check-processes",
        type=_at_least_one,
        default=CONFIG.check_processes,
        help="worker processes for inline runs' checks and rollouts' comparisons (each holds the science stack)",
    )
    operator.add_argument("--standalone", action="store_true", help="no peering: do not coordinate with replicas")
    operator.add_argument(
        "--peering",
        help=f"the kopf peering object's name, which must exist (default: {DEFAULT_PEERING!r} when it exists, "
        "else standalone with a warning)",
    )
    operator.add_argument("--priority", type=int, default=0, help="this replica's peering priority")
    operator.add_argument(
        "--sharded",
        action="store_true",
        help="share the monitors out among every replica started so (by Leases; no peering): see docs/sharding.md",
    )
    operator.add_argument("--shard-identity", help="this replica's name among the shards (default: $POD_NAME)")
    operator.add_argument(
        "--shard-namespace", help="where the replicas' Leases live (default: $POD_NAMESPACE, else default)"
    )
    operator.add_argument("-v", "--verbose", action="store_true")
    operator.set_defaults(handler=run_operator)

    run = commands.add_parser("run", help="evaluate one MonitorRun and write its status (the run Job's command)")
    run.add_argument("--namespace", required=True)
    run.add_argument("--name", required=True)
    run.set_defaults(handler=run_job)
