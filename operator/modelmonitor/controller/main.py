"""``modelmonitor operator`` and ``modelmonitor run``: the operator, and the run Job's entry point."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import sys

from modelmonitor.controller.config import CONFIG


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
    from modelmonitor.controller import handlers  # noqa: F401 - registers the handlers with kopf

    kopf.configure(verbose=args.verbose, log_format=kopf.LogFormat.PLAIN)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # the schedule timer ticks every few seconds per monitor: its success says nothing
    logging.getLogger("kopf.objects").addFilter(lambda record: "Timer 'schedule' succeeded" not in record.getMessage())
    # the client's debug log prints whole response bodies, Secrets' data among them
    for noisy in ("kubernetes", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    asyncio.run(
        kopf.operator(
            clusterwide=args.all_namespaces,
            namespaces=args.namespace or [],
            standalone=args.standalone,
            peering_name=None if args.standalone else args.peering,
            priority=args.priority,
        )
    )
    return 0


def run_job(args: argparse.Namespace) -> int:
    """Evaluate one MonitorRun and write its status: what the run Job's container does."""
    from modelmonitor.controller.execution import TERMINAL_PHASES, error_status, evaluate
    from modelmonitor.controller.kube import Kube, load_config
    from modelmonitor.errors import SpecError
    from modelmonitor.spec import parse_spec

    kube = Kube(load_config())
    run = kube.get_run(args.namespace, args.name)
    if run is None:
        print(f"error: MonitorRun {args.namespace}/{args.name} not found", file=sys.stderr)
        return 2
    if (run.get("status") or {}).get("phase") in TERMINAL_PHASES:
        print(f"MonitorRun {args.name} has finished already")
        return 0
    monitor_name = run["spec"]["monitor"]
    monitor = kube.get_monitor(args.namespace, monitor_name)
    if monitor is None:
        print(f"error: ModelMonitor {args.namespace}/{monitor_name} not found", file=sys.stderr)
        return 2
    started = (run.get("status") or {}).get("startedAt")
    try:
        spec = parse_spec(monitor["spec"])
    except SpecError as error:
        status = error_status("InvalidSpec", str(error), started_at=started)
    else:
        status = evaluate(monitor_name, spec, run["spec"], env=None)  # credentials arrive as the Pod's env
        if started:
            status["startedAt"] = started
    status.update(runner="job", job=args.name)
    kube.patch_run_status(args.namespace, args.name, status)
    print(f"{args.name}: {status['phase']} ({status.get('message', '')})")
    return 0 if status["phase"] == "Succeeded" else 2


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    operator = commands.add_parser("operator", help="run the operator (kopf) against the current kubeconfig")
    scope = operator.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", action="append", help="a namespace to watch (repeatable)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace")
    operator.add_argument("--port", type=int, default=8080, help="HTTP port for /metrics, /healthz and /readyz")
    operator.add_argument("--runner-image", help="the image of run Jobs (default: $MODELMONITOR_IMAGE)")
    operator.add_argument("--runner-command", help="the run Jobs' command before 'run ...' (default: modelmonitor)")
    operator.add_argument(
        "--inline-max-bytes",
        type=int,
        default=CONFIG.inline_max_bytes,
        help="the largest data (current + reference files) that runs inside the operator",
    )
    operator.add_argument("--standalone", action="store_true", help="no peering: do not coordinate with replicas")
    operator.add_argument("--peering", default="modelmonitor", help="the kopf peering object's name")
    operator.add_argument("--priority", type=int, default=0, help="this replica's peering priority")
    operator.add_argument("-v", "--verbose", action="store_true")
    operator.set_defaults(handler=run_operator)

    run = commands.add_parser("run", help="evaluate one MonitorRun and write its status (the run Job's command)")
    run.add_argument("--namespace", required=True)
    run.add_argument("--name", required=True)
    run.set_defaults(handler=run_job)
