"""One run's report from its results: verdict and checks first, then how, in pictures.

It reads the results as types (``Results.from_document`` for a stored document), so a
field the API server pruned is its zero value here, never a missing key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import yaml

from modelmonitor.api.results import (
    ConceptDriftResult,
    EstimatedMetric,
    FeatureDriftResult,
    MetricResult,
    PerformanceEstimation,
    Results,
)
from modelmonitor.api.verdict import Verdict
from modelmonitor.report import beyond_drift
from modelmonitor.report.markup import Markup, join, number, percent, tag
from modelmonitor.report.page import document, section, summary, summary_item
from modelmonitor.report.redact import redact_spec
from modelmonitor.report.style import STATUS_RANK, badge
from modelmonitor.report.svg import Estimate, Marker, TimePoint, category_chart, histogram_chart, time_chart
from modelmonitor.times import parse_iso


def epoch(moment: str | None) -> float | None:
    return None if not moment else parse_iso(moment).timestamp()


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return f"{seconds} s"


def _bounds(metric: MetricResult) -> str:
    bounds = [f"min {number(metric.min)}" if metric.min is not None else ""]
    bounds.append(f"max {number(metric.max)}" if metric.max is not None else "")
    return ", ".join(b for b in bounds if b) or "no threshold"


def threshold_lines(bounds: Mapping[str, float | None]) -> list[tuple[str, float]]:
    """The dashed lines of a metric's ``min`` and ``max``, those that are set."""
    return [(bound, value) for bound in ("min", "max") if (value := bounds.get(bound)) is not None]


def _share(value: float) -> str:
    return percent(None if math.isnan(value) else value)


def checks_table(results: Results) -> Markup:
    """Every check with its status in words, its value and the reason."""
    rows = []
    for metric in results.metrics:
        value = f"{number(metric.value)} ({_bounds(metric)})"
        rows.append((f"metric {metric.name}", metric.status, value, metric.reason))
        if (estimated := metric.estimated) is not None:
            interval = f" [{number(estimated.lower)}, {number(estimated.upper)}]"
            value = f"{number(estimated.value)}{interval} on {number(estimated.rows)} unlabeled rows"
            rows.append((f"metric {metric.name}, estimated", estimated.status, value, estimated.reason))
    if (drift := results.drift) is not None:
        drifted = sum(1 for f in drift.features if f.drifted)
        value = f"{drifted} of {len(drift.features)} features drifted ({_share(drift.drifted_share)})"
        reason = f"dataset drift when at least {_share(drift.dataset_drift_share)} of the features drift"
        rows.append(("dataset drift", drift.status, value, reason))
        for together in drift.multivariate:
            value = f"{number(together.statistic)} (threshold {number(together.threshold)})"
            rows.append((f"multivariate drift {together.method}", together.status, value, together.reason))
    for check in results.concept_drift:
        rows.append((f"concept drift {check.method}", check.status, "", check.reason))
    for rule in results.quality_rules:
        name = f"data quality {rule.rule}" + (f" {rule.column}" if rule.column else "")
        value = f"{number(rule.value)} (limit {number(rule.limit)})" if rule.value is not None else ""
        rows.append((name, rule.status, value, rule.message))
    for fair in results.fairness:
        interval = f" [{number(fair.lower, 3)}, {number(fair.upper, 3)}]" if fair.lower is not None else ""
        rows.append((f"fairness {fair.name}", fair.verdict, f"{number(fair.value, 3)}{interval}", fair.message))
    for seg in results.segments:
        if seg.verdict is Verdict.FAILED:  # the rest: the Segments section
            failed = "; ".join(
                [m.reason for m in seg.metrics if m.status is Verdict.FAILED]
                + [m.estimated.reason for m in seg.metrics if m.estimated and m.estimated.status is Verdict.FAILED]
            )
            rows.append((f"segment {seg.column}={seg.value}", seg.verdict, f"{number(seg.labeled_rows)} rows", failed))
    shown = {m.check for m in results.metrics} | {c.check for c in results.concept_drift}
    shown |= {r.check for r in results.quality_rules} | {f.check for f in results.fairness}
    shown |= {m.check for m in results.drift.multivariate} if results.drift is not None else set()
    for error in results.errors:
        if error.check not in shown:  # a check in Error has its own row, which says why
            rows.append((f"error in {error.check}", "Error", "", error.message))
    body = [
        tag("tr", tag("td", name), tag("td", badge(status)), tag("td", value, class_="num"), tag("td", reason))
        for name, status, value, reason in rows
    ]
    head = tag("tr", tag("th", "Check"), tag("th", "Status"), tag("th", "Value", class_="num"), tag("th", "Reason"))
    return tag("table", tag("thead", head), tag("tbody", body), class_="checks")


