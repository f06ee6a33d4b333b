"""Two versions compared on logged rows: the right rows per arm, the engine's intervals, the sample ratio."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.fairness import FairnessMetricName
from modelmonitor.api.metrics import MetricName
from modelmonitor.api.parsing import parse_spec
from modelmonitor.checks.compare import compare_versions
from modelmonitor.errors import SpecError

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
START = NOW - timedelta(hours=6)


def write_logs(path: Path, *, rows: int, candidate_share: float, accuracy: dict[str, float], seed: int = 0) -> None:
    """Six hours of logged predictions from versions 7 and 8, labels for 90% of them, plus older rows."""
    rng = np.random.default_rng(seed)
    version = np.where(rng.random(rows) < candidate_share, "8", "7")
    label = rng.integers(0, 2, rows)
    right = rng.random(rows) < np.where(version == "8", accuracy["8"], accuracy["7"])
    prediction = np.where(right, label, 1 - label)
    score = np.clip(np.where(prediction == 1, 0.75, 0.25) + rng.normal(0, 0.15, rows), 0, 1)
    seconds = np.sort(rng.uniform(-8 * 3600, 0, rows))  # two hours before the rollout began, too
    labelled = rng.random(rows) < 0.9
    table = pa.table(
        {
            "ts": pa.array(
                np.datetime64(NOW.replace(tzinfo=None), "us") + (seconds * 1e6).astype("timedelta64[us]"),
                pa.timestamp("us", tz="UTC"),
            ),
            "prediction": prediction,
            "label": pa.array(label, mask=~labelled),
            "score": score,
            "model_version": version,
            "amount": rng.normal(0, 1, rows),
        }
    )
    pq.write_table(table, path)


def monitor(path: Path, **model):
    return parse_spec(
        {
            "model": {"name": "credit-risk", "task": "binaryClassification", **model},
            "schedule": {"interval": "1h"},
            "data": {
                "current": {"uri": str(path)},
                "reference": {"uri": str(path)},
                "columns": {"timestamp": "ts", "label": "label", "score": "score", "modelVersion": "model_version"},
            },
        }
    )


VERSIONS = {"baseline": "7", "candidate": "8"}
SPLIT = {"baseline": 75, "candidate": 25}


def accuracy_since_start(logs: Path, **more):
    """Accuracy of 8 against 7 on the rows since the rollout began, with the 75/25 split set."""
    common = {"versions": VERSIONS, "alpha": 0.05, "min_samples_per_arm": 500, "since": START, "until": NOW}
    return compare_versions(monitor(logs), metric=MetricName.ACCURACY, weights=SPLIT, **common, **more)


def test_a_better_candidate_is_measured_on_its_own_rows_since_the_rollout(tmp_path: Path) -> None:
    logs = tmp_path / "logs.parquet"
    write_logs(logs, rows=40000, candidate_share=0.25, accuracy={"7": 0.75, "8": 0.85})
    result = accuracy_since_start(logs, guardrails=[MetricName.ROC_AUC])
    table = pq.read_table(logs).to_pandas()
    recent = table[table["ts"] > START]
    for arm, version in VERSIONS.items():
        rows = recent[recent["model_version"] == version]
        assert result.rows[arm] == len(rows) and result.labeled_rows[arm] == rows["label"].notna().sum()
        labelled = rows[rows["label"].notna()]
        expected = (labelled["label"] == labelled["prediction"]).mean()
        assert getattr(result.primary, arm).value == pytest.approx(expected)
    assert result.primary.difference == pytest.approx(0.10, abs=0.02)
    assert result.primary.improvement.low > 0  # clearly better, at every look
    assert result.guardrails[0].metric == "rocAuc" and result.guardrails[0].improvement.low > -0.02
    assert result.sample_ratio is not None and result.sample_ratio.p_value > 0.001
    document = result.to_document()
    assert document["labeledRows"] == dict(result.labeled_rows) and document["primary"]["metric"] == "accuracy"


def test_a_split_that_does_not_match_the_weights_shows_in_the_sample_ratio(tmp_path: Path) -> None:
    logs = tmp_path / "logs.parquet"
    write_logs(logs, rows=20000, candidate_share=0.35, accuracy={"7": 0.8, "8": 0.8})
    result = accuracy_since_start(logs)
    assert result.sample_ratio is not None and result.sample_ratio.p_value < 1e-6
    assert result.sample_ratio.observed_shares[1] == pytest.approx(0.35, abs=0.02)


def test_the_monitor_must_tell_versions_apart_and_fit_the_metric(tmp_path: Path) -> None:
    logs = tmp_path / "logs.parquet"
    write_logs(logs, rows=100, candidate_share=0.5, accuracy={"7": 0.8, "8": 0.8})
    common = {"versions": VERSIONS, "alpha": 0.05, "min_samples_per_arm": 50, "since": START, "until": NOW}
    with pytest.raises(SpecError, match=r"analysis\.metric: mae needs a regression task"):
        compare_versions(monitor(logs), metric=MetricName.MAE, **common)
    spec = monitor(logs)
    without = spec.model_copy(
        update={
            "data": spec.data.model_copy(
                update={"columns": spec.data.columns.model_copy(update={"model_version": None})}
            )
        }
    )
    with pytest.raises(SpecError, match=r"needs data\.columns\.modelVersion"):
        compare_versions(without, metric=MetricName.ACCURACY, **common)


def _with_gender(logs: Path, *, unfair: str | None, seed: int = 4) -> None:
    """Each row gets a gender; the ``unfair`` version's approvals (1) of women turn to 0 three times in ten."""
    table = pq.read_table(logs)
    rng = np.random.default_rng(seed)
    gender = rng.choice(["m", "f"], table.num_rows)
    prediction = table["prediction"].to_numpy().copy()
    version = table["model_version"].to_numpy()
    flipped = (version == unfair) & (gender == "f") & (prediction == 1) & (rng.random(table.num_rows) < 0.3)
    prediction[flipped] = 0
    table = table.set_column(table.schema.get_field_index("prediction"), "prediction", pa.array(prediction))
    pq.write_table(table.append_column("gender", pa.array(gender)), logs)


