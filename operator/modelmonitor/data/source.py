"""The data sources a spec can name, one module of ``data/kinds`` each, registered here by their kind.

The checks, the Job and the Dask workers open every source through :func:`open_source` and
read it through the :class:`~modelmonitor.data.source_definition.Source` protocol alone.
"""

from __future__ import annotations

import importlib

from modelmonitor.api.data import DataSource, SourceKind
from modelmonitor.data import kinds
from modelmonitor.data.source_definition import Credentials, ReadSpan, Source, SourceKindDefinition

KINDS: dict[SourceKind, SourceKindDefinition] = {
    kind: importlib.import_module(f"{kinds.__name__}.{kind}").KIND for kind in SourceKind
}


def open_source(source: DataSource, credentials: Credentials = None, span: ReadSpan | None = None) -> Source:
    """The spec's source, opened lazily: its first read raises :class:`~modelmonitor.errors.SourceError`.

    ``span``: the times the caller will read, where it knows them (a stream reads only those).
    """
    return KINDS[source.kind].open(source, credentials, span)
