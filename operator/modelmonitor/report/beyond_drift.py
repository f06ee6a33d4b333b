"""The report's sections for the checks beyond per-feature drift (docs/checks.md): segments, what explains a
loss, and fairness. The run page (``report.run``) places them."""

from __future__ import annotations

from modelmonitor.api.results import MetricResult, Results
from modelmonitor.api.verdict import Verdict
from modelmonitor.report.markup import Markup, join, number, tag
from modelmonitor.report.style import badge


def segments(results: Results) -> Markup:
    """Each segment's metrics, the worst segments first (the results' order)."""
    names = [metric.name for metric in results.metrics]
    head = tag("tr", [tag("th", name) for name in ("Segment", "Status", "Rows", "Labeled", *names, "Drifted")])
    rows = [
        tag(
            "tr",
            tag("td", f"{seg.column}={seg.value}" + (" (the rest, pooled)" if seg.pooled else "")),
            tag("td", badge(seg.verdict)),
            tag("td", number(seg.rows), class_="num"),
            tag("td", number(seg.labeled_rows), class_="num"),
            [_segment_metric(metric) for metric in seg.metrics],
            tag("td", ", ".join(seg.drifted_features) or "—", title=seg.drift_reason),
        )
        for seg in results.segments
    ]
    lead = tag(
        "p",
        "A segment fails a threshold when a one-sided test confirms it after Benjamini-Hochberg, on its labelled "
        "rows or, estimated (est.), on its rows without labels; it drifts when its features drifted against the "
        "same segment's reference rows as a dataset drifts.",
    )
    return join(lead, tag("table", head, rows, class_="segments"))


def _segment_metric(metric: MetricResult) -> Markup:
    """A segment's metric as measured on its labelled rows and, with CBPE, as estimated on the rest."""
    estimated = metric.estimated
    if estimated is None:
        return tag("td", number(metric.value), title=metric.reason, class_="num")
    said = f"{number(metric.value)} · est. {number(estimated.value)}"
    if estimated.status is Verdict.FAILED:
        said = tag("strong", said)
    return tag("td", said, title=f"{metric.reason}; {estimated.reason}", class_="num")


def fairness(results: Results) -> Markup:
    """Each metric with the two groups' rates it compares: the unprivileged group's rate beside the privileged's."""
    names = ("Metric", "Status", "Value", "Interval", "Unprivileged rate", "Privileged rate", "Rows (unpriv. / priv.)")
    head = tag("tr", [tag("th", name) for name in names])
    rows = [
        tag(
            "tr",
            tag("td", fair.name),
            tag("td", badge(fair.verdict)),
            tag("td", number(fair.value, 3), class_="num"),
            tag("td", f"[{number(fair.lower, 3)}, {number(fair.upper, 3)}]", class_="num"),
            tag("td", number(fair.unprivileged_rate, 3), class_="num"),
            tag("td", number(fair.privileged_rate, 3), class_="num"),
            tag("td", f"{number(fair.unprivileged_rows)} / {number(fair.privileged_rows)}", class_="num"),
        )
        for fair in results.fairness
    ]
    return tag("table", head, rows, class_="fairness")


def attribution(results: Results) -> Markup:
    """Each drifted feature against each lost metric: the metric as measured, reweighted, and the difference."""
    lead = tag(
        "p",
        "The window's labelled rows reweighted so that one drifted feature is distributed as in the reference: "
        "the metric recovers by what that feature's drift explains. Largest first.",
    )
    names = ("Metric", "Feature", "Explained", "Value", "Reweighted")
    head = tag("tr", [tag("th", name) for name in names])
    rows = [
        tag(
            "tr",
            tag("td", item.metric),
            tag("td", item.feature),
            tag("td", number(item.explained_drop, 3), class_="num"),
            tag("td", number(item.value, 4), class_="num"),
            tag("td", number(item.weighted_value, 4), class_="num"),
        )
        for item in results.attribution
    ]
    return join(lead, tag("table", head, rows, class_="attribution"))