def _fair_monitor(logs: Path):
    spec = monitor(logs).model_dump(by_alias=True, exclude_unset=True)
    spec["fairness"] = {
        "protectedAttribute": "gender",
        "privileged": ["m"],
        "metrics": [{"name": "statisticalParityDifference", "max": 0.1}],
    }
    return parse_spec(spec)


@pytest.mark.parametrize(("unfair", "reason"), [("8", "CandidateWorse"), (None, "NonInferior")])
def test_a_more_accurate_but_less_fair_candidate_is_rolled_back_by_its_fairness_guardrail(
    tmp_path: Path, unfair: str | None, reason: str
) -> None:
    from modelmonitor.controller.rollouts.comparing import evidence_from
    from modelmonitor.controller.rollouts.policy import judge

    logs = tmp_path / "logs.parquet"
    write_logs(logs, rows=80000, candidate_share=0.5, accuracy={"7": 0.75, "8": 0.92})
    _with_gender(logs, unfair=unfair)
    common = {"versions": VERSIONS, "alpha": 0.05, "min_samples_per_arm": 500, "since": START, "until": NOW}
    result = compare_versions(
        _fair_monitor(logs),
        metric=MetricName.ACCURACY,
        fairness_guardrails=[FairnessMetricName.STATISTICAL_PARITY_DIFFERENCE],
        **common,
    )
    [guard] = result.guardrails
    assert guard.metric == "statisticalParityDifference" and not guard.higher_is_better
    assert guard.baseline.rows == result.rows["baseline"]  # every row served, labelled or not
    assert result.primary.interval.low > 0  # the candidate is surely more accurate
    verdict = judge(evidence_from(result, 0.01, {"statisticalParityDifference": 0.05}), 500)
    assert verdict.reason == reason
    if unfair:
        assert "statisticalParityDifference" in verdict.message


def test_fairness_guardrails_need_the_monitors_fairness(tmp_path: Path) -> None:
    logs = tmp_path / "logs.parquet"
    write_logs(logs, rows=2000, candidate_share=0.5, accuracy={"7": 0.8, "8": 0.8})
    common = {"versions": VERSIONS, "alpha": 0.05, "min_samples_per_arm": 500, "since": START, "until": NOW}
    with pytest.raises(SpecError, match=r"need the monitor's spec\.fairness"):
        compare_versions(
            monitor(logs),
            metric=MetricName.ACCURACY,
            fairness_guardrails=[FairnessMetricName.DISPARATE_IMPACT_RATIO],
            **common,
        )


def test_a_live_step_reports_how_the_arms_outputs_differ_before_any_label(tmp_path: Path) -> None:
    logs = tmp_path / "logs.parquet"
    write_logs(logs, rows=20_000, candidate_share=0.25, accuracy={"7": 0.8, "8": 0.8})
    table = pq.read_table(logs).to_pandas()
    table = table[(table.ts > START) & (table.ts <= NOW)]
    # version 8 says yes more often: its wrong answers are all yes
    yes = (table.model_version == "8") & (table.prediction != table.label)
    table.loc[yes, "prediction"] = 1
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), logs)
    found = accuracy_since_start(logs)
    outputs = found.to_document()["outputs"]
    served = {v: table[table.model_version == v] for v in ("7", "8")}
    share = outputs["positiveShare"]
    assert share["baseline"] == pytest.approx((served["7"].prediction == 1).mean())
    assert share["candidate"] == pytest.approx((served["8"].prediction == 1).mean())  # labelled or not
    assert share["shifted"] and share["interval"][0] > 0
    assert outputs["rows"] == {"baseline": len(served["7"]), "candidate": len(served["8"])}
    assert outputs["meanScore"]["baseline"] == pytest.approx(served["7"].score.mean())


def test_a_comparison_before_any_row_is_logged_has_nothing_to_compare_yet(tmp_path: Path) -> None:
    """The rollout has just begun: no row since (the outputs' positive class raised an IndexError)."""
    path = tmp_path / "logs.parquet"
    write_logs(path, rows=400, candidate_share=0.25, accuracy={"7": 0.75, "8": 0.85})
    found = compare_versions(
        monitor(path),
        versions=VERSIONS,
        metric=MetricName.ACCURACY,
        alpha=0.05,
        min_samples_per_arm=100,
        since=NOW + timedelta(hours=1),
        until=NOW + timedelta(hours=2),
    )
    assert found.rows == {"baseline": 0, "candidate": 0} and found.labeled_rows == found.rows
    assert found.outputs is not None and found.outputs.positive_share is None
