"""Every reader of a results document, fed as the API server hands documents back: nulls gone, optionals absent.

A MonitorRun's status keeps no ``null`` (the API server prunes them, and a merge patch
deletes a key set to null), so a reader meets a document without its optional fields as a
matter of course. ``every_reader`` runs each reader on a document and returns what each
made of it; a reader that indexes an absent key raises here.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import typing
from pathlib import Path
from typing import Any

from modelmonitor.api.documents import _optional, camel
from modelmonitor.api.results import Results
from modelmonitor.cli import _read_run
from modelmonitor.controller import metrics
from modelmonitor.controller.conditions import outcome_conditions
from modelmonitor.controller.records import last_run_summary, replacing, run_results
from modelmonitor.controller.webview import run_summary
from modelmonitor.output import render_table
from modelmonitor.report import render_report


def stored(document: Any) -> Any:
    """The document as a custom resource's status keeps it: every null field pruned, at any depth."""
    if isinstance(document, dict):
        return {key: stored(value) for key, value in document.items() if value is not None}
    if isinstance(document, list):
        return [stored(item) for item in document]
    return document


def bare(document: Any, kind: type = Results) -> Any:
    """The document without any field its type calls optional (``X | None``) or gives a default.

    A results document keeps its ``verdict`` and ``healthy``: never null, so never pruned.
    """
    if not isinstance(document, dict) or not dataclasses.is_dataclass(kind):
        return document
    hints = typing.get_type_hints(kind)
    kept = {key: document[key] for key in ("verdict", "healthy") if kind is Results and key in document}
    for field in dataclasses.fields(kind):
        key, hint = camel(field.name), hints[field.name]
        optional = _optional(hint) is not None or field.default is not dataclasses.MISSING
        if key in document and not optional:
            kept[key] = _bare_value(document[key], hint)
    return kept


def _bare_value(value: Any, hint: Any) -> Any:
    inner = _optional(hint) or hint
    origin, arguments = typing.get_origin(inner) or inner, typing.get_args(inner)
    if origin is list and arguments and dataclasses.is_dataclass(arguments[0]):
        return [bare(item, arguments[0]) for item in value]
    return bare(value, origin) if dataclasses.is_dataclass(origin) else value


def _run(document: dict[str, Any], phase: str = "Succeeded") -> dict[str, Any]:
    return {
        "metadata": {"name": "m-run", "namespace": "ns", "creationTimestamp": "2026-11-23T12:00:00Z"},
        "spec": {"monitor": "m", "trigger": "schedule", "runner": "inline"},
        "status": {"phase": phase, "completedAt": "2026-11-23T12:00:02Z", "results": document},
    }


def every_reader(document: dict[str, Any]) -> dict[str, Any]:
    """What each reader made of ``document``: conditions, the monitor's lastRun, metrics, table, report, web view."""
    run = _run(document)
    results = run_results(run)
    assert results is not None
    summary = last_run_summary(run, 1, results)
    metrics.export_results("ns", "m", "model", results)
    exported = metrics.REGISTRY.get_sample_value(
        "modelmonitor_dataset_drift", {"namespace": "ns", "monitor": "m", "model": "model"}
    )
    metrics.forget_monitor("ns", "m")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "run.json"
        path.write_text(json.dumps(run))
        _, from_cli = _read_run(str(path))
    patch = replacing(None, summary)
    assert None not in _leaves(patch), patch  # nothing written as null that was not there to clear
    return {
        "conditions": outcome_conditions("Succeeded", results),
        "lastRun": summary,
        "patch": patch,
        "exported": exported,
        "table": render_table(results),
        "report": render_report(results),
        "webview": run_summary(run),
        "cli": from_cli,
    }


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    return [value]
