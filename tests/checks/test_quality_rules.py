"""spec.dataQuality: each rule measured on the window, cross-checked with pandas, and its hostile cases.

The hostile cases: a column that became all null, a new category that took every row, rows
stamped in the future, logs that stopped, an id written twice, a column dropped or retyped.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.data_quality import KINDS, DataQualityRule
from modelmonitor.api.results import QualityRuleResult, Results
from modelmonitor.api.verdict import Verdict
from modelmonitor.api.vocabulary import module_names, snake_case
from tests.checks.conftest import NOW, check, logged, spec_for


def _served(rows: int = 2000, seed: int = 2) -> pa.Table:
    """The usual logs with an id, an age and an income, a few incomes null and a few ages out of range."""
    table = logged(rows, seed=seed)
    rng = np.random.default_rng(seed)
    income = rng.normal(50_000, 10_000, rows)
    income[rng.random(rows) < 0.03] = np.nan  # pandas writes a missing float as NaN
    age = rng.integers(18, 90, rows).astype(float)
    age[:7] = [3, 150, 200, 12, 17.5, 121, 130]
    return (
        table.append_column("request_id", pa.array([f"r{i}" for i in range(rows)]))
        .append_column("income", pa.array(income, from_pandas=False))
        .append_column("age", pa.array(age))
    )


def _run(folder: Path, served: pa.Table, rules: list[dict[str, Any]], reference: pa.Table | None = None) -> Results:
    pq.write_table(served, folder / "current.parquet")
    pq.write_table(reference if reference is not None else _served(3000, seed=1), folder / "reference.parquet")
    spec = spec_for(folder / "current.parquet", folder / "reference.parquet", dataQuality=rules)
    spec["data"]["columns"]["categorical"] = ["colour"]
    return check(spec)


def _only(results: Results) -> QualityRuleResult:
    [rule] = results.quality_rules
    return rule


def test_each_kind_the_spec_names_has_its_module_and_no_module_is_without_a_kind() -> None:
    fields = [field.alias or name for name, field in DataQualityRule.model_fields.items()]
    assert fields == list(KINDS)
    assert sorted(module_names("modelmonitor.checks.quality_rules")) == sorted(snake_case(kind) for kind in KINDS)


def test_missing_counts_nulls_and_nan_as_pandas_does(tmp_path: Path) -> None:
    served = _served()
    results = _run(tmp_path, served, [{"missing": {"column": "income", "max": 0.05}}])
    rule = _only(results)
    expected = served.to_pandas()["income"].isna().mean()
    assert rule.status is Verdict.PASSED and rule.value == pytest.approx(expected) and 0.01 < expected < 0.05
    assert rule.details == {"rows": 2000, "missing": round(expected * 2000)}

    strict = _only(_run(tmp_path, served, [{"missing": {"column": "income", "max": 0.01}}]))
    assert strict.status is Verdict.FAILED and results.verdict is not Verdict.FAILED
    assert strict.message == "income: 2.5% of 2,000 rows have no value (at most 1%)"


def test_a_column_that_became_all_null_fails_and_says_it_is_no_longer_filled(tmp_path: Path) -> None:
    served = _served()
    served = served.set_column(served.schema.get_field_index("income"), "income", pa.nulls(2000, pa.float64()))
    results = _run(tmp_path, served, [{"missing": {"column": "income", "max": 0.05}}])
    rule = _only(results)
    assert (rule.status, rule.value) == (Verdict.FAILED, 1.0)
    assert "every one of 2,000 rows has no value: the column is no longer filled" in rule.message
    assert results.verdict is Verdict.FAILED and not results.healthy


def test_range_counts_values_outside_and_names_the_extremes(tmp_path: Path) -> None:
    served = _served()
    rule = _only(_run(tmp_path, served, [{"range": {"column": "age", "min": 18, "max": 120}}]))
    ages = served.to_pandas()["age"]
    outside = ((ages < 18) | (ages > 120)).sum()
    assert outside == 7 and rule.status is Verdict.FAILED and rule.value == pytest.approx(outside / 2000)
    assert rule.details == {"values": 2000, "below": 3, "above": 4, "lowest": 3.0, "highest": 200.0}
    assert "age: 0.35% of 2,000 values outside [18, 120] (3 below, 4 above; seen 3 to 200" in rule.message

    tolerant = _only(_run(tmp_path, served, [{"range": {"column": "age", "min": 18, "maxShare": 0.01}}]))
    assert tolerant.status is Verdict.PASSED and tolerant.details["above"] == 0


def test_range_takes_decimals_as_numbers(tmp_path: Path) -> None:
    """The defect: a decimal column (money, as warehouses keep it) was refused as "not numbers"."""
    served = _served()
    amounts = [Decimal(f"{value:.2f}") for value in np.random.default_rng(3).normal(100, 40, served.num_rows)]
    served = served.append_column("amount", pa.array(amounts, pa.decimal128(10, 2)))
    rule = _only(_run(tmp_path, served, [{"range": {"column": "amount", "min": 0, "max": 150}}]))
    values = np.array([float(value) for value in amounts])
    assert rule.status is not Verdict.ERROR
    assert rule.details["below"] == (values < 0).sum() and rule.details["above"] == (values > 150).sum()
    assert (rule.details["lowest"], rule.details["highest"]) == pytest.approx((values.min(), values.max()))


def test_range_on_text_is_the_rules_error_not_the_runs(tmp_path: Path) -> None:
    results = _run(tmp_path, _served(), [{"range": {"column": "colour", "min": 0}}])
    rule = _only(results)
    assert rule.status is Verdict.ERROR and "holds string, not numbers" in rule.message
    assert results.metrics and all(metric.status is not Verdict.ERROR for metric in results.metrics)
    assert [error.check for error in results.errors] == ["dataQuality range colour"]


def test_a_new_category_that_took_every_row_is_named_with_its_count(tmp_path: Path) -> None:
    served = _served()
    served = served.set_column(served.schema.get_field_index("colour"), "colour", pa.array(["mauve"] * 2000))
    rule = _only(_run(tmp_path, served, [{"allowedValues": {"column": "colour"}}]))
    assert (rule.status, rule.value) == (Verdict.FAILED, 1.0)
    assert rule.details["top"] == [{"value": "mauve", "rows": 2000}]
    assert "colour: 100% of 2,000 values are not in the reference: 'mauve' (2,000)" in rule.message
    assert "no value is a known one" in rule.message


def test_allowed_values_from_the_rule_compare_as_text_and_tolerate_a_share(tmp_path: Path) -> None:
    served = _served()
    colours = served["colour"].to_pylist()
    colours[:30] = ["teal"] * 20 + ["cyan"] * 10
    served = served.set_column(served.schema.get_field_index("colour"), "colour", pa.array(colours))
    rule = _only(_run(tmp_path, served, [{"allowedValues": {"column": "colour", "values": ["red", "green", "blue"]}}]))
    assert rule.status is Verdict.FAILED and rule.value == pytest.approx(30 / 2000)
    assert rule.details["top"] == [{"value": "teal", "rows": 20}, {"value": "cyan", "rows": 10}]
    relaxed = _run(tmp_path, served, [{"allowedValues": {"column": "prediction", "values": ["0", "1"]}}])
    assert _only(relaxed).status is Verdict.PASSED  # integers compared as text


def test_unique_finds_ids_written_twice_and_names_them(tmp_path: Path) -> None:
    served = _served()
    assert _only(_run(tmp_path, served, [{"unique": {"column": "request_id"}}])).status is Verdict.PASSED
    doubled = pa.concat_tables([served, served.slice(100, 25)])
    rule = _only(_run(tmp_path, doubled, [{"unique": {"column": "request_id"}}]))
    ids = doubled.to_pandas()["request_id"]
    assert ids.duplicated().sum() == 25 and rule.details["repeated"] == 25 and rule.value == pytest.approx(25 / 2025)
    assert rule.status is Verdict.FAILED and set(rule.details["examples"]) <= {f"r{i}" for i in range(100, 125)}
    assert "an id served twice, or rows written twice" in rule.message


def test_freshness_passes_fresh_logs_and_fails_logs_that_stopped(tmp_path: Path) -> None:
    served = _served()
    fresh = _only(_run(tmp_path, served, [{"freshness": {"maxAge": "1h"}}]))
    newest = pc.max(served["ts"]).as_py()
    assert fresh.status is Verdict.PASSED and fresh.value == pytest.approx((NOW - newest).total_seconds())
    stopped = served.filter(pc.less(served["ts"], pa.scalar(NOW - timedelta(hours=6), served["ts"].type)))
    rule = _only(_run(tmp_path, stopped, [{"freshness": {"maxAge": "1h"}}]))
    assert rule.status is Verdict.FAILED and rule.value is not None and rule.value > 6 * 3600
    assert "the logs stopped arriving" in rule.message
    empty = served.filter(pc.less(served["ts"], pa.scalar(NOW - timedelta(hours=30), served["ts"].type)))
    none = _run(tmp_path, empty.slice(0, 0), [{"freshness": {"maxAge": "1h"}}])
    assert _only(none).status is Verdict.FAILED and "no row since" in _only(none).message


def test_rows_from_the_future_fail_freshness_though_the_window_leaves_them_out(tmp_path: Path) -> None:
    served = _served()
    times = served["ts"].to_pylist()
    times[-40:] = [NOW + timedelta(hours=2, seconds=i) for i in range(40)]  # a clock two hours ahead
    served = served.set_column(0, "ts", pa.array(times, pa.timestamp("us", tz="UTC")))
    results = _run(tmp_path, served, [{"freshness": {"maxAge": "1h"}}])
    rule = _only(results)
    assert rule.status is Verdict.FAILED and rule.details["future"] == 40
    assert "40 of 2,000 rows are later than the run" in rule.message and "a clock or a time zone is off" in rule.message
    assert results.window.rows == 1960  # the window itself ends at the run


def test_schema_against_the_reference_and_against_the_rule(tmp_path: Path) -> None:
    served = _served()
    same = _only(_run(tmp_path, served, [{"schema": {}}]))
    assert same.status is Verdict.PASSED, same.message
    changed = served.drop(["income"]).append_column("debug_flag", pa.array([True] * 2000))
    changed = changed.set_column(changed.schema.get_field_index("age"), "age", pc.cast(changed["age"], pa.string()))
    rule = _only(_run(tmp_path, changed, [{"schema": {}}]))
    assert rule.status is Verdict.FAILED and rule.value == 3
    assert rule.details["missing"] == ["income"] and rule.details["added"] == ["debug_flag"]
    assert rule.details["retyped"] == {"age": {"expected": "number", "found": "string"}}
    assert "the pipeline that writes the data changed" in rule.message
    # an integer column written as floats (pandas, once a null came in) is the same number
    as_float = served.set_column(
        served.schema.get_field_index("prediction"), "prediction", pc.cast(served["prediction"], pa.float64())
    )
    assert _only(_run(tmp_path, as_float, [{"schema": {}}])).status is Verdict.PASSED
    listed = {"columns": [{"name": "age", "type": "integer"}, {"name": "income"}], "allowExtra": True}
    explicit = _only(_run(tmp_path, served, [{"schema": listed}]))
    assert explicit.status is Verdict.FAILED and explicit.details["retyped"] == {
        "age": {"expected": "integer", "found": "number"}
    }


def test_a_monitor_without_rules_measures_none(tmp_path: Path) -> None:
    results = _run(tmp_path, _served(), [])
    assert results.quality_rules == [] and results.to_document()["qualityRules"] == []
    document = _run(tmp_path, _served(), [{"missing": {"column": "income", "max": 0.05}}]).to_document()
    assert Results.from_document(document).quality_rules[0].rule == "missing"


def test_the_table_and_the_report_show_each_rule_with_its_verdict(tmp_path: Path) -> None:
    from modelmonitor.output import render_table
    from modelmonitor.report import render_report

    served = _served()
    served = served.set_column(served.schema.get_field_index("income"), "income", pa.nulls(2000, pa.float64()))
    rules = [{"missing": {"column": "income", "max": 0.05}}, {"unique": {"column": "request_id"}}]
    results = _run(tmp_path, served, rules)
    table = render_table(results)
    assert "DATA-QUALITY RULES" in table
    [missing] = [line for line in table.splitlines() if line.lstrip().startswith("missing")]
    assert missing.split()[:5] == ["missing", "income", "1", "0.05", "Failed"]
    report = render_report(results)
    assert "data quality missing income" in report and "the column is no longer filled" in report
    assert "data quality unique request_id" in report
