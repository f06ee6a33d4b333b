"""A run's numbers by name: what TensorBoard plots and MLflow logs of it, named alike in both.

| name | value |
| --- | --- |
| ``metrics/NAME`` | the metric; ``/min`` and ``/max`` its thresholds, ``/estimated`` its CBPE estimate |
| ``drift/share``, ``drift/FEATURE`` | the share of features that drifted, each feature's statistic |
| ``concept/METHOD[/METRIC]/statistic``, ``/pValue`` | each concept-drift check |
| ``window/rows``, ``window/labeledRows`` | how much data the run judged |
"""

from __future__ import annotations

import math

from modelmonitor.api.results import Results


def scalars(results: Results) -> dict[str, float]:
    """The run's numbers by tag; a check without a value has no scalar (TensorBoard plots gaps, not zeros)."""
    found: dict[str, float | None] = {
        "window/rows": results.window.rows,
        "window/labeledRows": results.window.labeled_rows,
    }
    for metric in results.metrics:
        found[f"metrics/{metric.name}"] = metric.value
        found[f"metrics/{metric.name}/min"] = metric.min
        found[f"metrics/{metric.name}/max"] = metric.max
        if metric.estimated is not None:
            found[f"metrics/{metric.name}/estimated"] = metric.estimated.value
    if results.drift is not None:
        found["drift/share"] = results.drift.drifted_share
        for feature in results.drift.features:
            found[f"drift/{feature.feature}"] = feature.statistic
    for check in results.concept_drift:
        name = f"concept/{check.method}" + (f"/{check.metric}" if check.metric else "")
        found[f"{name}/statistic"] = check.statistic
        found[f"{name}/pValue"] = check.p_value
    return {tag: float(value) for tag, value in found.items() if value is not None and math.isfinite(value)}
