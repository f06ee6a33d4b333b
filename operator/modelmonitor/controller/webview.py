"""The read-only web view on the operator's HTTP port: pages and their JSON twins.

It shows only what the operator watches: the monitor list comes from a kopf index kept
by the operator's own watch (no API call per request, so 1,000 monitors list at once),
and a monitor's runs are listed with the operator's own credentials in a namespace it
watches.  Nothing here writes, and no Secret is ever read.
"""

from __future__ import annotations

import asyncio
from typing import Any

import kopf
from aiohttp import web

from modelmonitor.api.documents import DocumentError
from modelmonitor.api.drift import DriftSpec
from modelmonitor.api.results import Results
from modelmonitor.controller.records import last_run_summary, run_order, run_results
from modelmonitor.controller.runners.evaluation import TERMINAL_PHASES
from modelmonitor.controller.runtime import MM, STATE, api
from modelmonitor.report.fleet import SORT_KEYS, monitor_list_page, monitor_page, run_page, sort_monitors
from modelmonitor.report.page import CONTENT_SECURITY_POLICY

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_DEFAULT_DRIFT_SHARE = DriftSpec.model_fields["dataset_drift_share"].default


class _Views:
    index: kopf.Index | None = None


VIEWS = _Views()


def health(conditions: dict[str, dict[str, Any]], *, suspended: bool) -> str:
    ready, healthy = conditions.get("Ready") or {}, conditions.get("Healthy")
    if ready.get("status") == "False" and ready.get("reason") == "InvalidSpec":
        return "Invalid"
    if suspended:
        return "Suspended"
    if not healthy:
        return "Pending"
    if healthy.get("status") == "True":
        return "Healthy"
    if healthy.get("reason") == "RunError":
        return "Error"
    return "Inconclusive" if healthy.get("status") == "Unknown" else "Degraded"


def monitor_summary(body: dict[str, Any]) -> dict[str, Any]:
    """What the list and the history need of a ModelMonitor: no credentials, no data URIs."""
    meta, spec, status = body["metadata"], body.get("spec") or {}, body.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    state = health(conditions, suspended=bool(spec.get("suspend")))
    shown = conditions.get("Ready" if state in ("Invalid", "Suspended", "Pending") else "Healthy") or {}
    last, retraining = status.get("lastRun") or {}, status.get("retraining") or {}
    starts = [item.get("startedAt") for item in retraining.get("active") or []]
    starts.append((retraining.get("last") or {}).get("startedAt"))
    drift = spec.get("drift")
    model = spec.get("model") or {}
    return {
        "namespace": meta["namespace"],
        "name": meta["name"],
        "model": model.get("name"),
        "modelVersion": model.get("version"),
        "health": state,
        "message": shown.get("message", ""),
        "verdict": last.get("verdict"),
        "driftedShare": last.get("driftedShare"),
        "metrics": last.get("metrics") or {},
        "lastRun": last.get("name"),
        "lastRunAt": last.get("completedAt"),
        "nextRunAt": status.get("nextRunAt"),
        "thresholds": {
            m["name"]: {"min": m.get("min"), "max": m.get("max")} for m in spec.get("metrics") or [] if "name" in m
        },
        "datasetDriftShare": drift.get("datasetDriftShare", _DEFAULT_DRIFT_SHARE) if drift else None,
        "retrainingStarts": [start for start in starts if start],
    }