def _markers(checks: list[ConceptDriftResult]) -> list[Marker]:
    markers = []
    for check in checks:
        for moment, what in ((check.drift_started_at, "start"), (check.detected_at, "detected")):
            if (at := epoch(moment)) is not None:
                markers.append(Marker(at, f"{check.method} {what}"))
    return markers


def _estimate(metric: MetricResult, estimated: EstimatedMetric | None) -> Estimate | None:
    if estimated is None or (value := _finite(estimated.value)) is None:
        return None
    label = (
        f"estimated {metric.name} on {estimated.rows:,} unlabeled rows: {number(estimated.value)} "
        f"[{number(estimated.lower)}, {number(estimated.upper)}]"
    )
    return Estimate(value, _finite(estimated.lower), _finite(estimated.upper), label)


def _metric_chart(results: Results, metric: MetricResult) -> Markup:
    series = metric.series
    points_data = series.points if series is not None else []
    bucket = series.bucket_seconds if series is not None else 0
    end = epoch(results.window.end) or 0.0
    start = epoch(results.window.start) or (epoch(points_data[0].start) if points_data else end - 1)
    points = [
        TimePoint(
            (epoch(p.start) or 0.0) + bucket / 2,
            _finite(p.value),
            _finite(p.lower),
            _finite(p.upper),
            p.rows,
            f"{metric.name} from {p.start}",
        )
        for p in points_data
    ]
    thresholds = threshold_lines({"min": metric.min, "max": metric.max})
    estimate = _estimate(metric, metric.estimated)
    title = f"{metric.name} over time"
    markers = _markers(results.concept_drift)
    chart = time_chart(
        points, start=start, end=end, title=title, thresholds=thresholds, markers=markers, estimate=estimate
    )
    caption = f"{metric.name} {number(metric.value)} over {number(metric.samples)} labeled rows · {_bounds(metric)}"
    if bucket and series is not None:
        confidence = series.confidence if series.confidence and not math.isnan(series.confidence) else 0.95
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
                    tag("td", p.start),
                    tag("td", number(p.rows), class_="num"),
                    tag("td", number(p.value), class_="num"),
                    tag("td", f"[{number(p.lower)}, {number(p.upper)}]", class_="num"),
                )
                for p in points_data
            ],
        ),
    )
    return tag(
        "figure",
        tag("h3", metric.name, " ", badge(metric.status)),
        chart if points_data or estimate else tag("p", "no time column: one value for the window", class_="muted"),
        tag("figcaption", caption, class_="muted small"),
        values if points_data else None,
        class_="metric",
        data_metric=metric.name,
        style="margin: 0",
    )


def _severity(feature: FeatureDriftResult) -> tuple[int, int, float, float]:
    p_value = feature.p_value if feature.adjusted_p_value is None else feature.adjusted_p_value
    return (
        STATUS_RANK.get(feature.status, 4),
        0 if feature.drifted else 1,
        1.0 if _finite(p_value) is None else p_value,
        -(_finite(feature.effect_size) or _finite(feature.statistic) or 0.0),
    )


def _finite(value: float | None) -> float | None:
    """A value to draw or sort by: None for none, NaN or an infinity (as the stored document holds them)."""
    return None if value is None or not math.isfinite(value) else value


def distribution_chart(feature: FeatureDriftResult) -> Markup | None:
    name = feature.feature
    if (hist := feature.histogram) is not None:
        return histogram_chart(
            hist.edges,
            hist.reference,
            hist.current,
            hist.reference_outside,
            hist.current_outside,
            title=f"{name}: reference (grey) and current (blue) distributions",
        )
    if (counts := feature.categories) is not None:
        return category_chart(
            counts.categories,
            counts.reference,
            counts.current,
            (counts.reference_other, counts.current_other),
            counts.new,
            title=f"{name}: reference (grey) and current (blue) category shares",
        )
    return None


def _approximate(feature: FeatureDriftResult) -> str:
    if not feature.approximate:
        return "no"
    return f"yes (±{number(feature.approximation_error, 2)})"


