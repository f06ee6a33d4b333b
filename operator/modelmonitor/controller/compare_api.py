"""Two versions of a monitor compared over HTTP, for teams that already run Argo Rollouts or Flagger.

``GET /api/v1/compare/NAMESPACE/MONITOR?baseline=7&candidate=8`` answers 200 with the verdict in
JSON (Argo Rollouts' web provider judges it with ``successCondition``).
``GET /api/v1/gate/NAMESPACE/MONITOR?...`` answers the same JSON, with 200 only when the candidate
passes and 412 otherwise (Flagger's webhooks pass on 2xx).

Query parameters: ``baseline``, ``candidate`` (required: modelVersion values), ``metric``
(accuracy), ``margin`` (0.01), ``guardrails`` (``rocAuc:0.02,f1:0.01``), ``fairness`` (guardrails
on the monitor's spec.fairness: ``statisticalParityDifference:0.02``), ``alpha`` (0.05),
``minSamples`` (500), ``window`` (rows logged in the last 1h; or ``since``, RFC 3339), and
``weights`` (``90,10``: the split set, to check the sample ratio), and ``paired`` (``true``: the
candidate answers mirrored copies of the baseline's requests, compared pair by pair by
``data.columns.requestId``, as a ModelRollout's shadow step is).

``estimated=true`` also compares the metric CBPE expects on every row served, labelled or not,
as ``analysis.estimated`` does: each version calibrated on its validation data
(``candidateReference``, required, and ``baselineReference``, default the monitor's
``data.reference``: URIs, in ``referenceFormat``, parquet by default). A trusted estimate that the
candidate is worse fails it before the labels; one that it is non-inferior passes it only with
``promoteOn=estimated`` (else it stays Inconclusive until the labels agree).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from pydantic import ValidationError

from modelmonitor.api.data import DataSource
from modelmonitor.api.fairness import FairnessMetricName
from modelmonitor.api.metrics import MetricName
from modelmonitor.controller.offload import CheckProcessDied
from modelmonitor.controller.rollouts.comparing import compare as compare_versions
from modelmonitor.controller.rollouts.comparing import concept_drift
from modelmonitor.controller.rollouts.policy import Action, judge
from modelmonitor.controller.runtime import STATE, accept, api, credentials, now
from modelmonitor.durations import parse_duration
from modelmonitor.errors import DataError, SpecError
from modelmonitor.times import iso, parse_iso

Named = TypeVar("Named", MetricName, FairnessMetricName)
VERDICTS = {Action.PROMOTE: "Pass", Action.ROLLBACK: "Fail", Action.WAIT: "Inconclusive"}


class BadRequest(ValueError):
    """A query parameter is missing or malformed; the message names it."""


def _metric(value: str, where: str, names: Callable[[str], Named] = MetricName) -> Named:  # type: ignore[assignment]
    try:
        return names(value)
    except ValueError:
        raise BadRequest(f"{where}: unknown metric {value!r}") from None


def _margins(query: Any, key: str, names: Callable[[str], Named]) -> dict[Named, float]:
    """``metric:margin`` pairs, comma-separated (a margin left out is 0)."""
    margins = {}
    for item in filter(None, query.get(key, "").split(",")):
        name, _, margin = item.partition(":")
        metric = _metric(name, key, names)  # its own message: BadRequest is a ValueError too
        try:
            margins[metric] = float(margin or 0)
        except ValueError:
            raise BadRequest(f"{key}: expected metric:margin, got {item!r}") from None
    return margins


def _number(query: Any, key: str, default: float) -> float:
    try:
        return float(query.get(key, default))
    except ValueError:
        raise BadRequest(f"{key}: expected a number, got {query[key]!r}") from None


def _since(query: Any, moment: datetime) -> datetime:
    if "since" in query:
        try:
            return parse_iso(query["since"])
        except ValueError:
            raise BadRequest(f"since: expected an RFC 3339 time, got {query['since']!r}") from None
    try:
        return moment - parse_duration(query.get("window", "1h"))
    except ValueError as error:
        raise BadRequest(f"window: {error}") from None


def _request(query: Any) -> dict[str, Any]:
    missing = [key for key in ("baseline", "candidate") if not query.get(key)]
    if missing:
        raise BadRequest(f"{' and '.join(missing)}: required (the modelVersion values to compare)")
    weights = None
    if query.get("weights"):
        try:
            base, cand = (int(part) for part in query["weights"].split(","))
        except ValueError:
            raise BadRequest(f"weights: expected baseline,candidate percents, got {query['weights']!r}") from None
        weights = {"baseline": base, "candidate": cand}
    moment = now()
    return {
        "versions": {"baseline": query["baseline"], "candidate": query["candidate"]},
        "metric": _metric(query.get("metric", "accuracy"), "metric"),
        "margin": _number(query, "margin", 0.01),
        "guardrails": _margins(query, "guardrails", MetricName),
        "fairness": _margins(query, "fairness", FairnessMetricName),
        "alpha": _number(query, "alpha", 0.05),
        "min_samples": int(_number(query, "minSamples", 500)),
        "since": _since(query, moment),
        "until": moment,
        "weights": weights,
        "paired": _flag(query, "paired"),
        "estimated": _flag(query, "estimated"),
        "references": {arm: _reference(query, f"{arm}Reference") for arm in ("baseline", "candidate")},
        "pass_on_estimates": _choice(query, "promoteOn", ("labels", "estimated")) == "estimated",
    }


def _reference(query: Any, key: str) -> DataSource | None:
    if not query.get(key):
        return None
    try:
        return DataSource.model_validate({"uri": query[key], "format": query.get("referenceFormat", "parquet")})
    except ValidationError as error:
        raise BadRequest(f"{key}: {error.errors()[0]['msg']}") from None


def _choice(query: Any, key: str, choices: tuple[str, ...]) -> str:
    value = query.get(key, choices[0])
    if value not in choices:
        raise BadRequest(f"{key}: expected {' or '.join(choices)}, got {value!r}")
    return value


def _flag(query: Any, key: str) -> bool:
    value = query.get(key, "false")
    if value not in ("true", "false"):
        raise BadRequest(f"{key}: expected true or false, got {value!r}")
    return value == "true"


async def _answer(request: web.Request) -> tuple[int, dict[str, Any]]:
    namespace, name = request.match_info["namespace"], request.match_info["monitor"]
    try:
        asked = _request(request.query)
    except BadRequest as error:
        return 400, {"error": str(error)}
    monitor = await api(STATE.kube.get_monitor, namespace, name)
    if monitor is None:
        return 404, {"error": f"ModelMonitor {namespace}/{name} not found"}
    try:
        spec = accept(monitor)
        env = await credentials(spec, namespace)  # the monitor's data is read with its Secret's keys
        arguments = {
            "versions": asked["versions"],
            "metric": asked["metric"],
            "guardrails": list(asked["guardrails"]),
            "fairness_guardrails": list(asked["fairness"]),
            "alpha": asked["alpha"],
            "min_samples_per_arm": asked["min_samples"],
            "since": asked["since"],
            "until": asked["until"],
            "weights": asked["weights"],
            "weights_since": asked["since"],
            "paired": asked["paired"],
            "estimated": asked["estimated"],
            "references": asked["references"],
            "env": env,
        }
        margins = {**asked["guardrails"], **asked["fairness"]}
        guardrail_margins = {str(metric): margin for metric, margin in margins.items()}
        comparison, evidence = await STATE.checks.call(
            compare_versions, spec, arguments, asked["margin"], guardrail_margins
        )
    except SpecError as error:
        return 422, {"error": str(error)}
    except DataError as error:
        return 503, {"error": f"the monitor's data cannot be read: {error}"}
    except CheckProcessDied as error:
        return 503, {"error": str(error)}
    if asked["estimated"] and (drifted := concept_drift(monitor)):
        evidence = replace(evidence, unreliable="; ".join(part for part in (evidence.unreliable, drifted) if part))
    verdict = judge(evidence, asked["min_samples"], pass_on_estimates=asked["pass_on_estimates"])
    primary = comparison["primary"]
    return 200, {
        "verdict": VERDICTS[verdict.action],
        "reason": verdict.reason,
        "message": verdict.message,
        **({"decidedBy": verdict.decided_by} if verdict.decided_by else {}),
        "difference": primary.get("difference"),
        "interval": primary.get("interval"),
        "margin": asked["margin"],
        "evaluatedAt": iso(asked["until"]),
        "comparison": comparison,
    }


async def compare(request: web.Request) -> web.Response:
    status, document = await _answer(request)
    return web.json_response(document, status=status)


async def gate(request: web.Request) -> web.Response:
    status, document = await _answer(request)
    if status == 200 and document["verdict"] != "Pass":
        status = 412
    return web.json_response(document, status=status)


ROUTES = (
    ("/api/v1/compare/{namespace}/{monitor}", compare),
    ("/api/v1/gate/{namespace}/{monitor}", gate),
)
