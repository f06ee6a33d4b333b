"""A shadow step's comparison: the candidate's mirrored rows paired with the baseline's by request id."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.metrics import MetricName
from modelmonitor.api.parsing import parse_spec
from modelmonitor.checks.compare import compare_versions
from modelmonitor.checks.paired import NO_REQUEST_ID
from modelmonitor.engine.paired import PAIRED_METHOD
from tests.checks.test_compare import NOW, START, VERSIONS

ROWS = 4000


def write_mirrored(path: Path, *, seed: int = 0) -> None:
    """Every request answered by 7 and, mirrored, by 8, which copies 7 on 85 % of them and is a little worse; a
    tenth of the requests logged by 7 alone (not mirrored), and some of 8's twice (a retried copy)."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, ROWS)
    right_7 = rng.random(ROWS) < 0.82
    right_8 = np.where(rng.random(ROWS) < 0.85, right_7, rng.random(ROWS) < 0.6)
    mirrored = rng.random(ROWS) < 0.9
    ids = np.array([f"req-{i}" for i in range(ROWS)])
    seconds = np.sort(rng.uniform(-5 * 3600, 0, ROWS))
    ts = np.datetime64(NOW.replace(tzinfo=None), "us") + (seconds * 1e6).astype("timedelta64[us]")
    retried = np.flatnonzero(mirrored)[:50]
    parts = []
    for version, right, keep in (
        ("7", right_7, np.arange(ROWS)),
        ("8", right_8, np.concatenate([np.flatnonzero(mirrored), retried])),
    ):
        prediction = np.where(right, label, 1 - label)[keep]
        score = np.clip(np.where(prediction == 1, 0.7, 0.3) + rng.normal(0, 0.1, keep.size), 0, 1)
        parts.append(
            pa.table(
                {
                    "ts": pa.array(ts[keep], pa.timestamp("us", tz="UTC")),
                    "request_id": ids[keep],
                    "prediction": prediction,
                    "label": label[keep],
                    "score": score,
                    "model_version": np.full(keep.size, version),
                }
            )
        )
    pq.write_table(pa.concat_tables(parts), path)


def monitor(path: Path, request_id: bool = True):
    columns = {"timestamp": "ts", "label": "label", "score": "score", "modelVersion": "model_version"}
    return parse_spec(
        {
            "model": {"name": "credit-risk", "task": "binaryClassification"},
            "schedule": {"interval": "1h"},
            "data": {
                "current": {"uri": str(path)},
                "reference": {"uri": str(path)},
                "columns": columns | ({"requestId": "request_id"} if request_id else {}),
            },
        }
    )


def compared(path: Path, *, paired: bool, **more):
    common = {"versions": VERSIONS, "alpha": 0.05, "min_samples_per_arm": 500, "since": START, "until": NOW}
    return compare_versions(monitor(path, **more), metric=MetricName.ACCURACY, paired=paired, **common)


def test_a_shadow_step_compares_the_versions_request_by_request(tmp_path: Path) -> None:
    logs = tmp_path / "logs.parquet"
    write_mirrored(logs)
    paired = compared(logs, paired=True)
    independent = compared(logs, paired=False)
    assert paired.primary.method == PAIRED_METHOD and independent.primary.method != PAIRED_METHOD
    assert paired.labeled_pairs == paired.primary.candidate.rows == paired.primary.baseline.rows
    table = pq.read_table(logs).to_pandas()
    twins = table[table.model_version == "7"].merge(
        table[table.model_version == "8"].drop_duplicates("request_id"), on="request_id", suffixes=("_7", "_8")
    )
    assert paired.labeled_pairs == len(twins)  # a retried copy counts once; requests 8 never saw are no pair
    right = {v: (twins[f"prediction_{v}"] == twins[f"label_{v}"]).mean() for v in ("7", "8")}
    assert paired.primary.difference == pytest.approx(right["8"] - right["7"])
    assert paired.primary.interval.high - paired.primary.interval.low < (
        (independent.primary.interval.high - independent.primary.interval.low) / 2
    )
    signs = paired.signs
    assert signs is not None and signs.pairs == len(twins)
    assert signs.agreement.value == pytest.approx((twins.prediction_7 == twins.prediction_8).mean())
    document = paired.to_document()["paired"]
    assert document["labeledPairs"] == len(twins) and document["agreement"]["value"] == signs.agreement.value
    assert set(document) >= {"pairs", "positiveShareDifference", "scoreDifference", "method"}
    assert "paired" not in independent.to_document()


def test_without_a_request_id_a_shadow_step_compares_two_arms_and_says_why(tmp_path: Path) -> None:
    logs = tmp_path / "logs.parquet"
    write_mirrored(logs)
    found = compared(logs, paired=True, request_id=False)
    assert found.primary.method != PAIRED_METHOD and found.labeled_pairs is None
    assert found.to_document()["paired"] == {"reason": NO_REQUEST_ID}


def test_a_metric_that_is_not_a_mean_over_rows_is_compared_as_two_arms_on_a_shadow_step(tmp_path: Path) -> None:
    logs = tmp_path / "logs.parquet"
    write_mirrored(logs)
    common = {"versions": VERSIONS, "alpha": 0.05, "min_samples_per_arm": 500, "since": START, "until": NOW}
    found = compare_versions(
        monitor(logs), metric=MetricName.ACCURACY, guardrails=[MetricName.ROC_AUC], paired=True, **common
    )
    assert found.primary.method == PAIRED_METHOD and found.guardrails[0].method != PAIRED_METHOD


def test_a_shadow_step_before_any_label_reports_its_signs(tmp_path: Path) -> None:
    """No label has come yet: the positive class is known from the predictions (an IndexError before)."""
    logs = tmp_path / "logs.parquet"
    write_mirrored(logs)
    table = pq.read_table(logs)
    unlabelled = table.set_column(table.schema.get_field_index("label"), "label", pa.nulls(table.num_rows, pa.int64()))
    pq.write_table(unlabelled, logs)
    found = compared(logs, paired=True)
    assert found.labeled_pairs == 0
    assert found.signs is not None and found.signs.positive_share_difference is not None
    assert found.signs.pairs > 3000
