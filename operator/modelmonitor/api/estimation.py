"""Performance estimation: metrics estimated on rows whose labels have not arrived yet."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from modelmonitor.api.base import SpecModel


class EstimationMethod(StrEnum):
    CBPE = "cbpe"


class PerformanceEstimationSpec(SpecModel):
    """Metrics estimated on the window's rows whose labels have not arrived yet, from calibrated scores."""

    method: EstimationMethod = Field(description="cbpe: confidence-based performance estimation (as NannyML's).")
    confidence: float = Field(0.95, ge=0.5, le=0.999, description="The estimates' interval: its coverage.")
    max_calibration_error: float = Field(
        0.05,
        gt=0,
        le=1,
        description="Refuse to estimate (Inconclusive) when the calibrated scores' expected calibration error on "
        "held-out reference rows exceeds this.",
    )
