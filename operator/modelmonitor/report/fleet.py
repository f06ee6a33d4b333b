"""The web view's pages: every monitor at a glance, one monitor's history, one run.

They render plain summaries (see ``controller.webview`` for how they are made from the
cluster's objects); the JSON twins serve the same summaries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from modelmonitor.api.results import Results
from modelmonitor.report.markup import Markup, join, number, percent, tag
from modelmonitor.report.page import document, section
from modelmonitor.report.run import epoch, heading, run_sections, threshold_lines
from modelmonitor.report.style import badge
from modelmonitor.report.svg import Marker, TimePoint, time_chart

Summary = Mapping[str, Any]

HEALTH_RANK = {"Error": 0, "Invalid": 0, "Degraded": 1, "Inconclusive": 2, "Pending": 3, "Suspended": 4, "Healthy": 5}
SORT_KEYS = {
    "name": lambda m: (m["namespace"], m["name"]),
    "health": lambda m: HEALTH_RANK.get(m["health"], 9),
    "model": lambda m: (m.get("model") or "", m.get("modelVersion") or ""),
    "drift": lambda m: m.get("driftedShare"),
    "lastRun": lambda m: m.get("lastRunAt"),
    "nextRun": lambda m: m.get("nextRunAt"),
}


def monitor_path(namespace: str, name: str) -> str:
    return f"/monitors/{quote(namespace, safe='')}/{quote(name, safe='')}"


def sort_monitors(monitors: Sequence[Summary], key: str, descending: bool) -> list[Summary]:
    """Sorted by a column; monitors without a value for it come last either way."""
    if key not in SORT_KEYS:
        raise ValueError(f"sort by one of {', '.join(SORT_KEYS)}, not {key!r}")
    value = SORT_KEYS[key]
    present = [m for m in monitors if value(m) is not None]
    missing = sorted((m for m in monitors if value(m) is None), key=SORT_KEYS["name"])
    return sorted(present, key=lambda m: (value(m), SORT_KEYS["name"](m)), reverse=descending) + missing


def _nav(*links: tuple[str, str]) -> Markup:
    return tag("nav", [tag("a", label, href=href) for label, href in links])


def monitor_list_page(monitors: Sequence[Summary], *, sort: str = "name", descending: bool = False) -> str:
    ordered = sort_monitors(monitors, sort, descending)
    counts: dict[str, int] = {}
    for monitor in monitors:
        counts[monitor["health"]] = counts.get(monitor["health"], 0) + 1
    columns = [("name", "Monitor"), ("model", "Model"), ("health", "Health"), ("drift", "Drift share")]
    columns += [("", "Metrics"), ("lastRun", "Last run"), ("nextRun", "Next run")]

    def header(key: str, label: str) -> Markup:
        if not key:
            return tag("th", label)
        flip = key == sort and not descending
        arrow = (" ▼" if descending else " ▲") if key == sort else ""
        href = "/?" + urlencode({"sort": key, "order": "desc" if flip else "asc"})
        return tag("th", tag("a", label + arrow, href=href), aria_sort=_aria(key, sort, descending))

    rows = [
        tag(
            "tr",
            tag("td", tag("a", f"{m['namespace']}/{m['name']}", href=monitor_path(m["namespace"], m["name"]))),
            tag("td", m.get("model") or "—", f" v{version}" if (version := m.get("modelVersion")) else ""),
            tag("td", badge(m["health"]), tag("div", m.get("message") or "", class_="muted small")),
            tag("td", percent(m.get("driftedShare")), class_="num"),
            tag("td", ", ".join(f"{k} {number(v)}" for k, v in (m.get("metrics") or {}).items()) or "—"),
            tag("td", m.get("lastRunAt") or "—"),
            tag("td", m.get("nextRunAt") or "—"),
            data_monitor=f"{m['namespace']}/{m['name']}",
            data_health=m["health"],
        )
        for m in ordered
    ]
    tally = ", ".join(f"{count} {health.lower()}" for health, count in sorted(counts.items()))
    body = join(
        _nav(("JSON", "/api/monitors"), ("metrics", "/metrics")),
        tag("h1", "Model monitors"),
        tag("p", f"{len(monitors)} monitors" + (f": {tally}" if tally else ""), class_="muted"),
        tag(
            "table",
            tag("thead", tag("tr", [header(key, label) for key, label in columns])),
            tag("tbody", rows),
            class_="monitors",
        ),
    )
    return document("Model monitors", body)


def _aria(key: str, sort: str, descending: bool) -> str | None:
    if key != sort:
        return None
    return "descending" if descending else "ascending"


def history_charts(monitor: Summary, runs: Sequence[Summary]) -> Markup:
    """Each metric and the drift share over the kept runs, thresholds drawn in, retraining marked."""
    timed = [(epoch(r.get("windowEnd") or r.get("evaluateAt")), r) for r in runs]
    timed = sorted(((at, r) for at, r in timed if at is not None), key=lambda pair: pair[0])  # runs may tie
    if not timed:
        return tag("p", "No finished runs yet.", class_="muted")
    start, end = timed[0][0], timed[-1][0]
    pad = max((end - start) * 0.05, 60.0)
    markers = [Marker(at, "retraining") for at in (epoch(t) for t in monitor.get("retrainingStarts") or []) if at]

    def figure(heading: str, points: list[TimePoint], thresholds: list[tuple[str, float]]) -> Markup:
        chart = time_chart(
            points,
            start=start - pad,
            end=end + pad,
            title=f"{heading} over the kept runs",
            thresholds=thresholds,
            markers=markers,
        )
        return tag("figure", tag("h3", heading), chart, style="margin: 0")

    charts = []
    for name in dict.fromkeys(name for _, r in timed for name in r.get("metrics") or {}):
        points = [
            TimePoint(at, r["metrics"][name], label=f"{r['name']} ({r.get('verdict')})")
            for at, r in timed
            if (r.get("metrics") or {}).get(name) is not None
        ]
        charts.append(figure(name, points, threshold_lines((monitor.get("thresholds") or {}).get(name) or {})))
    drift = [TimePoint(at, share, label=r["name"]) for at, r in timed if (share := r.get("driftedShare")) is not None]
    if drift:
        share = monitor.get("datasetDriftShare")
        lines = [("dataset drift", share)] if share is not None else []
        charts.append(figure("drifted share of features", drift, lines))
    return tag("div", charts, class_="charts")


def runs_table(monitor: Summary, runs: Sequence[Summary]) -> Markup:
    base = monitor_path(monitor["namespace"], monitor["name"])
    head = tag("tr", [tag("th", label) for label in ("Run", "Trigger", "Evaluated at", "Phase", "Verdict", "Summary")])
    rows = [
        tag(
            "tr",
            tag("td", tag("a", r["name"], href=f"{base}/runs/{quote(r['name'], safe='')}")),
            tag("td", r.get("trigger") or "—"),
            tag("td", r.get("evaluateAt") or "—"),
            tag("td", r.get("phase") or "Pending"),
            tag("td", badge(r["verdict"]) if r.get("verdict") else "—"),
            tag("td", r.get("summary") or r.get("message") or ""),
            data_run=r["name"],
        )
        for r in sorted(runs, key=lambda r: r.get("evaluateAt") or "", reverse=True)
    ]
    return tag("table", tag("thead", head), tag("tbody", rows), class_="runs")


def monitor_page(monitor: Summary, runs: Sequence[Summary], latest: tuple[str, Results] | None) -> str:
    """A monitor's page: its history, its runs, and the latest run's results (the run's name and results)."""
    name = f"{monitor['namespace']}/{monitor['name']}"
    api = "/api" + monitor_path(monitor["namespace"], monitor["name"])
    parts = [
        _nav(("all monitors", "/"), ("JSON", api)),
        tag("h1", name, " ", badge(monitor["health"], large=True)),
        tag("p", monitor.get("message") or "", class_="muted"),
        tag(
            "p",
            f"model {monitor.get('model')}"
            + (f" version {version}" if (version := monitor.get("modelVersion")) else ""),
            f" · last run {monitor.get('lastRunAt') or '—'} · next run {monitor.get('nextRunAt') or '—'}",
            class_="muted",
        ),
        section("History", history_charts(monitor, runs), id_="history"),
        section("Runs", runs_table(monitor, runs), id_="runs"),
    ]
    if latest is not None:
        run, results = latest
        parts.append(tag("section", tag("h2", "Latest run: ", run), run_sections(results), id="latest"))
    return document(f"{name}: {monitor['health']}", *parts)


def run_page(monitor: Summary, run: str, results: Results | None, status: Mapping[str, Any]) -> str:
    base = monitor_path(monitor["namespace"], monitor["name"])
    nav = _nav(
        ("all monitors", "/"),
        (f"{monitor['namespace']}/{monitor['name']}", base),
        ("JSON", f"/api{base}/runs/{quote(run, safe='')}"),
    )
    if results is None:
        phase = status.get("phase") or "Pending"
        body = tag("p", f"{phase}: {status.get('reason') or ''} {status.get('message') or ''}".strip())
        return document(f"{run}: {phase}", nav, tag("h1", run), body)
    return document(f"{run}: {results.verdict}", nav, heading(results, name=run), run_sections(results))
