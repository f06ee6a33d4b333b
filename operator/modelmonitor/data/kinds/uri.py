"""A data set at a URI or a path: a file, or a (hive-partitioned) directory, in any format and storage."""

from __future__ import annotations

from modelmonitor.api.data import DataSource
from modelmonitor.data.source_definition import Credentials, ReadSpan, Source, SourceKindDefinition
from modelmonitor.data.table import open_table


def open_uri(source: DataSource, credentials: Credentials, span: ReadSpan | None = None) -> Source:
    if source.uri is None:
        raise ValueError("a uri source without a uri")  # DataSource's validation makes this unreachable
    return open_table(source.uri, source.format, credentials)


KIND = SourceKindDefinition(open=open_uri)
