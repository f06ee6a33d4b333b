"""Reports without a browser: escaping, redaction, sorting, size, and the `modelmonitor report` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelmonitor.api.results import Results
from modelmonitor.cli import main
from modelmonitor.report import render_report
from modelmonitor.report.fleet import history_charts, monitor_list_page, sort_monitors
from modelmonitor.report.markup import escape, tag
from modelmonitor.report.redact import HIDDEN, redact_spec, redact_uri
from tests.report.conftest import HOSTILE_CATEGORY, HOSTILE_FEATURE, NOW


def test_text_and_attributes_are_escaped_and_markup_is_not_escaped_twice() -> None:
    built = tag("td", HOSTILE_FEATURE, title='" onmouseover="alert(1)', data_x=HOSTILE_CATEGORY)
    assert built == (
        '<td title="&quot; onmouseover=&quot;alert(1)" data-x="&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;">'
        "&lt;img src=x onerror=alert(1)&gt;</td>"
    )
    assert escape(escape("<b>")) == "&lt;b&gt;"


def test_no_user_string_reaches_the_page_unescaped(documents) -> None:
    page = render_report(Results.from_document(documents["hostile"]))
    assert HOSTILE_FEATURE not in page and HOSTILE_CATEGORY not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script" not in page.lower()


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("s3://bucket/logs/", "s3://bucket/logs/"),
        ("https://user:hunter2@host/data.parquet", f"https://user:{HIDDEN}@host/data.parquet"),
        ("https://host/d.parquet?X-Amz-Signature=abc&X-Amz-Credential=k", f"https://host/d.parquet?{HIDDEN}"),
        ("/data/current.parquet", "/data/current.parquet"),
    ],
)
def test_uris_lose_passwords_and_signatures(uri: str, shown: str) -> None:
    assert redact_uri(uri) == shown


def test_a_spec_shows_no_credentials() -> None:
    spec = {
        "data": {"current": {"uri": "https://u:pw@h/x"}},
        "credentials": {"secretRef": {"name": "data-credentials"}},
        "retrain": {
            "job": {"template": {"spec": {"containers": [{"env": [{"name": "TOKEN", "value": "t0k3n"}]}]}}},
            "apiToken": "abc",
        },
    }
    shown = json.dumps(redact_spec(spec))
    assert "pw" not in shown and "t0k3n" not in shown and "abc" not in shown
    assert "data-credentials" in shown  # a Secret's name is no secret


def _summary(name: str, health: str, drift: float | None) -> dict:
    return {"namespace": "ml", "name": name, "health": health, "driftedShare": drift, "metrics": {}}


def test_monitors_sort_by_a_column_with_missing_values_last() -> None:
    monitors = [_summary("a", "Healthy", 0.1), _summary("b", "Degraded", None), _summary("c", "Error", 0.6)]
    assert [m["name"] for m in sort_monitors(monitors, "drift", True)] == ["c", "a", "b"]
    assert [m["name"] for m in sort_monitors(monitors, "drift", False)] == ["a", "c", "b"]
    assert [m["name"] for m in sort_monitors(monitors, "health", False)] == ["c", "b", "a"]
    with pytest.raises(ValueError, match="sort by one of"):
        sort_monitors(monitors, "colour", False)


def test_a_thousand_monitors_make_one_modest_page() -> None:
    monitors = [_summary(f"model-{i:04d}", "Healthy", i / 1000) for i in range(1000)]
    page = monitor_list_page(monitors, sort="drift", descending=True)
    assert page.count("<tr data-monitor=") == 1000 and len(page) < 1_000_000
    assert page.index("model-0999") < page.index("model-0000")


def test_runs_at_the_same_moment_are_charted_not_refused() -> None:
    """Two runs ending the same second (a run-now beside a slot) made the history page a 500 (TypeError)."""
    runs = [
        {"name": name, "windowEnd": "2026-11-23T10:00:00Z", "metrics": {"accuracy": value}, "verdict": "Passed"}
        for name, value in (("slot", 0.8), ("now", 0.7))
    ]
    assert "<svg" in str(history_charts({"thresholds": {}}, runs))


def test_the_report_command_writes_a_file_and_exits_by_the_verdict(tmp_path: Path, capsys) -> None:
    from modelmonitor_tools.samples import write_samples

    write_samples(tmp_path, now=NOW)
    output = tmp_path / "drifted.html"
    code = main(["report", "-f", str(tmp_path / "drifted-monitor.yaml"), "-o", str(output), "--now", NOW.isoformat()])
    assert code == 1 and output.read_text().startswith("<!doctype html>")
    assert f"{output}: Failed report of credit-risk-drifted" in capsys.readouterr().out
    # the results as they were made, and as a stored document reads them back, give the same page
    document = tmp_path / "drifted.json"
    assert main(["check", "-f", str(tmp_path / "drifted-monitor.yaml"), "-o", "json", "--now", NOW.isoformat()]) == 1
    document.write_text(capsys.readouterr().out)
    assert main(["report", "--from-run", str(document), "-o", str(tmp_path / "again.html")]) == 1
    assert (tmp_path / "again.html").read_text() == output.read_text()
    assert (
        main(["report", "-f", str(tmp_path / "healthy-monitor.yaml"), "-o", str(output), "--now", NOW.isoformat()]) == 0
    )


def test_from_run_takes_a_results_document_or_a_monitor_run(tmp_path: Path, documents, capsys) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps(documents["drifted"]))
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"spec": {"monitor": "from-cluster"}, "status": {"results": documents["healthy"]}}))
    assert main(["report", "--from-run", str(results), "-o", str(tmp_path / "a.html")]) == 1
    assert main(["report", "--from-run", str(run), "-o", str(tmp_path / "b.html")]) == 0
    assert render_report(Results.from_document(documents["drifted"])) == (tmp_path / "a.html").read_text()
    capsys.readouterr()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        ('{"kind": "ModelMonitor"}', "not a results document"),
        (None, "No such file or directory"),
    ],
)
def test_from_run_refuses_what_it_cannot_read_in_one_line(tmp_path: Path, capsys, content, message) -> None:
    path = tmp_path / "input.json"
    if content is not None:
        path.write_text(content)
    assert main(["report", "--from-run", str(path), "-o", str(tmp_path / "out.html")]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1 and not (tmp_path / "out.html").exists()


def test_an_estimate_before_the_labels_is_drawn_and_listed(documents) -> None:
    results = json.loads(json.dumps(documents["drifted"]))
    accuracy = results["metrics"][0]
    accuracy["estimated"] = {"value": 0.61, "lower": 0.58, "upper": 0.64, "rows": 698, "status": "Failed"}
    page = render_report(Results.from_document(results))
    assert "estimated accuracy on 698 unlabeled rows: 0.61 [0.58, 0.64]" in page  # the diamond's tooltip
    assert "metric accuracy, estimated" in page and "0.61 [0.58, 0.64] on 698 unlabeled rows" in page
