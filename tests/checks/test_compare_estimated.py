"""analysis.estimated: two versions compared before their labels, each calibrated on its own reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.special import expit

from modelmonitor.api.comparison import Comparison
from modelmonitor.api.data import DataSource
from modelmonitor.api.metrics import MetricName
from modelmonitor.api.parsing import parse_spec
from modelmonitor.checks.compare import compare_versions
from modelmonitor.engine.estimated_compare import ESTIMATED_METHOD, ESTIMATED_PAIRED_METHOD
from tests.checks.test_compare import NOW, START, VERSIONS

ROWS = 6_000
NOISE = {"7": 0.5, "8": 1.4}  # 8's scores are noisier: about 0.06 less accurate
# each version's accuracy on its whole population of requests (measured on 2M rows: 0.7193 and 0.6628)
POPULATION = {"7": 0.719, "8": 0.663}


def rows_of(rng: np.random.Generator, version: str, count: int, slope: float = 1.5) -> dict[str, np.ndarray]:
    x = rng.normal(size=count)
    label = (rng.random(count) < expit(slope * x)).astype(np.int64)
    score = expit(1.5 * x + NOISE[version] * rng.normal(size=count))
    return {"label": label, "score": score, "prediction": (score > 0.5).astype(np.int64)}


def write_logs(path: Path, *, labelled: float = 0.05, slope: float = 1.5, seed: int = 0) -> dict[str, float]:
    """Each version's served rows, the oldest ``labelled`` share with its label (the rest wait for theirs); returns
    each version's accuracy on all of them, as the labels will show."""
    rng = np.random.default_rng(seed)
    parts, realized = [], {}
    for version in VERSIONS.values():
        found = rows_of(rng, version, ROWS, slope)
        realized[version] = float((found["prediction"] == found["label"]).mean())
        seconds = np.sort(rng.uniform(-5 * 3600, 0, ROWS))
        ts = np.datetime64(NOW.replace(tzinfo=None), "us") + (seconds * 1e6).astype("timedelta64[us]")
        waiting = np.arange(ROWS) >= labelled * ROWS
        parts.append(
            pa.table(
                {
                    "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                    "request_id": [f"{version}-{i}" for i in range(ROWS)],
                    "prediction": found["prediction"],
                    "label": pa.array(found["label"], mask=waiting),
                    "score": found["score"],
                    "model_version": np.full(ROWS, version),
                }
            )
        )
    pq.write_table(pa.concat_tables(parts), path)
    return realized


def write_reference(path: Path, version: str, seed: int) -> DataSource:
    pq.write_table(pa.table(rows_of(np.random.default_rng(seed), version, 10_000)), path)
    return DataSource(uri=str(path))


def monitor(logs: Path):
    """The monitor of version 7: its reference is 7's validation data."""
    columns = {"timestamp": "ts", "label": "label", "score": "score", "modelVersion": "model_version"}
    reference = {"uri": str(logs.parent / "validation-7.parquet")}
    data = {"current": {"uri": str(logs)}, "reference": reference, "columns": columns | {"requestId": "request_id"}}
    return parse_spec(
        {"model": {"name": "credit-risk", "task": "binaryClassification"}, "schedule": {"interval": "1h"}, "data": data}
    )


def compared(spec, references, metric: MetricName = MetricName.ACCURACY, paired: bool = False):
    common = {"versions": VERSIONS, "alpha": 0.05, "min_samples_per_arm": 500, "since": START, "until": NOW}
    return compare_versions(spec, metric=metric, estimated=True, references=references, paired=paired, **common)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float], dict[str, DataSource]]:
    folder = tmp_path_factory.mktemp("estimated")
    realized = write_logs(folder / "logs.parquet")
    references = {
        "baseline": write_reference(folder / "validation-7.parquet", "7", 1),
        "candidate": write_reference(folder / "validation-8.parquet", "8", 2),
    }
    return folder / "logs.parquet", realized, references


