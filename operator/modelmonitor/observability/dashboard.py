"""The Grafana dashboard, built with grafana-foundation-sdk: quality against thresholds, drift, runs, the operator.

Every query filters on the namespace, monitor and model variables, whose "All" value is ``.*``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model

from modelmonitor.observability.alerts import JOB

UID = "modelmonitor-overview"
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
MONITOR = 'namespace=~"$namespace", monitor=~"$monitor", model=~"$model"'
# For series without a model label (runs, retraining): keep those of the selected models' monitors.
OF_MODEL = 'on (namespace, monitor) group_left () modelmonitor_monitor_info{namespace=~"$namespace", model=~"$model"}'
RUN = 'namespace=~"$namespace", monitor=~"$monitor"'
DASHED = [model.DynamicConfigValue(id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]})]


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str
    ref: str = "A"


def _target(query: Query) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(query.expr).legend_format(query.legend).ref_id(query.ref).datasource(DATASOURCE)


def _metrics_against_thresholds() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Metrics against their thresholds")
        .description("Each performance metric of the last run, and (dashed) the min or max its monitor sets.")
        .with_target(_target(Query(f"modelmonitor_metric_value{{{MONITOR}}}", "{{monitor}} {{metric}}")))
        .with_target(
            _target(Query(f"modelmonitor_metric_threshold{{{MONITOR}}}", "{{monitor}} {{metric}} {{bound}}", ref="B"))
        )
        .override_by_query("B", DASHED)
        .span(16)
        .height(9)
    )


def _red_from_one() -> board.ThresholdsConfig:
    """Green at 0, red from 1: breached thresholds, dataset and concept drift."""
    return (
        board.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=None, color="green"), model.Threshold(value=1, color="red")])
    )


def _breached() -> stat.Panel:
    return (
        stat.Panel()
        .title("Thresholds breached")
        .description("Metrics past their threshold in the monitors' last runs.")
        .with_target(_target(Query(f"sum(modelmonitor_threshold_breached{{{MONITOR}}}) or vector(0)", "breached")))
        .thresholds(_red_from_one())
        .span(8)
        .height(9)
    )


def _drifted_share() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Share of drifted features")
        .with_target(_target(Query(f"modelmonitor_drifted_features_share{{{MONITOR}}}", "{{monitor}}")))
        .unit("percentunit")
        .min(0)
        .max(1)
        .span(8)
        .height(8)
    )


def _feature_drift() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Drift statistic per feature")
        .description("The statistic of each feature's drift test (its method in brackets).")
        .with_target(_target(Query(f"modelmonitor_feature_drift{{{MONITOR}}}", "{{monitor}} {{feature}} ({{method}})")))
        .span(16)
        .height(8)
    )


def _drift_states() -> statetimeline.Panel:
    return (
        statetimeline.Panel()
        .title("Dataset and concept drift")
        .with_target(_target(Query(f"modelmonitor_dataset_drift{{{MONITOR}}}", "{{monitor}} dataset")))
        .with_target(
            _target(
                Query(f"modelmonitor_concept_drift_detected{{{MONITOR}}}", "{{monitor}} concept ({{method}})", ref="B")
            )
        )
        .thresholds(_red_from_one())
        .span(24)
        .height(7)
    )


def _runs_by_outcome() -> timeseries.Panel:
    expr = f"sum by (result) (increase(modelmonitor_runs_total{{{RUN}}}[$__rate_interval]) * {OF_MODEL})"
    return timeseries.Panel().title("Runs by outcome").with_target(_target(Query(expr, "{{result}}"))).span(8).height(8)


def _run_duration() -> timeseries.Panel:
    expr = (
        "histogram_quantile(0.95, sum by (le, namespace, monitor) ("
        f"rate(modelmonitor_run_duration_seconds_bucket{{{RUN}}}[$__rate_interval]) * {OF_MODEL}))"
    )
    return (
        timeseries.Panel()
        .title("Run duration, p95")
        .with_target(_target(Query(expr, "{{monitor}}")))
        .unit("s")
        .span(8)
        .height(8)
    )


def _since_success() -> timeseries.Panel:
    expr = f"time() - modelmonitor_last_success_timestamp_seconds{{{RUN}}} * {OF_MODEL}"
    return (
        timeseries.Panel()
        .title("Time since the last successful run")
        .description("A monitor is stale (ModelMonitorStale) past twice its interval.")
        .with_target(_target(Query(expr, "{{monitor}}")))
        .with_target(
            _target(Query(f"2 * modelmonitor_monitor_interval_seconds{{{RUN}}} * {OF_MODEL}", "{{monitor}} stale", "B"))
        )
        .override_by_query("B", DASHED)
        .unit("s")
        .span(8)
        .height(8)
    )


def _retrainings() -> timeseries.Panel:
    finished = f"sum by (outcome) (increase(modelmonitor_retrainings_total{{{RUN}}}[$__rate_interval]) * {OF_MODEL})"
    active = f"sum(modelmonitor_retraining_active{{{RUN}}} * {OF_MODEL})"
    return (
        timeseries.Panel()
        .title("Retrainings")
        .with_target(_target(Query(finished, "{{outcome}}")))
        .with_target(_target(Query(active, "active", "B")))
        .span(12)
        .height(8)
    )


def _operator() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Operator")
        .description("Whether Prometheus scrapes it, its memory and its CPU.")
        .with_target(_target(Query(f'up{{job="{JOB}"}}', "up {{instance}}")))
        .with_target(_target(Query(f'process_resident_memory_bytes{{job="{JOB}"}}', "RSS {{instance}}", "B")))
        .with_target(
            _target(Query(f'rate(process_cpu_seconds_total{{job="{JOB}"}}[$__rate_interval])', "CPU {{instance}}", "C"))
        )
        .span(12)
        .height(8)
    )


def _variable(name: str, query: str) -> board.QueryVariable:
    return (
        board.QueryVariable(name)
        .label(name)
        .query(query)
        .datasource(DATASOURCE)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )


# The variables' queries: label_values over the info series, each narrowed by the ones before.
VARIABLES = {
    "namespace": "label_values(modelmonitor_monitor_info, namespace)",
    "monitor": 'label_values(modelmonitor_monitor_info{namespace=~"$namespace"}, monitor)',
    "model": 'label_values(modelmonitor_monitor_info{namespace=~"$namespace", monitor=~"$monitor"}, model)',
}


def build() -> model.Dashboard:
    builder = (
        board.Dashboard("modelmonitor")
        .uid(UID)
        .description("Model quality against thresholds, drift, runs and retraining, from the modelmonitor operator.")
        .tags(["modelmonitor", "mlops"])
        .refresh("1m")
        .time("now-24h", "now")
        .timezone("browser")
        .readonly()
        .with_variable(board.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
    )
    for name, query in VARIABLES.items():
        builder = builder.with_variable(_variable(name, query))
    sections = {
        "Model quality": (_metrics_against_thresholds(), _breached()),
        "Drift": (_drifted_share(), _feature_drift(), _drift_states()),
        "Runs": (_runs_by_outcome(), _run_duration(), _since_success()),
        "Retraining and the operator": (_retrainings(), _operator()),
    }
    number = 0
    for title, panels in sections.items():
        number += 1
        builder = builder.with_row(board.Row(title).id(number))
        for panel in panels:
            number += 1
            builder = builder.with_panel(panel.id(number))
    return builder.build()


def dashboard_json() -> str:
    return json.dumps(build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def queries(document: dict[str, Any]) -> list[tuple[str, str]]:
    """Every panel's (title, PromQL) in a dashboard document: what the tests run against Prometheus."""
    return [
        (panel["title"], target["expr"])
        for panel in document["panels"]
        if panel.get("type") != "row"
        for target in panel.get("targets", [])
    ]
