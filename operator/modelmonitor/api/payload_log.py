"""Where and how the payload-log collector files an InferenceService's rows: the one home of that layout.

The collector writes, and a ``kserve`` source reads, Parquet files under
``SINK/NAMESPACE/INFERENCE_SERVICE/date=YYYY-MM-DD/hour=HH/``, cut by the hour of each row's
``ts`` in UTC. A warehouse, or a monitor's plain ``uri``, reads the same files as any table.
Labels sent to the collector go the same way under the feedback sink (by default the sink's
sibling folder ``feedback``), with the columns ``request_id``, ``label``, ``ts``,
``inference_service`` and ``namespace``.
"""

from __future__ import annotations

from datetime import UTC, datetime

REQUEST_ID = "request_id"
TIME = "ts"
PREDICTION = "prediction"
SCORE = "score"  # a binary classifier's positive-class probability, where the response holds probabilities
MODEL_VERSION = "model_version"
INFERENCE_SERVICE = "inference_service"
NAMESPACE = "namespace"
COMPONENT = "component"  # predictor, transformer, or the canary's predictor
LABEL = "label"  # in the feedback sink's rows

# where a row came from, not what the model saw or said: never a feature
BOOKKEEPING = (REQUEST_ID, INFERENCE_SERVICE, NAMESPACE, COMPONENT)


def service_prefix(sink: str, namespace: str, inference_service: str) -> str:
    """The folder of one InferenceService's rows in the collector's sink (a URI or a local path)."""
    return f"{sink.rstrip('/')}/{namespace}/{inference_service}"


def feedback_sink(sink: str) -> str:
    """The default feedback sink: the folder ``feedback`` beside the sink (s3://logs/kserve: s3://logs/feedback)."""
    parent, _, name = sink.rstrip("/").rpartition("/")
    if not name or not parent or parent.endswith(":/"):
        raise ValueError(f"the sink {sink} has no parent folder for the feedback: name one with --feedback-sink")
    return f"{parent}/feedback"


def hour_folder(moment: datetime) -> str:
    """The hive partition, below the service's folder, of the rows whose ``ts`` falls in this UTC hour."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return f"date={utc:%Y-%m-%d}/hour={utc:%H}"