def test_a_worse_candidate_is_seen_before_its_labels(logs) -> None:
    path, realized, references = logs
    found = compared(monitor(path), references)
    assert found.labeled_rows == {"baseline": 300, "candidate": 300}  # too few to decide on labels
    estimated = found.estimated
    assert estimated is not None and not estimated.refused
    primary = estimated.primary
    assert primary.method == ESTIMATED_METHOD and primary.estimated
    assert primary.baseline.rows == primary.candidate.rows == ROWS  # every row served, labelled or not
    assert primary.interval.high < -0.01  # worse than the margin, surely
    # each arm's interval holds its version's accuracy, and the difference's interval theirs
    for arm, version in VERSIONS.items():
        interval = primary.arm(arm).interval
        assert interval.low <= POPULATION[version] <= interval.high
        assert primary.arm(arm).value == pytest.approx(realized[version], abs=0.03)  # what the labels will show
    assert primary.interval.low <= POPULATION["8"] - POPULATION["7"] <= primary.interval.high
    assert estimated.disagreement == ""  # the labelled rows agree with the calibrations
    assert set(estimated.calibration_rows.values()) == {10_000}
    document = found.to_document()["estimated"]
    assert Comparison.from_document(document["primary"], "primary") == primary
    assert document["primary"]["baseline"]["rows"] == ROWS and "labeledRows" not in document["primary"]["baseline"]


def test_the_baseline_falls_back_to_the_monitors_reference(logs, tmp_path: Path) -> None:
    path, _, references = logs
    own = compared(monitor(path), references)
    fallback = compared(monitor(path), {"candidate": references["candidate"]})
    assert fallback.estimated is not None and fallback.estimated.primary == own.estimated.primary


def test_without_the_candidates_reference_the_estimate_is_refused_and_labels_go_on(logs) -> None:
    path = logs[0]
    found = compared(monitor(path), {})
    assert found.estimated is not None and found.estimated.primary is None
    assert "candidate.reference is not set" in found.estimated.refused
    assert found.primary.baseline.rows == 300  # the labelled analysis, as ever
    assert found.to_document()["estimated"] == {"refused": found.estimated.refused}


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("missing.parquet", "candidate's reference {path} cannot be read: "),
        ("scoreless.parquet", "candidate's reference {path} cannot be read: "),
    ],
)
def test_an_unreadable_reference_costs_the_estimate_and_not_the_labelled_comparison(
    logs, tmp_path: Path, reference: str, expected: str
) -> None:
    path, _, references = logs
    pq.write_table(pq.read_table(references["candidate"].uri).drop_columns(["score"]), tmp_path / "scoreless.parquet")
    named = str(tmp_path / reference)
    found = compared(monitor(path), {**references, "candidate": DataSource(uri=named)})
    assert found.estimated is not None and found.estimated.refused.startswith(expected.format(path=named))
    assert found.primary.baseline.rows == 300  # the labelled analysis, as ever


def test_a_reference_that_names_the_classes_otherwise_is_refused(logs, tmp_path: Path) -> None:
    """Labels yes/no in the reference against 0/1 in the logs would calibrate every row as negative, silently."""
    path, _, references = logs
    table = pq.read_table(references["candidate"].uri)
    words = pa.array(np.where(table["label"].to_numpy() == 1, "yes", "no"))
    renamed = tmp_path / "words.parquet"
    pq.write_table(table.set_column(table.schema.get_field_index("label"), "label", words), renamed)
    found = compared(monitor(path), {**references, "candidate": DataSource(uri=str(renamed))})
    assert found.estimated is not None
    assert found.estimated.refused.startswith("a binary model's references and logged rows name 4 classes")


def test_metrics_without_expected_values_are_refused(logs) -> None:
    path, _, references = logs
    found = compared(monitor(path), references, metric=MetricName.F1)
    assert found.estimated is not None and "f1 has no expected value per row" in found.estimated.refused


def test_a_tiny_reference_is_refused(logs, tmp_path: Path) -> None:
    path, _, references = logs
    small = tmp_path / "small.parquet"
    pq.write_table(pq.read_table(references["candidate"].uri).slice(0, 100), small)
    found = compared(monitor(path), {**references, "candidate": DataSource(uri=str(small))})
    assert found.estimated is not None
    assert "has 100 labelled, scored rows < minSamplesPerArm 500" in found.estimated.refused


def test_labels_that_disagree_with_the_calibration_suspend_the_estimate(logs) -> None:
    """P(y | x) flattened after the references were drawn: the labelled rows realize far less than expected."""
    logged, _, references = logs
    path = logged.parent / "shifted.parquet"
    write_logs(path, labelled=0.3, slope=0.4, seed=5)
    found = compared(monitor(path), references)
    assert found.estimated is not None
    assert "baseline's labelled rows realize" in found.estimated.disagreement


