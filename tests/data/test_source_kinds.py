"""The source kinds behind one seam: each a module and a field; the kserve kind reads the collector's layout."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from modelmonitor.api import payload_log
from modelmonitor.api.data import DataSource, SourceKind
from modelmonitor.api.parsing import load_documents, parse_spec
from modelmonitor.checks import run_checks
from modelmonitor.data.source import KINDS, open_source
from modelmonitor.errors import SourceError
from tests.checks.conftest import NOW, logged, spec_for

HOURS = 36


def test_every_kind_is_a_module_a_field_of_the_spec_and_registered() -> None:
    assert set(KINDS) == set(SourceKind) == {"uri", "kserve", "seldon"}
    assert all(kind in DataSource.model_fields for kind in SourceKind)


def request_ids(rows: int) -> pa.Array:
    """The request ids write_payload_logs gives its rows, in their order."""
    return pa.array([str(uuid.UUID(int=i)) for i in range(rows)])


def write_payload_logs(sink: Path | str, table: pa.Table, namespace: str = "ml", service: str = "credit-risk") -> None:
    """Rows as the collector files them: the bookkeeping columns added, one file per UTC hour of ts."""
    rows = table.num_rows
    logged_rows = table.drop_columns(["label"]).append_column(payload_log.REQUEST_ID, request_ids(rows))
    for column, value in (
        (payload_log.INFERENCE_SERVICE, service),
        (payload_log.NAMESPACE, namespace),
        (payload_log.COMPONENT, "predictor"),
        (payload_log.MODEL_VERSION, "7"),
    ):
        logged_rows = logged_rows.append_column(column, pa.array([value] * rows))
    prefix = Path(payload_log.service_prefix(str(sink), namespace, service))
    for hour in range(HOURS, 0, -1):
        start = NOW - timedelta(hours=hour)
        inside = pc.and_(pc.greater_equal(table["ts"], start), pc.less(table["ts"], start + timedelta(hours=1)))
        folder = prefix / payload_log.hour_folder(start)
        folder.mkdir(parents=True)
        pq.write_table(logged_rows.filter(inside), folder / "part-0.parquet")


def _kserve_spec(sink: Path, reference: Path, **logs: Any) -> dict[str, Any]:
    spec = spec_for(reference, reference)
    spec["data"]["current"] = {
        "kserve": {"inferenceService": "credit-risk", "logs": str(sink), **logs},
        "window": "24h",
    }
    spec["data"]["columns"] = {"prediction": "prediction"}
    spec["metrics"] = []
    return spec


def test_a_kserve_source_reads_the_window_of_its_services_logs_without_the_bookkeeping(tmp_path: Path) -> None:
    """The same rows through a uri, with the features named: the same results. The request id, the service,
    the namespace, the component and the time partitions are never features."""
    table = logged(5000, seed=3, hours=HOURS)
    write_payload_logs(tmp_path / "sink", table)
    write_payload_logs(tmp_path / "sink", logged(900, seed=4, hours=HOURS), service="fraud")  # not read
    pq.write_table(logged(3000, seed=5).drop_columns(["label"]), tmp_path / "reference.parquet")

    kserve = parse_spec(_kserve_spec(tmp_path / "sink", tmp_path / "reference.parquet"), namespace="ml")
    assert kserve.data.columns.timestamp == "ts" and kserve.data.columns.model_version == "model_version"
    by_logs = run_checks(kserve, now=NOW).to_document()

    uri = _kserve_spec(tmp_path / "sink", tmp_path / "reference.parquet")
    uri["data"]["current"] = {"uri": str(tmp_path / "sink" / "ml" / "credit-risk"), "window": "24h"}
    uri["data"]["columns"] = {
        "prediction": "prediction",
        "timestamp": "ts",
        "modelVersion": "model_version",
        "features": ["x", "y", "colour", "score"],
    }
    by_uri = run_checks(parse_spec(uri), now=NOW).to_document()

    in_window = table.filter(pc.greater(table["ts"], NOW - timedelta(hours=24))).num_rows
    assert by_logs["window"]["rows"] == in_window
    assert sorted(f["feature"] for f in by_logs["drift"]["features"]) == ["colour", "score", "x", "y"]
    for document in (by_logs, by_uri):
        document.pop("spec")
    assert by_logs == by_uri


def test_the_monitors_namespace_is_the_logs_unless_they_name_theirs(tmp_path: Path) -> None:
    spec = _kserve_spec(tmp_path, tmp_path / "r.parquet")
    assert parse_spec(spec, namespace="team-a").data.current.kserve.namespace == "team-a"  # type: ignore[union-attr]
    spec["data"]["current"]["kserve"]["namespace"] = "serving"
    assert parse_spec(spec, namespace="team-a").data.current.kserve.namespace == "serving"  # type: ignore[union-attr]

    document = {
        "apiVersion": "modelmonitor.io/v1alpha1",
        "kind": "ModelMonitor",
        "spec": _kserve_spec(tmp_path, tmp_path),
    }
    for metadata, expected in (({"name": "m", "namespace": "team-b"}, "team-b"), ({"name": "m"}, "default")):
        path = tmp_path / f"{expected}.yaml"
        path.write_text(__import__("yaml").safe_dump({**document, "metadata": metadata}))
        [monitor] = load_documents(path)
        assert monitor.spec.data.current.kserve.namespace == expected  # type: ignore[union-attr]

    bare = parse_spec(_kserve_spec(tmp_path, tmp_path / "r.parquet"))
    with pytest.raises(SourceError, match=r"no namespace \(set kserve\.namespace\)"):
        open_source(bare.data.current).count()


def test_logs_not_written_yet_say_where_they_were_looked_for(tmp_path: Path) -> None:
    spec = parse_spec(_kserve_spec(tmp_path / "sink", tmp_path / "r.parquet"), namespace="ml")
    with pytest.raises(SourceError) as refused:
        run_checks(spec, now=NOW)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path}/sink/ml/credit-risk: no payload logs of ml/credit-risk here yet")
    assert f"--sink {tmp_path}/sink" in message
