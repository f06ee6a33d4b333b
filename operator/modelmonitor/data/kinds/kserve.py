"""An InferenceService's payload logs, read where ``modelmonitor collector`` files them (``api.payload_log``).

The rows of one InferenceService sit under ``SINK/NAMESPACE/NAME/`` in hourly hive partitions,
so a window opens only its own hours. The bookkeeping columns (request id, InferenceService,
namespace, component) are never features.
"""

from __future__ import annotations

from modelmonitor.api import payload_log
from modelmonitor.api.data import DataSource
from modelmonitor.data.source_definition import Credentials, ReadSpan, Source, SourceKindDefinition
from modelmonitor.data.table import TableSource
from modelmonitor.errors import SourceError


def open_logs(source: DataSource, credentials: Credentials, span: ReadSpan | None = None) -> Source:
    logs = source.kserve
    if logs is None:
        raise ValueError("a kserve source without kserve")  # DataSource's validation makes this unreachable
    if logs.namespace is None:
        raise SourceError(logs.logs, f"kserve {logs.inference_service}: no namespace (set kserve.namespace)")
    return TableSource(
        payload_log.service_prefix(logs.logs, logs.namespace, logs.inference_service),
        "parquet",
        credentials,
        bookkeeping=payload_log.BOOKKEEPING,
        missing=(
            f"no payload logs of {logs.namespace}/{logs.inference_service} here yet: is a collector writing to "
            f"--sink {logs.logs}, and the InferenceService's logger sending to it?"
        ),
    )


KIND = SourceKindDefinition(open=open_logs)