def test_a_shadow_steps_estimate_pairs_the_requests(logs) -> None:
    logged, _, references = logs
    rng = np.random.default_rng(9)
    x = rng.normal(size=ROWS)
    ts = pa.array(np.full(ROWS, np.datetime64(NOW.replace(tzinfo=None), "us") - np.timedelta64(60, "s")))
    parts = []
    for version in VERSIONS.values():
        score = expit(1.5 * x + NOISE[version] * rng.normal(size=ROWS))
        parts.append(
            pa.table(
                {
                    "ts": ts.cast(pa.timestamp("us", tz="UTC")),
                    "request_id": [f"req-{i}" for i in range(ROWS)],
                    "prediction": (score > 0.5).astype(np.int64),
                    "label": pa.nulls(ROWS, pa.int64()),
                    "score": score,
                    "model_version": np.full(ROWS, version),
                }
            )
        )
    path = logged.parent / "mirrored.parquet"
    pq.write_table(pa.concat_tables(parts), path)
    paired = compared(monitor(path), references, paired=True).estimated
    apart = compared(monitor(path), references, paired=False).estimated
    assert paired is not None and apart is not None
    assert paired.primary.method == ESTIMATED_PAIRED_METHOD
    assert paired.primary.difference == pytest.approx(apart.primary.difference)
    assert paired.primary.interval.high - paired.primary.interval.low < (
        apart.primary.interval.high - apart.primary.interval.low
    )
    assert paired.residuals["baseline"].rows == 0  # no label yet: nothing to check the estimate against


def multiclass_rows(rng: np.random.Generator, rows: int, noise: float) -> dict[str, np.ndarray]:
    """Three classes whose true probabilities are a softmax of x; the model's scores blur them by ``noise``."""
    x = rng.normal(size=(rows, 3)) * 1.5
    truth = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    label = np.array([rng.choice(3, p=p) for p in truth])
    blurred = np.exp(x + noise * rng.normal(size=(rows, 3)))
    scores = blurred / blurred.sum(axis=1, keepdims=True)
    names = np.array(["cat", "dog", "fox"])
    found = {"label": names[label], "prediction": names[scores.argmax(axis=1)]}
    return found | {f"p_{name}": scores[:, k] for k, name in enumerate(names)}


def test_a_multiclass_models_versions_are_estimated_on_the_class_they_predict(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    parts, realized = [], {}
    for version, noise in (("7", 0.3), ("8", 1.5)):
        found = multiclass_rows(rng, ROWS, noise)
        realized[version] = float((found["label"] == found["prediction"]).mean())
        pq.write_table(pa.table(multiclass_rows(rng, 10_000, noise)), tmp_path / f"validation-{version}.parquet")
        ts = np.full(ROWS, np.datetime64(NOW.replace(tzinfo=None), "us") - np.timedelta64(60, "s"))
        table = pa.table(found | {"label": pa.nulls(ROWS, pa.string()), "model_version": np.full(ROWS, version)})
        parts.append(table.append_column("ts", pa.array(ts, pa.timestamp("us", tz="UTC"))))
    pq.write_table(pa.concat_tables(parts), tmp_path / "logs.parquet")
    columns = {
        "timestamp": "ts",
        "label": "label",
        "modelVersion": "model_version",
        "classScores": [{"label": name, "column": f"p_{name}"} for name in ("cat", "dog", "fox")],
    }
    spec = parse_spec(
        {
            "model": {"name": "animals", "task": "multiclassClassification"},
            "schedule": {"interval": "1h"},
            "data": {
                "current": {"uri": str(tmp_path / "logs.parquet")},
                "reference": {"uri": str(tmp_path / "validation-7.parquet")},
                "columns": columns,
            },
        }
    )
    found = compared(spec, {"candidate": DataSource(uri=str(tmp_path / "validation-8.parquet"))}).estimated
    assert found is not None and not found.refused, found
    for arm, version in VERSIONS.items():  # each version's expected accuracy: what its labels will show
        assert found.primary.arm(arm).value == pytest.approx(realized[version], abs=0.03)
    assert found.primary.interval.high < -0.01  # 8 blurs its scores: surely worse