def feature_table(features: list[FeatureDriftResult]) -> Markup:
    head = tag(
        "tr",
        [tag("th", label) for label in ("Feature", "Status", "Kind", "Method")],
        [tag("th", label, class_="num") for label in ("Statistic", "p-value", "Adjusted p", "Effect", "Approximate")],
        tag("th", "Reference and current"),
    )
    rows = [
        tag(
            "tr",
            tag("td", tag("b", f.feature, class_="feature-name"), tag("div", f.reason, class_="muted small")),
            tag("td", badge(f.status), " ", tag("span", "drifted" if f.drifted else "", class_="small")),
            tag("td", f.kind or "—"),
            tag("td", f.method or "—"),
            tag("td", number(f.statistic), class_="num"),
            tag("td", number(f.p_value, 3), class_="num"),
            tag("td", number(f.adjusted_p_value, 3), class_="num"),
            tag("td", number(f.effect_size, 3), class_="num"),
            tag("td", _approximate(f), class_="num"),
            tag("td", distribution_chart(f)),
            data_feature=f.feature,
            data_status=f.status,
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
    window = results.window
    parts = [
        summary(
            summary_item("verdict", badge(results.verdict, large=True)),
            summary_item("rows in the window", number(window.rows)),
            summary_item("labeled rows", number(window.labeled_rows)),
            summary_item("label coverage", percent(results.label_coverage)),
            summary_item("reference rows", number(results.reference_rows)),
        ),
        section("Checks", checks_table(results), id_="checks"),
    ]
    if results.metrics:
        charts = tag("div", [_metric_chart(results, m) for m in results.metrics], class_="charts")
        parts.append(section("Performance over time", charts, id_="performance"))
    if (drift := results.drift) is not None:
        drifted = sum(1 for f in drift.features if f.drifted)
        lead = tag(
            "p",
            f"{drifted} of {len(drift.features)} features drifted ({_share(drift.drifted_share)}); the dataset drifts "
            f"when at least {_share(drift.dataset_drift_share)} do. Multiple-testing correction: "
            f"{drift.correction}. Sorted by severity.",
        )
        parts.append(section("Data drift", lead, _LEGEND, feature_table(drift.features), id_="drift"))
        targets = [t for t in (drift.prediction, drift.label) if t is not None]
        if targets:
            parts.append(section("Prediction and label drift", feature_table(targets), id_="targets"))
    if results.segments:
        parts.append(section("Segments", beyond_drift.segments(results), id_="segments"))
    if results.attribution:
        parts.append(section("What explains the loss", beyond_drift.attribution(results), id_="attribution"))
    if results.fairness:
        parts.append(section("Fairness", beyond_drift.fairness(results), id_="fairness"))
    parts.append(section("Data quality", _quality(results), id_="quality"))
    if (estimation := results.performance_estimation) is not None:
        parts.append(section("Performance estimation", _estimation(estimation), id_="estimation"))
    parts.append(section("Window and data", _window(results), id_="window"))
    if results.spec:
        text = yaml.safe_dump(redact_spec(results.spec), sort_keys=False, allow_unicode=True)
        parts.append(section("The spec that produced it", tag("pre", text), id_="spec"))
    return join(*parts)


def _quality(results: Results) -> Markup:
    findings = results.data_quality
    if not findings:
        return tag("p", "No findings.", class_="muted")
    head = tag("tr", tag("th", "Finding"), tag("th", "Column"), tag("th", "Message"))
    rows = [tag("tr", tag("td", f.kind), tag("td", f.column), tag("td", f.message)) for f in findings]
    return tag("table", head, rows, class_="quality")


def _estimation(estimation: PerformanceEstimation) -> Markup:
    facts = [
        ("method", estimation.method),
        ("status", badge(estimation.status)),
        ("reason", estimation.reason),
        ("unlabeled rows", number(estimation.unlabeled_rows)),
        ("calibration error (calibrated scores)", number(estimation.calibration_error, 3)),
        ("calibration error (the model's scores)", number(estimation.raw_calibration_error, 3)),
    ]
    return tag("table", [tag("tr", tag("th", name), tag("td", value)) for name, value in facts])


def _window(results: Results) -> Markup:
    window = results.window
    facts = [
        ("evaluated at", results.evaluated_at),
        ("window", f"{window.start or 'everything'} to {window.end}"),
        ("rows", number(window.rows)),
        ("labeled rows", number(window.labeled_rows)),
        ("label coverage", percent(results.label_coverage)),
        ("reference rows", number(results.reference_rows)),
        ("model", f"{results.model} version {results.model_version or '—'}"),
    ]
    return tag("table", [tag("tr", tag("th", name), tag("td", value)) for name, value in facts])


def heading(results: Results, *, name: str | None = None) -> Markup:
    monitor = name or results.monitor or "ModelMonitor"
    version = f" version {results.model_version}" if results.model_version else ""
    return join(
        tag("h1", monitor, " ", badge(results.verdict, large=True)),
        tag("p", f"model {results.model}{version} · evaluated at {results.evaluated_at}", class_="muted"),
    )


def render_report(results: Results, *, name: str | None = None) -> str:
    """A self-contained HTML report of one run's results."""
    title = f"{name or results.monitor or 'ModelMonitor'}: {results.verdict}"
    return document(title, heading(results, name=name), run_sections(results))
