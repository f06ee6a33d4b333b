"""One run's report from its results document: verdict and checks first, then how, in pictures."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import yaml

from modelmonitor.report.markup import Markup, join, number, percent, tag
from modelmonitor.report.page import document, section, summary, summary_item
from modelmonitor.report.redact import redact_spec
from modelmonitor.report.style import STATUS_RANK, badge
from modelmonitor.report.svg import Estimate, Marker, TimePoint, category_chart, histogram_chart, time_chart

Results = Mapping[str, Any]


def epoch(moment: str | None) -> float | None:
    return None if not moment else datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return f"{seconds} s"


def _bounds(item: Mapping[str, Any]) -> str:
    bounds = [f"min {number(item['min'])}" if item.get("min") is not None else ""]
    bounds.append(f"max {number(item['max'])}" if item.get("max") is not None else "")
    return ", ".join(b for b in bounds if b) or "no threshold"


def threshold_lines(bounds: Mapping[str, Any]) -> list[tuple[str, float]]:
    """The dashed lines of a metric's ``min`` and ``max``, those that are set."""
    return [(bound, bounds[bound]) for bound in ("min", "max") if bounds.get(bound) is not None]


def checks_table(results: Results) -> Markup:
    """Every check with its status in words, its value and the reason."""
    rows = []
    for metric in results.get("metrics", []):
        value = f"{number(metric.get('value'))} ({_bounds(metric)})"
        rows.append((f"metric {metric['name']}", metric["status"], value, metric.get("reason", "")))
        estimated = metric.get("estimated")
        if estimated:
            interval = f" [{number(estimated.get('lower'))}, {number(estimated.get('upper'))}]"
            value = f"{number(estimated.get('value'))}{interval} on {number(estimated.get('rows'))} unlabeled rows"
            rows.append(
                (f"metric {metric['name']}, estimated", estimated["status"], value, estimated.get("reason", ""))
            )
    drift = results.get("drift")
    if drift:
        features = drift.get("features", [])
        drifted = sum(1 for f in features if f.get("drifted"))
        value = f"{drifted} of {len(features)} features drifted ({percent(drift.get('driftedShare'))})"
        reason = f"dataset drift when at least {percent(drift.get('datasetDriftShare'))} of the features drift"
        rows.append(("dataset drift", drift["status"], value, reason))
    for check in results.get("conceptDrift", []):
        rows.append((f"concept drift {check['method']}", check["status"], "", check.get("reason", "")))
    for error in results.get("errors", []):
        rows.append((f"error in {error['check']}", "Error", "", error["message"]))
    body = [
        tag("tr", tag("td", name), tag("td", badge(status)), tag("td", value, class_="num"), tag("td", reason))
        for name, status, value, reason in rows
    ]
    head = tag("tr", tag("th", "Check"), tag("th", "Status"), tag("th", "Value", class_="num"), tag("th", "Reason"))
    return tag("table", tag("thead", head), tag("tbody", body), class_="checks")


def _markers(results: Results) -> list[Marker]:
    markers = []
    for check in results.get("conceptDrift", []):
        for key, what in (("driftStartedAt", "start"), ("detectedAt", "detected")):
            if (at := epoch(check.get(key))) is not None:
                markers.append(Marker(at, f"{check['method']} {what}"))
    return markers


