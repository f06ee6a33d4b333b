"""Results as a table for people."""

from __future__ import annotations

import math
from typing import Any

from modelmonitor.api.results import Results


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _share(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0%}"


def _rows(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    cells = [header, *[tuple(_number(cell) for cell in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells]


def render_table(results: Results) -> str:
    window = results.window
    health = "HEALTHY" if results.healthy else "UNHEALTHY"
    lines = [
        f"{results.monitor or results.model}: {health} ({results.verdict})",
        f"window ({window.start or '-'}, {window.end}]: {window.rows} rows, {window.labeled_rows} labeled; "
        f"reference {results.reference_rows} rows",
    ]
    if results.metrics:
        lines += ["", "METRICS"]
        lines += _rows(
            ("NAME", "VALUE", "MIN", "MAX", "SAMPLES", "STATUS"),
            [(m.name, m.value, m.min, m.max, m.samples, m.status) for m in results.metrics],
        )
    estimation = results.performance_estimation
    if estimation:
        lines += ["", f"ESTIMATED BEFORE THE LABELS ({estimation.method}, {estimation.status}): {estimation.reason}"]
        estimated = [(m.name, m.estimated) for m in results.metrics if m.estimated is not None]
        lines += (
            _rows(
                ("NAME", "ESTIMATE", "LOWER", "UPPER", "ROWS", "STATUS"),
                [(name, e.value, e.lower, e.upper, e.rows, e.status) for name, e in estimated],
            )
            if estimated
            else []
        )
    drift = results.drift
    if drift:
        lines += [
            "",
            f"DATA DRIFT: {_share(drift.drifted_share)} of features drifted "
            f"(dataset drift at {_share(drift.dataset_drift_share)}: {'yes' if drift.dataset_drift else 'no'}; "
            f"correction {drift.correction})",
        ]
        targets = [t for t in (drift.prediction, drift.label) if t]
        lines += _rows(
            ("FEATURE", "METHOD", "KIND", "STATISTIC", "P-VALUE", "DRIFTED", "STATUS", "WHY"),
            [
                (
                    f.feature,
                    f.method,
                    f.kind,
                    f.statistic,
                    f.adjusted_p_value if f.adjusted_p_value is not None else f.p_value,
                    "yes" if f.drifted else "no",
                    f.status,
                    f.reason,
                )
                for f in [*drift.features, *targets]
            ],
        )
    if drift and drift.multivariate:
        lines += ["", "MULTIVARIATE DRIFT"]
        lines += _rows(
            ("METHOD", "STATISTIC", "THRESHOLD", "P-VALUE", "DRIFTED", "STATUS", "WHY"),
            [
                (m.method, m.statistic, m.threshold, m.p_value, "yes" if m.drifted else "no", m.status, m.reason)
                for m in drift.multivariate
            ],
        )
    if results.concept_drift:
        lines += ["", "CONCEPT DRIFT"]
        lines += _rows(("METHOD", "STATUS", "DETAIL"), [(c.method, c.status, c.reason) for c in results.concept_drift])
    if results.quality_rules:
        lines += ["", "DATA-QUALITY RULES"]
        lines += _rows(
            ("RULE", "COLUMN", "VALUE", "LIMIT", "STATUS", "DETAIL"),
            [(r.rule, r.column or "-", r.value, r.limit, r.status, r.message) for r in results.quality_rules],
        )
    if results.fairness:
        lines += ["", "FAIRNESS"]
        lines += _rows(
            ("METRIC", "VALUE", "LOWER", "UPPER", "STATUS", "DETAIL"),
            [(f.name, f.value, f.lower, f.upper, f.verdict, f.message) for f in results.fairness],
        )
    if results.segments:
        lines += ["", "SEGMENTS (the worst first)"]
        lines += _rows(
            ("SEGMENT", "ROWS", "LABELED", "STATUS", "DRIFTED", "METRICS"),
            [
                (
                    f"{seg.column}={seg.value}" + (" (pooled)" if seg.pooled else ""),
                    seg.rows,
                    seg.labeled_rows,
                    seg.verdict,
                    ", ".join(seg.drifted_features) or "-",
                    "; ".join(
                        [m.reason for m in seg.metrics] + [m.estimated.reason for m in seg.metrics if m.estimated]
                    ),
                )
                for seg in results.segments
            ],
        )
    if results.attribution:
        lines += ["", "WHAT EXPLAINS THE LOSS (each drifted feature reweighted to the reference)"]
        lines += _rows(
            ("METRIC", "FEATURE", "EXPLAINED", "VALUE", "REWEIGHTED"),
            [(a.metric, a.feature, a.explained_drop, a.value, a.weighted_value) for a in results.attribution],
        )
    if results.data_quality:
        lines += ["", "DATA QUALITY"] + [f"  {q.kind}: {q.message}" for q in results.data_quality]
    if results.errors:
        lines += ["", "ERRORS"] + [f"  {e.check}: {e.message}" for e in results.errors]
    return "\n".join(lines)
