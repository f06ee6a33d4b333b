"""Two versions of a model compared on their logged rows: what a ModelRollout, and the comparison endpoint, ask.

The rows come from the monitor's current data set. The ``modelVersion`` column says which
version served each row; the timestamp column bounds the rows to the rollout. Metrics
use the labelled rows since the rollout began, and the engine's confidence sequences
keep them valid at every look. The sample-ratio check uses every row, labelled or not,
since the current step's weights took effect.

``paired`` (a shadow step): the candidate answered copies of the baseline's requests, so the
two arms' rows of the same request (``data.columns.requestId``) are compared pair by pair
(``checks.paired``), for each metric that is a mean over rows; the others as two arms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from modelmonitor.api.comparison import ARMS, ArmEstimate, Comparison, finite
from modelmonitor.api.data import DataSource
from modelmonitor.api.fairness import FairnessMetricName
from modelmonitor.api.metrics import MetricName
from modelmonitor.api.monitor import ModelMonitorSpec, Task
from modelmonitor.checks.estimated_compare import EstimatedAnalysis, estimate_versions
from modelmonitor.checks.estimation_scan import score_columns
from modelmonitor.checks.fairness import favorable_outcome, tally
from modelmonitor.checks.labels import (
    ClassCoder,
    all_present,
    class_text,
    numeric_column,
    read_labeled,
    to_labeled_rows,
)
from modelmonitor.checks.paired import NO_REQUEST_ID, pair_rows, signs_of_pairs
from modelmonitor.data.source import open_source
from modelmonitor.data.source_definition import ReadSpan, RowFilter, Source
from modelmonitor.engine.fairness import compare_gaps
from modelmonitor.engine.output_shift import OUTPUT_SHIFT_METHOD, OutputShift, Shift, output_shift, shifted
from modelmonitor.engine.paired import PAIRED_METHOD, PairedSigns, pairable, paired_compare
from modelmonitor.engine.sequential import SRM_METHOD, ArmData, SampleRatio, compare, sample_ratio
from modelmonitor.errors import SpecError
from modelmonitor.times import rfc3339


@dataclass(frozen=True)
class VersionComparison:
    """Rows per arm, the primary metric's and the guardrails' comparisons, and the sample-ratio check."""

    versions: Mapping[str, str]
    since: datetime
    until: datetime
    rows: Mapping[str, int]
    labeled_rows: Mapping[str, int]
    primary: Comparison
    guardrails: Sequence[Comparison]
    sample_ratio: SampleRatio | None
    labeled_pairs: int | None = None  # a shadow step's: requests both arms answered, labelled
    signs: PairedSigns | None = None  # a shadow step's: how the versions' answers differ, before any label
    unpaired: str = ""  # a shadow step's: why its rows were not paired
    outputs: OutputShift | None = None  # a live step's: how the arms' outputs differ, before any label
    estimated: EstimatedAnalysis | None = None  # analysis.estimated: the expected metric compared, without labels

    def to_document(self) -> dict[str, object]:
        srm = self.sample_ratio
        extra: dict[str, object] = {}
        if self.labeled_pairs is not None:
            extra = {"paired": _paired_document(self.labeled_pairs, self.signs)}
        elif self.unpaired:
            extra = {"paired": {"reason": self.unpaired}}
        if self.outputs is not None:
            extra["outputs"] = _outputs_document(self.outputs)
        if self.estimated is not None:
            extra["estimated"] = self.estimated.to_document()
        return {
            **extra,
            "versions": dict(self.versions),
            "since": rfc3339(self.since),
            "until": rfc3339(self.until),
            "rows": dict(self.rows),
            "labeledRows": dict(self.labeled_rows),
            "primary": self.primary.to_document(),
            "guardrails": [guardrail.to_document() for guardrail in self.guardrails],
            "sampleRatio": None
            if srm is None
            else {
                "rows": list(srm.observed),
                "expectedShares": list(srm.expected_shares),
                "observedShares": [finite(share) for share in srm.observed_shares],
                "pValue": finite(srm.p_value),
                "method": SRM_METHOD,
            },
        }


def check_metric(spec: ModelMonitorSpec, metric: MetricName, where: str) -> None:
    """A rollout's metric must fit the monitor's task and columns, by the rules the monitor's own metrics follow."""
    if problem := spec.metric_problem(metric):
        raise SpecError(f"{where}: {metric} {problem} (the monitor's task is {spec.model.task})")


