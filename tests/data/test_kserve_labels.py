"""Labels the collector keeps (its feedback sink) joined to the payload logs of a kserve source, and the spec's
defaults and refusals for data.labels."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from modelmonitor.api import payload_log
from modelmonitor.api.parsing import parse_spec
from modelmonitor.checks import run_checks
from modelmonitor.distributed.dask_measurer import portable
from modelmonitor.errors import SpecError
from tests.checks.conftest import NOW, logged, spec_for
from tests.data.test_source_kinds import HOURS, _kserve_spec, request_ids, write_payload_logs


def write_feedback(sink: Path, ids: pa.Array, labels: pa.Array, times: pa.Array) -> None:
    """Labels as the collector files them: request_id, label, ts, in a folder per UTC hour of ts."""
    prefix = Path(payload_log.service_prefix(str(sink), "ml", "credit-risk"))
    table = pa.table({payload_log.REQUEST_ID: ids, payload_log.LABEL: labels, payload_log.TIME: times})
    hours = pc.floor_temporal(times, unit="hour").to_pylist()
    for hour in sorted(set(hours)):
        folder = prefix / payload_log.hour_folder(hour)
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.filter(pc.equal(pc.floor_temporal(times, unit="hour"), hour)), folder / "part-0.parquet")


def test_the_collectors_labels_join_the_payload_logs_as_the_same_labels_inline(tmp_path: Path) -> None:
    """Labels come 0-3 hours after their predictions; those of the hours before the window are never opened."""
    table = logged(6000, seed=3, hours=HOURS)
    write_payload_logs(tmp_path / "sink", table)
    pq.write_table(logged(3000, seed=5), tmp_path / "reference.parquet")
    rng = np.random.default_rng(8)
    arrived = pc.add(table["ts"], pa.array(rng.integers(0, 3 * 3600 * 10**6, table.num_rows), pa.duration("us")))
    known = pc.less_equal(arrived, pa.scalar(NOW, pa.timestamp("us", tz="UTC")))
    ids = request_ids(table.num_rows)
    write_feedback(tmp_path / "feedback", ids.filter(known), table["label"].filter(known), arrived.filter(known))
    start = NOW - timedelta(hours=24)
    folders = sorted(Path(payload_log.service_prefix(str(tmp_path / "feedback"), "ml", "credit-risk")).glob("*/*"))
    skipped = 0
    for folder in folders[1:]:  # the first stays: discovery reads one file for the schema
        hour = pc.strptime(folder.parent.name[5:] + folder.name[5:], "%Y-%m-%d%H", "s").as_py()
        if hour.replace(tzinfo=start.tzinfo) + timedelta(hours=1) <= start:
            (folder / "part-0.parquet").write_bytes(b"not parquet: a partition the window must skip")
            skipped += 1
    assert skipped == HOURS - 24 - 1

    spec = _kserve_spec(tmp_path / "sink", tmp_path / "reference.parquet")
    spec["data"]["labels"] = {"kserve": {"inferenceService": "credit-risk", "logs": str(tmp_path / "feedback")}}
    spec["metrics"] = [{"name": "accuracy", "min": 0.8}, {"name": "rocAuc", "min": 0.7}]
    spec["data"]["columns"] = {"score": "score"}
    parsed = parse_spec(spec, namespace="ml")
    assert (parsed.data.columns.label, parsed.data.columns.request_id) == ("label", "request_id")
    joined = run_checks(parsed, now=NOW).to_document()

    inline = table.set_column(table.schema.get_field_index("label"), "label", pc.if_else(known, table["label"], None))
    pq.write_table(inline, tmp_path / "inline.parquet")
    by_file = spec_for(tmp_path / "inline.parquet", tmp_path / "reference.parquet")
    by_file["data"]["columns"] = {"timestamp": "ts", "label": "label", "score": "score"}
    by_file["metrics"], by_file["drift"] = spec["metrics"], spec["drift"]
    expected = run_checks(parse_spec(by_file), now=NOW).to_document()
    assert joined["errors"] == []
    for key in ("metrics", "window", "labelCoverage", "conceptDrift"):
        assert joined[key] == expected[key], key
    assert 0 < joined["window"]["labeledRows"] < joined["window"]["rows"]


def _with_labels(labels: dict, **columns: str) -> dict:
    spec = spec_for("s3://logs/current/", "s3://logs/train.parquet")
    spec["data"]["labels"] = labels
    spec["data"]["columns"] = {"timestamp": "ts", "score": "score", **columns}
    return spec


def test_the_labels_and_the_predictions_name_each_others_columns() -> None:
    joined = parse_spec(_with_labels({"uri": "s3://labels/", "idColumn": "rid", "labelColumn": "defaulted"})).data
    assert (joined.columns.label, joined.columns.request_id) == ("defaulted", "rid")
    named = parse_spec(_with_labels({"uri": "s3://labels/", "idColumn": "rid"}, label="y", requestId="id")).data
    assert (named.labels.label_column, named.columns.label, named.columns.request_id) == ("y", "y", "id")
    collected = parse_spec(
        _with_labels({"kserve": {"inferenceService": "credit-risk", "logs": "s3://l/feedback"}}), namespace="ml"
    ).data
    assert collected.labels is not None and collected.labels.kserve is not None
    assert (collected.labels.id_column, collected.labels.label_column, collected.labels.timestamp_column) == (
        "request_id",
        "label",
        "ts",
    )
    assert collected.labels.kserve.namespace == "ml"  # the monitor's, as for the other sources


@pytest.mark.parametrize(
    ("labels", "columns", "refusal"),
    [
        ({"uri": "s3://labels/"}, {"label": "y"}, "labels need idColumn"),
        ({"uri": "s3://labels/", "idColumn": "rid"}, {}, "labels need labelColumn"),
        ({"uri": "s3://labels/", "idColumn": "rid", "window": "24h"}, {"label": "y"}, "follow the predictions' window"),
        ({"idColumn": "rid"}, {"label": "y"}, "set exactly one of"),
    ],
)
def test_labels_that_cannot_join_are_refused_naming_why(labels: dict, columns: dict, refusal: str) -> None:
    spec = _with_labels(labels, **columns)
    if "label" not in columns:
        spec["data"]["columns"].pop("label", None)
        spec["metrics"] = []
    with pytest.raises(SpecError, match=refusal):
        parse_spec(spec)


def test_a_dask_worker_finds_labels_at_a_relative_path() -> None:
    spec = parse_spec(_with_labels({"uri": "labels/", "idColumn": "rid"}, label="y"))
    labels = portable(spec).data.labels
    assert labels is not None and labels.uri is not None and Path(labels.uri).is_absolute()
    assert labels.id_column == "rid"  # still the labels' own fields