def _metric_chart(results: Results, metric: Mapping[str, Any]) -> Markup:
    series = metric.get("series") or {}
    points_data = series.get("points") or []
    bucket = int(series.get("bucketSeconds") or 0)
    window = results.get("window") or {}
    end = epoch(window.get("end")) or 0.0
    start = epoch(window.get("start")) or (epoch(points_data[0]["start"]) if points_data else end - 1)
    points = [
        TimePoint(
            (epoch(p["start"]) or 0.0) + bucket / 2,
            p.get("value"),
            p.get("lower"),
            p.get("upper"),
            p.get("rows"),
            f"{metric['name']} from {p['start']}",
        )
        for p in points_data
    ]
    thresholds = threshold_lines(metric)
    estimated, estimate = metric.get("estimated") or {}, None
    if estimated.get("value") is not None:
        label = (
            f"estimated {metric['name']} on {estimated.get('rows', 0):,} unlabeled rows: {number(estimated['value'])} "
            f"[{number(estimated.get('lower'))}, {number(estimated.get('upper'))}]"
        )
        estimate = Estimate(estimated["value"], estimated.get("lower"), estimated.get("upper"), label)
    title = f"{metric['name']} over time"
    chart = time_chart(
        points, start=start, end=end, title=title, thresholds=thresholds, markers=_markers(results), estimate=estimate
    )
    caption = (
        f"{metric['name']} {number(metric.get('value'))} over {number(metric.get('samples'))} labeled rows · "
        f"{_bounds(metric)}"
    )
    if bucket:
        confidence = series.get("confidence") or 0.95
        caption += f" · {_duration(bucket)} buckets with {confidence:.0%} intervals"
    values = tag(
        "details",
        tag("summary", "values"),
        tag(
            "table",
            tag(
                "tr",
                tag("th", "from"),
                tag("th", "rows", class_="num"),
                tag("th", "value", class_="num"),
                tag("th", "interval", class_="num"),
            ),
            [
                tag(
                    "tr",
                    tag("td", p["start"]),
                    tag("td", number(p.get("rows")), class_="num"),
                    tag("td", number(p.get("value")), class_="num"),
                    tag("td", f"[{number(p.get('lower'))}, {number(p.get('upper'))}]", class_="num"),
                )
                for p in points_data
            ],
        ),
    )
    return tag(
        "figure",
        tag("h3", metric["name"], " ", badge(metric["status"])),
        chart if points_data or estimate else tag("p", "no time column: one value for the window", class_="muted"),
        tag("figcaption", caption, class_="muted small"),
        values if points_data else None,
        class_="metric",
        data_metric=metric["name"],
        style="margin: 0",
    )


def _severity(feature: Mapping[str, Any]) -> tuple[int, int, float, float]:
    p_value = feature.get("adjustedPValue")
    p_value = feature.get("pValue") if p_value is None else p_value
    return (
        STATUS_RANK.get(feature.get("status", ""), 4),
        0 if feature.get("drifted") else 1,
        1.0 if p_value is None else p_value,
        -(feature.get("effectSize") or feature.get("statistic") or 0.0),
    )


def distribution_chart(feature: Mapping[str, Any]) -> Markup | None:
    name = feature["feature"]
    if hist := feature.get("histogram"):
        return histogram_chart(
            hist["edges"],
            hist["reference"],
            hist["current"],
            hist["referenceOutside"],
            hist["currentOutside"],
            title=f"{name}: reference (grey) and current (blue) distributions",
        )
    if counts := feature.get("categories"):
        return category_chart(
            counts["categories"],
            counts["reference"],
            counts["current"],
            (counts["referenceOther"], counts["currentOther"]),
            counts["new"],
            title=f"{name}: reference (grey) and current (blue) category shares",
        )
    return None


def _approximate(feature: Mapping[str, Any]) -> str:
    if not feature.get("approximate"):
        return "no"
    return f"yes (±{number(feature.get('approximationError'), 2)})"


def feature_table(features: list[Mapping[str, Any]]) -> Markup:
    head = tag(
        "tr",
        [tag("th", label) for label in ("Feature", "Status", "Kind", "Method")],
        [tag("th", label, class_="num") for label in ("Statistic", "p-value", "Adjusted p", "Effect", "Approximate")],
        tag("th", "Reference and current"),
    )
    rows = [
        tag(
            "tr",
            tag(
                "td",
                tag("b", f["feature"], class_="feature-name"),
                tag("div", f.get("reason", ""), class_="muted small"),
            ),
            tag("td", badge(f["status"]), " ", tag("span", "drifted" if f.get("drifted") else "", class_="small")),
            tag("td", f.get("kind") or "—"),
            tag("td", f.get("method") or "—"),
            tag("td", number(f.get("statistic")), class_="num"),
            tag("td", number(f.get("pValue"), 3), class_="num"),
            tag("td", number(f.get("adjustedPValue"), 3), class_="num"),
            tag("td", number(f.get("effectSize"), 3), class_="num"),
            tag("td", _approximate(f), class_="num"),
            tag("td", distribution_chart(f)),
            data_feature=f["feature"],
            data_status=f["status"],
        )
        for f in sorted(features, key=_severity)
    ]
    return tag("table", tag("thead", head), tag("tbody", rows), class_="features")


_LEGEND = tag(
    "p",
    tag("span", tag("span", class_="sw sw-ref"), "reference"),
    tag("span", tag("span", class_="sw sw-cur"), "current window"),
    tag("span", "★ a category the reference never saw; ‹ › share outside the drawn range"),
    class_="legend small muted",
)


