"""The ``modelmonitor`` command line.

Exit codes: 0 healthy, 1 a check Failed, 2 an invalid spec, unreadable data or a check
in Error (with a one-line message naming the field, file or column).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path

from modelmonitor.api.documents import DocumentError
from modelmonitor.api.results import Results
from modelmonitor.errors import ModelMonitorError
from modelmonitor.times import parse_iso

EXIT_HEALTHY, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
DASK_SCHEDULER_ENV = "MODELMONITOR_DASK_SCHEDULER"
# Commands installed beside the operator (the dev cluster, the sample data: tools/pyproject.toml)
# register here, so that the operator's image carries only what it runs.
TOOL_COMMANDS = "modelmonitor.commands"


def parse_time(text: str) -> datetime:
    try:
        return parse_iso(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from None


def _check(args: argparse.Namespace) -> int:
    from modelmonitor.api.parsing import load_documents
    from modelmonitor.checks import run_checks
    from modelmonitor.output import render_table

    monitors = load_documents(Path(args.file))
    documents, worst_code = [], EXIT_HEALTHY
    for monitor in monitors:
        measurer = None
        if args.dask:  # one per monitor: a measurer reports where its own monitor's tasks ran
            from modelmonitor.distributed import DaskMeasurer

            measurer = DaskMeasurer(args.dask)
        results = run_checks(monitor.spec, now=args.now, name=monitor.metadata.name, measurer=measurer)
        document = results.to_document()
        documents.append(document)
        code = {"Failed": EXIT_FAILED, "Error": EXIT_ERROR}.get(results.verdict, EXIT_HEALTHY)
        worst_code = max(worst_code, code, key=lambda c: (c == EXIT_FAILED, c))
        for error in results.errors:
            print(f"error: {monitor.metadata.name}: {error.check}: {error.message}", file=sys.stderr)
        if args.output == "table":
            print(render_table(results))
    if args.output == "json":
        json.dump(documents[0] if len(documents) == 1 else documents, sys.stdout, indent=2)
        print()
    return worst_code


def _read_run(path: str) -> tuple[str | None, Results]:
    """The results of a results document, or of a MonitorRun (as ``kubectl get mr -o json`` prints it), with the
    run's name if it is a MonitorRun."""
    try:
        loaded = json.loads(Path(path).read_text())
    except OSError as error:
        raise ModelMonitorError(f"{path}: {error.strerror or error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelMonitorError(f"{path}: not JSON: {error}") from None
    name = None
    if isinstance(loaded, dict) and isinstance((loaded.get("status") or {}).get("results"), dict):
        name = (loaded.get("metadata") or {}).get("name")
        loaded = {"monitor": (loaded.get("spec") or {}).get("monitor", ""), **loaded["status"]["results"]}
    if not isinstance(loaded, dict) or "verdict" not in loaded or "window" not in loaded:
        raise ModelMonitorError(f"{path}: not a results document (from `modelmonitor check -o json`) or a MonitorRun")
    try:
        return name, Results.from_document(loaded)
    except DocumentError as error:
        raise ModelMonitorError(f"{path}: not a results document: {error}") from None


def _export_tensorboard(args: argparse.Namespace) -> int:
    from modelmonitor.data.table import storage_options
    from modelmonitor.exports.tensorboard import step_of, write_run

    if args.from_run:
        runs = [_read_run(path) for path in args.from_run]
        what = f"{len(runs)} stored runs"
    else:
        namespace, _, monitor = args.monitor.partition("/")
        if not namespace or not monitor:
            raise ModelMonitorError(f"--monitor {args.monitor}: name it NAMESPACE/NAME")
        runs = _stored_runs(namespace, monitor)
        what = f"{len(runs)} runs of {args.monitor}"
    options = storage_options(args.logdir, None)  # an object store as the process's environment reaches it
    for name, results in runs:
        write_run(results, args.logdir, name or f"{results.monitor or 'run'}-{step_of(results)}", options)
    print(f"{args.logdir}: {what} as TensorBoard scalars")
    return EXIT_HEALTHY


def _stored_runs(namespace: str, monitor: str) -> list[tuple[str | None, Results]]:
    """The runs of a monitor that stored results, oldest first, read from the cluster of the kubeconfig."""
    from kubernetes.client.rest import ApiException
    from kubernetes.config import ConfigException

    from modelmonitor.controller.kube import Kube, load_config
    from modelmonitor.controller.naming import MONITOR_LABEL
    from modelmonitor.controller.records import run_results

    try:
        listed = Kube(load_config()).list_runs(namespace, monitor)
    except (ApiException, ConfigException, OSError) as error:
        raise ModelMonitorError(f"cannot list the runs of {namespace}/{monitor}: {error}") from None
    found = []
    for run in sorted(listed, key=lambda run: run["metadata"].get("creationTimestamp") or ""):
        try:
            results = run_results(run)
        except DocumentError as error:
            raise ModelMonitorError(f"MonitorRun {run['metadata']['name']}: unreadable results: {error}") from None
        if results is not None:
            found.append((run["metadata"]["name"], results))
    if not found:
        listing = f"kubectl get mr -n {namespace} -l {MONITOR_LABEL}={monitor}"
        raise ModelMonitorError(f"{namespace}/{monitor}: no run with results ({listing})")
    return found


def _report(args: argparse.Namespace) -> int:
    from modelmonitor.report import render_report

    if args.from_run:
        _, results = _read_run(args.from_run)
    else:
        from modelmonitor.api.parsing import load_documents
        from modelmonitor.checks import run_checks

        monitors = load_documents(Path(args.file))
        if len(monitors) > 1:
            raise ModelMonitorError(f"{args.file}: holds {len(monitors)} monitors; a report is for one")
        monitor = monitors[0]
        results = run_checks(monitor.spec, now=args.now, name=monitor.metadata.name)
    output = Path(args.output)
    try:
        output.write_text(render_report(results), encoding="utf-8")
    except OSError as error:
        raise ModelMonitorError(f"{output}: {error.strerror or error}") from None
    print(f"{output}: {results.verdict} report of {results.monitor or 'the monitor'}")
    return {"Failed": EXIT_FAILED, "Error": EXIT_ERROR}.get(results.verdict, EXIT_HEALTHY)


def _validate(args: argparse.Namespace) -> int:
    from modelmonitor.api.parsing import load_documents

    failed = False
    for name in args.file:
        try:
            monitors = load_documents(Path(name))
        except ModelMonitorError as error:
            print(f"error: {error}", file=sys.stderr)
            failed = True
        else:
            for monitor in monitors:
                print(f"{name}: ModelMonitor {monitor.metadata.name} is valid")
    return EXIT_ERROR if failed else EXIT_HEALTHY


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelmonitor", description=__doc__.split("\n")[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="run a monitor's checks once, offline")
    check.add_argument("-f", "--file", required=True, help="a ModelMonitor YAML file")
    check.add_argument("--now", type=parse_time, help="evaluate as of this ISO-8601 time (default: now)")
    check.add_argument("-o", "--output", choices=("table", "json"), default="table")
    check.add_argument(
        "--dask",
        metavar="tcp://HOST:8786",
        default=os.environ.get(DASK_SCHEDULER_ENV) or None,
        help=f"run the per-feature drift work on this Dask scheduler's workers (default: ${DASK_SCHEDULER_ENV})",
    )
    check.set_defaults(handler=_check)

    report = commands.add_parser("report", help="write a self-contained HTML report of a monitor's checks")
    source = report.add_mutually_exclusive_group(required=True)
    source.add_argument("-f", "--file", help="a ModelMonitor YAML file: run its checks now")
    source.add_argument("--from-run", metavar="RESULTS.json", help="a stored results document, or a MonitorRun's JSON")
    report.add_argument("-o", "--output", required=True, metavar="REPORT.html")
    report.add_argument("--now", type=parse_time, help="evaluate as of this ISO-8601 time (default: now)")
    report.set_defaults(handler=_report)

    export = commands.add_parser("export", help="write a monitor's runs in another tool's format")
    formats = export.add_subparsers(dest="format", required=True, metavar="FORMAT")
    tensorboard = formats.add_parser("tensorboard", help="as TensorBoard scalars, one step per run")
    runs = tensorboard.add_mutually_exclusive_group(required=True)
    runs.add_argument("--monitor", metavar="NAMESPACE/NAME", help="every stored run of this monitor (the kubeconfig's)")
    runs.add_argument("--from-run", nargs="+", metavar="RESULTS.json", help="stored results documents or MonitorRuns")
    tensorboard.add_argument(
        "--logdir",
        required=True,
        metavar="DIR",
        help="the folder TensorBoard reads: a path, or an object store (s3://, gs://)",
    )
    tensorboard.set_defaults(handler=_export_tensorboard)

    validate = commands.add_parser("validate", help="validate ModelMonitor files offline")
    validate.add_argument("-f", "--file", required=True, nargs="+", help="ModelMonitor YAML files")
    validate.set_defaults(handler=_validate)

    from modelmonitor.collector.command import add_command as add_collector_command
    from modelmonitor.controller.main import add_commands as add_operator_commands

    add_operator_commands(commands)
    add_collector_command(commands)
    for entry_point in entry_points(group=TOOL_COMMANDS):
        entry_point.load()(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ModelMonitorError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