def compare_versions(
    spec: ModelMonitorSpec,
    *,
    versions: Mapping[str, str],
    metric: MetricName,
    guardrails: Sequence[MetricName] = (),
    fairness_guardrails: Sequence[FairnessMetricName] = (),
    alpha: float,
    min_samples_per_arm: int,
    since: datetime,
    until: datetime,
    weights: Mapping[str, int] | None = None,
    weights_since: datetime | None = None,
    paired: bool = False,
    estimated: bool = False,
    references: Mapping[str, DataSource | None] | None = None,
    env: Mapping[str, str] | None = None,
) -> VersionComparison:
    """Compare ``versions`` (arm -> modelVersion value) on rows logged in (since, until]; ``paired``: pair by pair.

    ``estimated``: also compare the metric CBPE expects on every row served, each arm calibrated on its
    ``references`` entry (``checks.estimated_compare``).

    Raises :class:`SpecError` when the monitor cannot tell versions or times apart, or the
    metric does not fit it, and :class:`~modelmonitor.errors.DataError` when data cannot be read.
    """
    columns = spec.data.columns
    if not columns.model_version or not columns.timestamp or not columns.label:
        raise SpecError("the monitor needs data.columns.modelVersion, timestamp and label to compare versions")
    check_metric(spec, metric, "analysis.metric")
    for index, guardrail in enumerate(guardrails):
        check_metric(spec, guardrail, f"analysis.guardrails[{index}]")
    if fairness_guardrails and spec.fairness is None:
        raise SpecError(
            "analysis.fairnessGuardrails need the monitor's spec.fairness: its protected attribute and groups"
        )
    source = open_source(spec.data.current, env, ReadSpan(until, since))

    def rows_of(arm: str, start: datetime) -> RowFilter:
        return RowFilter(columns.timestamp, until, start, ((columns.model_version or "", versions[arm]),))

    request = columns.request_id if paired else None
    also = [request] if request else []
    tables = {arm: read_labeled(source, columns, rows_of(arm, since), also) for arm in ARMS}
    served = {arm: rows_of(arm, since) for arm in ARMS}  # every row each arm served, labelled or not
    task = spec.model.task
    answered = _answered(spec, source, served, request)
    coder = None
    if task is not Task.REGRESSION:
        # the classes predicted too: before any label comes, the outputs and the pairs' signs need the positive class
        coder = ClassCoder.of_tables([*tables.values(), *answered.values()], columns, spec.model.positive_label)
    arms = {arm: _arm(tables[arm], spec, coder) for arm in ARMS}
    pairs = pair_rows(tables, request) if request else None
    twins = {arm: _arm(table, spec, coder) for arm, table in zip(ARMS, pairs.arms, strict=True)} if pairs else {}
    options = {
        "alpha": alpha,
        "n_star": min_samples_per_arm,
        "n_classes": max(len(coder.classes), 2) if coder else 2,
        "positive": coder.positive if coder else 1,
        "average": "binary" if task is Task.BINARY else "macro",
    }

    def compared(name: MetricName) -> Comparison:
        if twins and pairable(name):
            return paired_compare(name, twins["baseline"], twins["candidate"], **options)  # type: ignore[arg-type]
        return compare(name, arms["baseline"], arms["candidate"], **options)  # type: ignore[arg-type]

    primary = compared(metric)
    guards = [compared(guardrail) for guardrail in guardrails]
    if fairness_guardrails:
        guards += _fairness_guards(spec, fairness_guardrails, source, served, alpha, min_samples_per_arm)
    outputs = None if paired else _output_shift(spec, answered, coder, alpha, min_samples_per_arm)
    signs = None
    if request:
        signs = signs_of_pairs(spec, answered, coder, alpha=alpha, n_star=min_samples_per_arm)
    guessed = None
    if estimated:
        guessed = estimate_versions(
            spec,
            answered,
            references or {},
            metric=metric,
            alpha=alpha,
            n_star=min_samples_per_arm,
            request=request,
            env=env,
        )
    ratio = None
    if weights is not None:
        start = weights_since or since
        counts = [source.count(rows_of(arm, start)) for arm in ARMS]
        ratio = sample_ratio(counts, [weights[arm] for arm in ARMS])
    return VersionComparison(
        versions=dict(versions),
        since=since,
        until=until,
        rows={arm: source.count(rows_of(arm, since)) for arm in ARMS},
        labeled_rows={arm: tables[arm].num_rows for arm in ARMS},
        primary=primary,
        guardrails=guards,
        sample_ratio=ratio,
        labeled_pairs=pairs.count if pairs is not None else None,
        signs=signs,
        unpaired=NO_REQUEST_ID if paired and not request else "",
        outputs=outputs,
        estimated=guessed,
    )