def run_sections(results: Results) -> Markup:
    """Everything but the page around it: also what the web view embeds."""
    window = results.get("window") or {}
    parts = [
        summary(
            summary_item("verdict", badge(results.get("verdict", "Error"), large=True)),
            summary_item("rows in the window", number(window.get("rows"))),
            summary_item("labeled rows", number(window.get("labeledRows"))),
            summary_item("label coverage", percent(results.get("labelCoverage"))),
            summary_item("reference rows", number(results.get("referenceRows"))),
        ),
        section("Checks", checks_table(results), id_="checks"),
    ]
    metrics = results.get("metrics") or []
    if metrics:
        charts = tag("div", [_metric_chart(results, m) for m in metrics], class_="charts")
        parts.append(section("Performance over time", charts, id_="performance"))
    drift = results.get("drift")
    if drift:
        features = drift.get("features", [])
        drifted = sum(1 for f in features if f.get("drifted"))
        lead = tag(
            "p",
            f"{drifted} of {len(features)} features drifted ({percent(drift.get('driftedShare'))}); the dataset drifts "
            f"when at least {percent(drift.get('datasetDriftShare'))} do. Multiple-testing correction: "
            f"{drift.get('correction')}. Sorted by severity.",
        )
        parts.append(section("Data drift", lead, _LEGEND, feature_table(features), id_="drift"))
        targets = [t for t in (drift.get("prediction"), drift.get("label")) if t]
        if targets:
            parts.append(section("Prediction and label drift", feature_table(targets), id_="targets"))
    parts.append(section("Data quality", _quality(results), id_="quality"))
    if estimation := results.get("performanceEstimation"):
        parts.append(section("Performance estimation", _estimation(estimation), id_="estimation"))
    parts.append(section("Window and data", _window(results), id_="window"))
    if spec := results.get("spec"):
        text = yaml.safe_dump(redact_spec(spec), sort_keys=False, allow_unicode=True)
        parts.append(section("The spec that produced it", tag("pre", text), id_="spec"))
    return join(*parts)


def _quality(results: Results) -> Markup:
    findings = results.get("dataQuality") or []
    if not findings:
        return tag("p", "No findings.", class_="muted")
    head = tag("tr", tag("th", "Finding"), tag("th", "Column"), tag("th", "Message"))
    rows = [tag("tr", tag("td", f["kind"]), tag("td", f.get("column", "")), tag("td", f["message"])) for f in findings]
    return tag("table", head, rows, class_="quality")


def _estimation(estimation: Mapping[str, Any]) -> Markup:
    facts = [
        ("method", estimation.get("method")),
        ("status", badge(estimation.get("status", "Error"))),
        ("reason", estimation.get("reason")),
        ("unlabeled rows", number(estimation.get("unlabeledRows"))),
        ("calibration error (calibrated scores)", number(estimation.get("calibrationError"), 3)),
        ("calibration error (the model's scores)", number(estimation.get("rawCalibrationError"), 3)),
    ]
    return tag("table", [tag("tr", tag("th", name), tag("td", value)) for name, value in facts])


def _window(results: Results) -> Markup:
    window = results.get("window") or {}
    facts = [
        ("evaluated at", results.get("evaluatedAt")),
        ("window", f"{window.get('start') or 'everything'} to {window.get('end')}"),
        ("rows", number(window.get("rows"))),
        ("labeled rows", number(window.get("labeledRows"))),
        ("label coverage", percent(results.get("labelCoverage"))),
        ("reference rows", number(results.get("referenceRows"))),
        ("model", f"{results.get('model')} version {results.get('modelVersion') or '—'}"),
    ]
    return tag("table", [tag("tr", tag("th", name), tag("td", value)) for name, value in facts])


def heading(results: Results, *, name: str | None = None) -> Markup:
    monitor = name or results.get("monitor") or "ModelMonitor"
    version = f" version {results['modelVersion']}" if results.get("modelVersion") else ""
    return join(
        tag("h1", monitor, " ", badge(results.get("verdict", "Error"), large=True)),
        tag("p", f"model {results.get('model')}{version} · evaluated at {results.get('evaluatedAt')}", class_="muted"),
    )


def render_report(results: Results, *, name: str | None = None) -> str:
    """A self-contained HTML report of one results document."""
    title = f"{name or results.get('monitor') or 'ModelMonitor'}: {results.get('verdict', 'Error')}"
    return document(title, heading(results, name=name), run_sections(results))