@kopf.index(*MM)
def monitor_views(namespace: str, name: str, body: kopf.Body, **_: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Each watched monitor's summary, as the watch last saw it."""
    return {(namespace, name): monitor_summary(dict(body))}


@kopf.on.startup()
async def remember_views(monitor_views: kopf.Index, **_: Any) -> None:
    VIEWS.index = monitor_views  # a live view: the watch keeps it current


def _monitors() -> list[dict[str, Any]]:
    if VIEWS.index is None:
        return []
    return [summary for key in list(VIEWS.index) for summary in list(VIEWS.index.get(key, ()))]


def _monitor(namespace: str, name: str) -> dict[str, Any]:
    found = list(VIEWS.index.get((namespace, name), ())) if VIEWS.index is not None else []
    if not found:
        raise web.HTTPNotFound(text=f"no ModelMonitor {namespace}/{name} among the monitors this operator watches")
    return found[0]


def run_summary(run: dict[str, Any]) -> dict[str, Any]:
    try:
        results = run_results(run)
    except DocumentError:
        results = None  # recording the run said why; the history shows it as an error
    summary = last_run_summary(run, 0, results)
    if summary["phase"] not in TERMINAL_PHASES:
        summary["verdict"] = None  # not judged yet
    summary.pop("generation", None)
    return summary


async def _runs(namespace: str, name: str) -> list[dict[str, Any]]:
    runs = await api(STATE.kube.list_runs, namespace, name)
    return [run for run in runs if run["spec"].get("monitor") == name]


def _latest(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest run that stored results: its name and its results as stored (the JSON twin's ``latest``)."""
    finished = [r for r in runs if (r.get("status") or {}).get("results")]
    if not finished:
        return None
    newest = max(finished, key=run_order)
    return {"run": newest["metadata"]["name"], **newest["status"]["results"]}


def _readable(document: dict[str, Any] | None) -> Results | None:
    """Results to show from a stored document; None for one that cannot be read (its run's record says why)."""
    try:
        return Results.from_document(document) if document else None
    except DocumentError:
        return None


def _html(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html", charset="utf-8", headers=HEADERS)


def _json(value: Any) -> web.Response:
    return web.json_response(value, headers={k: v for k, v in HEADERS.items() if k != "Content-Security-Policy"})


def _sorting(request: web.Request) -> tuple[str, bool]:
    sort, order = request.query.get("sort", "name"), request.query.get("order", "asc")
    if sort not in SORT_KEYS or order not in ("asc", "desc"):
        raise web.HTTPBadRequest(text=f"sort is one of {', '.join(SORT_KEYS)}; order is asc or desc")
    return sort, order == "desc"


async def list_page(request: web.Request) -> web.Response:
    sort, descending = _sorting(request)
    return _html(await asyncio.to_thread(monitor_list_page, _monitors(), sort=sort, descending=descending))


async def list_json(request: web.Request) -> web.Response:
    sort, descending = _sorting(request)
    return _json({"monitors": sort_monitors(_monitors(), sort, descending)})


async def _monitor_data(request: web.Request) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]:
    namespace, name = request.match_info["namespace"], request.match_info["name"]
    monitor = _monitor(namespace, name)
    runs = await _runs(namespace, name)
    return monitor, runs, _latest(runs)


async def detail_page(request: web.Request) -> web.Response:
    monitor, runs, latest = await _monitor_data(request)
    summaries = [run_summary(run) for run in runs]
    results = _readable(latest)
    shown = (latest["run"], results) if latest is not None and results is not None else None
    return _html(await asyncio.to_thread(monitor_page, monitor, summaries, shown))


async def detail_json(request: web.Request) -> web.Response:
    monitor, runs, latest = await _monitor_data(request)
    return _json({"monitor": monitor, "runs": [run_summary(run) for run in runs], "latest": latest})


async def _run(request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
    namespace, name, run_name = (request.match_info[key] for key in ("namespace", "name", "run"))
    monitor = _monitor(namespace, name)
    run = await api(STATE.kube.get_run, namespace, run_name)
    if run is None or run["spec"].get("monitor") != name:
        raise web.HTTPNotFound(text=f"no MonitorRun {run_name} of {namespace}/{name}")
    return monitor, run


async def run_detail_page(request: web.Request) -> web.Response:
    monitor, run = await _run(request)
    status = run.get("status") or {}
    page = await asyncio.to_thread(run_page, monitor, run["metadata"]["name"], _readable(status.get("results")), status)
    return _html(page)


async def run_detail_json(request: web.Request) -> web.Response:
    monitor, run = await _run(request)
    status = run.get("status") or {}
    return _json({"monitor": monitor, "run": run_summary(run), "results": status.get("results")})


PAGES = (
    ("/", list_page),
    ("/api/monitors", list_json),
    ("/monitors/{namespace}/{name}", detail_page),
    ("/api/monitors/{namespace}/{name}", detail_json),
    ("/monitors/{namespace}/{name}/runs/{run}", run_detail_page),
    ("/api/monitors/{namespace}/{name}/runs/{run}", run_detail_json),
)
