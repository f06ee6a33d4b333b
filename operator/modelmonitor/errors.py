"""The exceptions modelmonitor raises, as one tree.

    ModelMonitorError
    ├── SpecError            the ModelMonitor spec is invalid (names the field path)
    ├── ExecutionError       where the checks were to run cannot run them (names the place)
    ├── RegistryError        the model registry (MLflow) cannot be reached, or refuses (names the server)
    └── DataError            data cannot be read or does not fit the spec
        ├── SourceError      a URI cannot be opened or parsed (names the file)
        │   └── NoData       nothing is there (yet)
        └── ColumnError      a column is missing or has the wrong type (names the column)

Only the CLI and the controller translate these into exit codes, conditions and
kopf's Temporary/Permanent errors; the engine raises plain ``ValueError`` for bad
arrays, which the check runner records as an ``Error`` verdict for that check.
"""

from __future__ import annotations

from typing import Any


class ModelMonitorError(Exception):
    """Base of every error modelmonitor raises on purpose."""

    @property
    def reason(self) -> str:
        """The reason a run's status gives for it (a condition's reason, an alert's label): its class's name."""
        return type(self).__name__

    def __reduce__(self) -> tuple[Any, ...]:
        # as built, not through __init__: subclasses take other arguments, and errors
        # travel back from the check processes pickled
        return _rebuilt, (type(self), str(self), dict(self.__dict__))


def _rebuilt(kind: type[ModelMonitorError], message: str, attributes: dict[str, Any]) -> ModelMonitorError:
    error = kind.__new__(kind)
    Exception.__init__(error, message)
    error.__dict__.update(attributes)
    return error


class SpecError(ModelMonitorError):
    """The ModelMonitor spec is invalid."""


class ExecutionError(ModelMonitorError):
    """The engine the checks were to run on cannot run them: the whole check fails, not one part of it."""


class RegistryError(ModelMonitorError):
    """The model registry or tracking server (MLflow) cannot be reached, or refuses a request."""

    def __init__(self, server: str, doing: str, reason: str, *, code: str | None = None) -> None:
        super().__init__(f"MLflow at {server}: {doing}: {reason}")
        self.server, self.code = server, code  # code: MLflow's error_code, e.g. RESOURCE_DOES_NOT_EXIST


class DataError(ModelMonitorError):
    """Data cannot be read, or does not fit the spec."""


class SourceError(DataError):
    """A data source URI cannot be opened or parsed."""

    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(f"{uri}: {reason}")
        self.uri = uri


class NoData(SourceError):
    """Nothing is at the URI: no file, or a folder without data files (labels that have yet to arrive, say)."""

    @property
    def reason(self) -> str:
        return "SourceError"  # a kind of it, which runs, alerts and dashboards have always named so


class ColumnError(DataError):
    """A column is missing from the data, or has the wrong type."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"column {column!r}: {reason}")
        self.column = column