def _answered(
    spec: ModelMonitorSpec, source: Source, served: Mapping[str, RowFilter], request: str | None
) -> dict[str, pa.Table]:
    """Every row each arm served, labelled or not, read once with what the outputs, the pairs' signs and the
    estimates use: prediction, label, scores (and the request id on a shadow step). A regression without a
    score uses none of them."""
    columns = spec.data.columns
    scored = score_columns(columns) if columns.score or columns.class_scores else []
    if spec.model.task is Task.REGRESSION and not scored:
        return {arm: pa.table({}) for arm in ARMS}
    named = [columns.prediction, columns.label, *scored, *([request] if request else [])]
    wanted = list(dict.fromkeys(name for name in named if name))
    return {arm: source.read(wanted, served[arm]) for arm in ARMS}


def _output_shift(
    spec: ModelMonitorSpec,
    answered: Mapping[str, pa.Table],
    coder: ClassCoder | None,
    alpha: float,
    n_star: int,
) -> OutputShift | None:
    """The arms' shares predicted positive (binary) and mean scores, on every row each served, labelled or not."""
    columns = spec.data.columns
    binary = spec.model.task is Task.BINARY and coder is not None and bool(coder.classes)  # no class: no row yet
    if not (binary or columns.score):
        return None
    wanted = [columns.prediction, *([columns.score] if columns.score else [])]
    positive: dict[str, NDArray[np.bool_]] = {}
    scores: dict[str, NDArray[np.float64]] = {}
    for arm in ARMS:
        table = answered[arm].filter(all_present(answered[arm], wanted))
        if binary and coder is not None:
            named = class_text(table[columns.prediction]).to_numpy(zero_copy_only=False)
            positive[arm] = named == coder.classes[coder.positive]
        if columns.score:
            scores[arm] = numeric_column(table, columns.score)
    return output_shift(
        positive.get("baseline"),
        positive.get("candidate"),
        scores.get("baseline"),
        scores.get("candidate"),
        alpha=alpha,
        n_star=n_star,
    )


def _outputs_document(found: OutputShift) -> dict[str, object]:
    """A live step's outputs: each arm's value, the difference with its always-valid interval, and whether it moved."""

    def shift(item: Shift | None) -> dict[str, object] | None:
        if item is None:
            return None
        return {
            "baseline": finite(item.baseline),
            "candidate": finite(item.candidate),
            "difference": finite(item.difference),
            "interval": item.interval.to_document(),
            "shifted": shifted(item),
        }

    return {
        "rows": dict(zip(ARMS, found.rows, strict=True)),
        "positiveShare": shift(found.positive_share),
        "meanScore": shift(found.mean_score),
        "method": OUTPUT_SHIFT_METHOD,
    }


def _paired_document(labeled: int, signs: PairedSigns | None) -> dict[str, object]:
    """A shadow step's pairs: how many are labelled, and the label-free signs over all of them."""

    def sign(found: ArmEstimate | None) -> dict[str, object] | None:
        if found is None:
            return None
        return {"value": finite(found.value), "interval": found.interval.to_document()}

    document: dict[str, object] = {"labeledPairs": labeled, "method": PAIRED_METHOD}
    if signs is not None:
        document |= {
            "pairs": signs.pairs,
            "agreement": sign(signs.agreement),
            "positiveShareDifference": sign(signs.positive_share_difference),
            "scoreDifference": sign(signs.score_difference),
        }
    return document


def _arm(table: pa.Table, spec: ModelMonitorSpec, coder: ClassCoder | None) -> ArmData:
    rows = to_labeled_rows(table, spec.data.columns, spec.model.task, coder)
    score = rows.score if spec.data.columns.score else None
    return ArmData(rows.y_true.astype(float), rows.y_pred.astype(float), score)


def _fairness_guards(
    spec: ModelMonitorSpec,
    metrics: Sequence[FairnessMetricName],
    source: Source,
    rows: Mapping[str, RowFilter],
    alpha: float,
    n_star: int,
) -> list[Comparison]:
    """Each fairness guardrail's comparison of the versions' gaps, on every row each served (labelled or not)."""
    fairness = spec.fairness
    assert fairness is not None
    tallies = {arm: tally(source, rows[arm], spec, fairness) for arm in ARMS}
    favorable = favorable_outcome(spec, fairness, tallies["baseline"].classes() | tallies["candidate"].classes())
    counts = {arm: tallies[arm].outcomes(favorable) for arm in ARMS}
    return [compare_gaps(m, counts["baseline"], counts["candidate"], alpha=alpha, n_star=n_star) for m in metrics]
