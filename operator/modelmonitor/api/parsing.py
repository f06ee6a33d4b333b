"""Specs as they arrive (a resource's spec, a YAML file) parsed into the models, or refused a line per problem."""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from modelmonitor.api.data import with_namespace
from modelmonitor.api.monitor import KIND, ModelMonitor, ModelMonitorSpec
from modelmonitor.api.rollout import ModelRolloutSpec
from modelmonitor.errors import SpecError
from modelmonitor.yaml_input import YAMLBoundError, load_all_bounded


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def format_validation_error(error: ValidationError, prefix: str = "") -> str:
    """One line per problem: ``spec.schedule: set exactly one of interval or cron``."""
    lines = []
    for problem in error.errors():
        path = _field_path(tuple(problem["loc"]))
        message = problem["msg"].removeprefix("Value error, ")
        where = ".".join(part for part in (prefix, path) if part)
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)


Model = TypeVar("Model", bound=BaseModel)


def validate_as_sent(model: type[Model], document: Any, prefix: str = "") -> Model:
    """Validate the values as the API server sees them: "10" is not a number, nor "yes" a boolean.

    Through JSON in pydantic's strict mode (which, from JSON, takes an enum member by its
    value). Left lax, the model accepted what the CRD refuses. A whole float is an integer
    to the API server (minSamples: 100.0), and YAML's dates and times go as text, as kubectl
    sends them. Raises ValidationError, or SpecError for a value JSON cannot carry.
    """
    try:
        sent = json.dumps(_whole_floats_as_ints(document), default=_as_text)
    except (TypeError, ValueError) as error:
        raise SpecError(f"{prefix or 'document'}: {error}") from None
    return model.model_validate_json(sent, strict=True)


def _whole_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_floats_as_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_floats_as_ints(item) for item in value]
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    raise TypeError(f"a {type(value).__name__} value is not allowed here")


def _parse(model: type[Model], spec: dict[str, Any], prefix: str) -> Model:
    try:
        return validate_as_sent(model, spec, prefix)
    except ValidationError as error:
        raise SpecError(format_validation_error(error, prefix)) from None


def parse_spec(spec: dict[str, Any], *, prefix: str = "spec", namespace: str | None = None) -> ModelMonitorSpec:
    """Validate a ModelMonitor spec mapping; raise :class:`SpecError` naming each bad field.

    ``namespace``: the monitor's, which its kserve sources read unless they name another.
    """
    return _parse(ModelMonitorSpec, spec if namespace is None else with_namespace(spec, namespace), prefix)


def parse_rollout_spec(spec: dict[str, Any], *, prefix: str = "spec") -> ModelRolloutSpec:
    """Validate a ModelRollout spec mapping; raise :class:`SpecError` naming each bad field."""
    return _parse(ModelRolloutSpec, spec, prefix)


def parse_document(document: Any, *, source: str = "") -> ModelMonitor:
    where = f"{source}: " if source else ""
    if not isinstance(document, dict):
        raise SpecError(f"{where}expected a ModelMonitor mapping, got {type(document).__name__}")
    try:
        return validate_as_sent(ModelMonitor, document, where.rstrip(": "))
    except ValidationError as error:
        raise SpecError(where + format_validation_error(error)) from None


def load_documents(path: Path) -> list[ModelMonitor]:
    """Every ModelMonitor in a (multi-document) YAML file; other kinds are skipped."""
    try:
        documents = [doc for doc in load_all_bounded(path.read_text()) if doc is not None]
    except OSError as error:
        raise SpecError(f"{path}: {error.strerror or error}") from None
    except YAMLBoundError as error:
        raise SpecError(f"{path}: refused: {error}") from None
    except yaml.YAMLError as error:
        raise SpecError(f"{path}: not valid YAML: {error}".replace("\n", " ")) from None
    monitors = [
        parse_document(doc, source=str(path))
        for doc in documents
        if not (isinstance(doc, dict) and doc.get("kind") not in (None, KIND))
    ]
    if not monitors:
        raise SpecError(f"{path}: no ModelMonitor document found")
    return monitors
