"""A results document as a table for people."""

from __future__ import annotations

from typing import Any


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _rows(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    cells = [header, *[tuple(_number(cell) for cell in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells]


def render_table(document: dict[str, Any]) -> str:
    window = document["window"]
    health = "HEALTHY" if document["healthy"] else "UNHEALTHY"
    lines = [
        f"{document['monitor'] or document['model']}: {health} ({document['verdict']})",
        f"window ({window['start'] or '-'}, {window['end']}]: {window['rows']} rows, {window['labeledRows']} labeled; "
        f"reference {document['referenceRows']} rows",
    ]
    if document["metrics"]:
        lines += ["", "METRICS"]
        lines += _rows(
            ("NAME", "VALUE", "MIN", "MAX", "SAMPLES", "STATUS"),
            [(m["name"], m["value"], m["min"], m["max"], m["samples"], m["status"]) for m in document["metrics"]],
        )
    estimation = document.get("performanceEstimation")
    if estimation:
        lines += [
            "",
            f"ESTIMATED BEFORE THE LABELS ({estimation['method']}, {estimation['status']}): {estimation['reason']}",
        ]
        estimated = [(m["name"], m["estimated"]) for m in document["metrics"] if m.get("estimated")]
        lines += (
            _rows(
                ("NAME", "ESTIMATE", "LOWER", "UPPER", "ROWS", "STATUS"),
                [(name, e["value"], e["lower"], e["upper"], e["rows"], e["status"]) for name, e in estimated],
            )
            if estimated
            else []
        )
    drift = document["drift"]
    if drift:
        lines += [
            "",
            f"DATA DRIFT: {drift['driftedShare']:.0%} of features drifted "
            f"(dataset drift at {drift['datasetDriftShare']:.0%}: {'yes' if drift['datasetDrift'] else 'no'}; "
            f"correction {drift['correction']})",
        ]
        targets = [t for t in (drift["prediction"], drift["label"]) if t]
        lines += _rows(
            ("FEATURE", "METHOD", "KIND", "STATISTIC", "P-VALUE", "DRIFTED", "STATUS", "WHY"),
            [
                (
                    f["feature"],
                    f["method"],
                    f["kind"],
                    f["statistic"],
                    f["adjustedPValue"] if f["adjustedPValue"] is not None else f["pValue"],
                    "yes" if f["drifted"] else "no",
                    f["status"],
                    f["reason"],
                )
                for f in [*drift["features"], *targets]
            ],
        )
    if document["conceptDrift"]:
        lines += ["", "CONCEPT DRIFT"]
        lines += _rows(
            ("METHOD", "STATUS", "DETAIL"), [(c["method"], c["status"], c["reason"]) for c in document["conceptDrift"]]
        )
    if document["dataQuality"]:
        lines += ["", "DATA QUALITY"] + [f"  {q['kind']}: {q['message']}" for q in document["dataQuality"]]
    if document["errors"]:
        lines += ["", "ERRORS"] + [f"  {e['check']}: {e['message']}" for e in document["errors"]]
    return "\n".join(lines)
