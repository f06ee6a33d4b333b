"""The alert rules over the operator's metrics: one definition for the plain rules file and the chart.

Each alert names its monitor and model, states the value that fired it, and links a runbook
section in docs/alerts.md. Durations (``for``) are defaults the chart lets users override.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JOB = "modelmonitor"  # the scrape job's name: the ServiceMonitor's jobLabel and the sample config give it
RUNBOOK_BASE = "https://github.com/modelmonitor/modelmonitor/blob/main/docs/alerts.md"
GROUP = "modelmonitor"


def _with_model(expr: str) -> str:
    """Joins the model onto series that carry none, so that every alert names the model it is about."""
    indented = expr.replace("\n", "\n  ")
    return f"(\n  {indented}\n)\n* on (namespace, monitor) group_left (model) modelmonitor_monitor_info"


_WHERE = "{{ $labels.namespace }}/{{ $labels.monitor }}"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    wait: str  # Prometheus's ``for``: how long the condition must hold
    severity: str
    summary: str
    description: str
    meaning: str  # for docs/alerts.md: what it means and what to do first
    first_steps: tuple[str, ...]

    @property
    def runbook_url(self) -> str:
        return f"{RUNBOOK_BASE}#{self.name.lower()}"

    def rule(self) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.wait,
            "labels": {"severity": self.severity},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": self.runbook_url,
            },
        }


ALERTS = (
    Alert(
        name="ModelMonitorMetricBreached",
        expr=(
            "modelmonitor_metric_value"
            ' < on (namespace, monitor, model, metric) modelmonitor_metric_threshold{bound="min"}\n'
            "or\n"
            "modelmonitor_metric_value"
            ' > on (namespace, monitor, model, metric) modelmonitor_metric_threshold{bound="max"}'
        ),
        wait="1h",
        severity="critical",
        summary='{{ $labels.metric }} of model {{ $labels.model }} is {{ $value | printf "%.4g" }}, past its threshold',
        description=(
            f'Monitor {_WHERE} measured {{{{ $labels.metric }}}} = {{{{ $value | printf "%.4g" }}}} for model'
            " {{ $labels.model }}, outside the min/max in its spec.metrics, in every run for the alert's duration."
        ),
        meaning="A performance metric has been past the bound its monitor's `spec.metrics` sets, run after run.",
        first_steps=(
            "`kubectl describe mm -n NAMESPACE MONITOR`: the `PerformanceDegraded` condition names each metric,"
            " value and bound.",
            "Compare label coverage and row counts in the last run (`kubectl get mrun -n NAMESPACE -l"
            " modelmonitor.io/monitor=MONITOR`): a metric over few late labels is noisy.",
            "Look for dataset or concept drift on the same monitor: a drifted input usually comes first.",
            "If the model must be retrained, `spec.actions.retrain` does it (see docs/retraining.md).",
        ),
    ),
    Alert(
        name="ModelMonitorDatasetDrift",
        expr="modelmonitor_dataset_drift == 1",
        wait="15m",
        severity="warning",
        summary="Inputs of model {{ $labels.model }} drifted from the reference",
        description=(
            f"The last run of monitor {_WHERE} found dataset drift for model {{{{ $labels.model }}}}: more features"
            " drifted than its spec.drift.datasetDriftShare allows."
        ),
        meaning="The share of drifted features in the last run is above `spec.drift.datasetDriftShare`.",
        first_steps=(
            "`kubectl describe mm -n NAMESPACE MONITOR`: the `DataDrift` condition lists the drifted features.",
            '`modelmonitor_feature_drift{monitor="MONITOR"}` and the dashboard\'s drift panel show which features'
            " moved and how far.",
            "Check upstream changes (a new data source, a changed unit, a new category) before retraining.",
        ),
    ),
    Alert(
        name="ModelMonitorConceptDrift",
        expr="modelmonitor_concept_drift_detected == 1",
        wait="15m",
        severity="warning",
        summary="The relationship learnt by model {{ $labels.model }} changed ({{ $labels.method }})",
        description=(
            f"The {{{{ $labels.method }}}} detector of monitor {_WHERE} found a change in model"
            " {{ $labels.model }}'s errors in the last run's window."
        ),
        meaning="A concept-drift detector found that the model's error rate changed inside the window.",
        first_steps=(
            "`kubectl get mrun -n NAMESPACE RUN -o jsonpath='{.status.results.conceptDrift}'` gives where the change"
            " started and was detected.",
            "Compare the metric before and after that time; a drop with stable inputs means the concept changed.",
            "Retrain on data after the change (`spec.actions.retrain.on: [ConceptDrift]`).",
        ),
    ),
    Alert(
        name="ModelMonitorRunsErroring",
        # a level, not increase() over the runs counter: a monitor's first run can end before its first scrape
        expr=_with_model("max by (namespace, monitor) (modelmonitor_last_run_errored) == 1"),
        wait="10m",
        severity="warning",
        summary="Runs of monitor {{ $labels.monitor }} end in Error",
        description=(
            f"The last run of monitor {_WHERE} (model {{{{ $labels.model }}}}) ended in Error, and no run has"
            " evaluated since: its checks cannot be evaluated."
        ),
        meaning=(
            "The monitor's runs have ended in Error, with no successful run since, for the alert's duration (a single"
            " transient error followed by a good run does not fire). Causes: unreadable data, a failing Job, a timeout."
        ),
        first_steps=(
            "`kubectl get events -n NAMESPACE --field-selector reason=RunError`: each names the run and the reason.",
            "`kubectl get mrun -n NAMESPACE RUN -o yaml`: `status.reason` and `status.message`.",
            "For a Job runner, `kubectl logs job/RUN -n NAMESPACE`.",
        ),
    ),
    Alert(
        name="ModelMonitorRecordFailing",
        # the operator retries a failed record 5 s, 10 s ... later, at most every 5 minutes: a fault that
        # lasts keeps the counter rising; one that passed leaves it flat within the window
        expr=_with_model(
            'sum by (namespace, monitor) (increase(modelmonitor_reconcile_errors_total{stage="record"}[10m])) > 0'
        ),
        wait="15m",
        severity="warning",
        summary="Runs of monitor {{ $labels.monitor }} finish but are not recorded",
        description=(
            f"The operator has failed to record finished runs on monitor {_WHERE} (model {{{{ $labels.model }}}})"
            " for 15 minutes: its status and conditions show an older run."
        ),
        meaning=(
            "Runs finish, but writing their outcome on the ModelMonitor keeps failing (the API server refuses the"
            " write, or a run's results cannot be read). The schedule goes on; the status lags behind the runs."
        ),
        first_steps=(
            "`kubectl get events -n NAMESPACE --field-selector reason=RecordFailed`: each names the run and the"
            " error, and when it is tried again.",
            "The operator's log: `recording NAMESPACE/MONITOR failed`.",
            "`kubectl get mrun -n NAMESPACE -l modelmonitor.io/monitor=MONITOR`: the runs that finished meanwhile.",
        ),
    ),
    Alert(
        name="ModelMonitorStale",
        expr=_with_model(
            "time() - (\n"
            "  max by (namespace, monitor) (modelmonitor_last_success_timestamp_seconds)\n"
            "  or max by (namespace, monitor) (modelmonitor_monitor_created_timestamp_seconds)\n"
            ")\n"
            "> on (namespace, monitor) 2 * max by (namespace, monitor) (modelmonitor_monitor_interval_seconds)"
        ),
        wait="5m",
        severity="warning",
        summary="Monitor {{ $labels.monitor }} has had no successful run for {{ $value | humanizeDuration }}",
        description=(
            f"Monitor {_WHERE} (model {{{{ $labels.model }}}}) has not completed a run for"
            " {{ $value | humanizeDuration }}, more than twice its schedule's interval: nobody is watching this model."
        ),
        meaning=(
            "No run of a scheduled, unsuspended monitor has succeeded for twice its interval (for a cron, its longest"
            " gap), counted from its creation if it never succeeded."
        ),
        first_steps=(
            "`kubectl get mm -n NAMESPACE MONITOR -o wide`: `Next Run` and the `Ready` condition.",
            "`kubectl get mrun -n NAMESPACE -l modelmonitor.io/monitor=MONITOR`: runs stuck in Running, or errors"
            " (see ModelMonitorRunsErroring).",
            "The operator's log and `modelmonitor_run_duration_seconds`: runs that take longer than the interval.",
        ),
    ),
    Alert(
        name="ModelMonitorRetrainingFailed",
        expr=_with_model("max by (namespace, monitor) (modelmonitor_last_retraining_failed) == 1"),
        wait="0m",
        severity="warning",
        summary="Retraining of model {{ $labels.model }} did not succeed",
        description=(
            f"The last retraining started by monitor {_WHERE} (model {{{{ $labels.model }}}}) failed or ended"
            " unknown: the model stays degraded until a retraining succeeds."
        ),
        meaning=(
            "The last retraining Job or pipeline object that a monitor started failed, timed out or disappeared;"
            " it clears when a later retraining succeeds."
        ),
        first_steps=(
            "`kubectl describe mm -n NAMESPACE MONITOR`: the `Retraining` condition names the object and its outcome.",
            "Inspect that object (`kubectl get job|workflow|pipelinerun|trainjob`) and its logs.",
            "The cooldown (`spec.actions.retrain.cooldown`) holds off the next attempt.",
        ),
    ),
    Alert(
        name="ModelMonitorOperatorDown",
        expr=f'absent(up{{job="{JOB}"}} == 1)',
        wait="5m",
        severity="critical",
        summary="The modelmonitor operator is down or not scraped",
        description=(
            f'No target of job "{JOB}" is up: no monitor runs, no metrics are fresh, and no retraining or rollout'
            " moves."
        ),
        meaning="Prometheus has no healthy scrape of the operator: it is down, crash-looping, or not discovered.",
        first_steps=(
            "`kubectl -n modelmonitor-system get deploy,pods -l app.kubernetes.io/name=modelmonitor` and the pod's"
            " logs and events.",
            "If the pod runs, check discovery: `serviceMonitor.enabled` in the chart, or the scrape job's name"
            f' (it must be "{JOB}").',
        ),
    ),
)


def rule_groups() -> dict[str, Any]:
    """The rules in Prometheus's rule-file layout (also a PrometheusRule's ``spec``)."""
    return {"groups": [{"name": GROUP, "rules": [alert.rule() for alert in ALERTS]}]}
