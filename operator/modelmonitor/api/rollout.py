"""The ModelRollout spec: a traffic-split A/B rollout of a model version, decided by its quality.

The logged data, its columns, the task and the metrics come from the ModelMonitor named
by ``monitorRef``. The field names below are a public contract.
"""

from __future__ import annotations

from enum import StrEnum
from itertools import pairwise
from typing import Any

from pydantic import Field, field_validator, model_validator

from modelmonitor.api.base import Duration, LocalObjectReference, Name, SpecModel
from modelmonitor.api.cel import CelRule, cel
from modelmonitor.api.data import DataSource
from modelmonitor.api.fairness import FairnessMetricName
from modelmonitor.api.metrics import MetricName
from modelmonitor.durations import parse_duration

KIND = "ModelRollout"


class RegistryAlias(SpecModel):
    """A version named by an alias of the monitor's registered model (its ``model.mlflow``)."""

    alias: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_-]+$", description="e.g. challenger")


class Arm(SpecModel):
    """One version: the modelVersion value that marks its logged rows (or the registry alias that names it when the
    rollout starts), and the backend serving it."""

    version: str | None = Field(None, min_length=1, max_length=128)
    mlflow: RegistryAlias | None = Field(
        None,
        description="Instead of version: the version an alias of the monitor's MLflow model names when the rollout "
        "starts (kept in status.versions for the whole rollout).",
    )
    backend: Name
    reference: DataSource | None = Field(
        None,
        description="This version's labelled validation data (its label, prediction and score columns named as the "
        "monitor's): analysis.estimated calibrates the version's estimates on it. The baseline may go without: the "
        "monitor's data.reference calibrates it.",
    )

    @model_validator(mode="after")
    @cel(CelRule("has(self.version) != has(self.mlflow)", "name the version, or its registry alias: one of them"))
    def _version_or_alias(self) -> Arm:
        if (self.version is None) == (self.mlflow is None):
            raise ValueError("name the version, or its registry alias: one of them")
        return self

    def named(self) -> str:
        """The version as the spec names it: ``8``, or ``mlflow alias challenger``."""
        return self.version if self.version is not None else f"mlflow alias {self.mlflow.alias if self.mlflow else ''}"


class GatewayAPIRouter(SpecModel):
    """Gateway API: the weights of an HTTPRoute rule's backendRefs."""

    http_route: Name = Field(alias="httpRoute")
    rule_index: int = Field(0, ge=0, le=63)


class IstioRouter(SpecModel):
    """Istio: the destination weights of a VirtualService's http route."""

    virtual_service: Name
    route_name: str | None = Field(None, max_length=253, description="Default: the first http route.")


class KServeRouter(SpecModel):
    """KServe: the predictor's canaryTrafficPercent of an InferenceService."""

    inference_service: Name


class SeldonRouter(SpecModel):
    """Seldon Core v2: the candidates' weights of an Experiment."""

    experiment: Name


class TrafficRouter(SpecModel):
    """Exactly one router."""

    gateway_api: GatewayAPIRouter | None = Field(None, alias="gatewayAPI")
    istio: IstioRouter | None = None
    kserve: KServeRouter | None = None
    seldon: SeldonRouter | None = None

    @model_validator(mode="after")
    @cel(
        CelRule(
            "[has(self.gatewayAPI), has(self.istio), has(self.kserve), has(self.seldon)].filter(x, x).size() == 1",
            "set exactly one of gatewayAPI, istio, kserve or seldon",
        )
    )
    def _exactly_one(self) -> TrafficRouter:
        chosen = [name for name in ("gateway_api", "istio", "kserve", "seldon") if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError("set exactly one of gatewayAPI, istio, kserve or seldon")
        return self


class Step(SpecModel):
    """One step: the candidate serves a share of the traffic (``weight``), or sees a copy of it (``mirror``)."""

    weight: int | None = Field(None, ge=1, le=100, description="The candidate's share of traffic, in percent.")
    mirror: int | None = Field(
        None,
        ge=1,
        le=100,
        description="A shadow step: the candidate gets a copy of this percent of the requests and its answers are "
        "discarded, so users see only the baseline's (Gateway API, Istio and Seldon; KServe has no mirroring).",
    )
    min_duration: Duration = Field(description="How long the step lasts at least before it may advance.")
    max_duration: Duration | None = Field(
        None, description="The step's budget: undecided by then, the rollout is Inconclusive. Default 4 × minDuration."
    )

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.maxDuration) || duration(self.maxDuration) >= duration(self.minDuration)",
            "maxDuration must not be shorter than minDuration",
            ".maxDuration",
        )
    )
    def _budget_covers_the_minimum(self) -> Step:
        if self.max_duration is not None and parse_duration(self.max_duration) < parse_duration(self.min_duration):
            raise ValueError(f"maxDuration {self.max_duration} is shorter than minDuration {self.min_duration}")
        return self

    @model_validator(mode="after")
    @cel(CelRule("has(self.weight) != has(self.mirror)", "a step sets weight or mirror: one of them"))
    def _weight_or_mirror(self) -> Step:
        if (self.weight is None) == (self.mirror is None):
            raise ValueError("a step sets weight or mirror: one of them")
        return self

    @property
    def shadow(self) -> bool:
        return self.mirror is not None

    def describe(self, version: str | None = None) -> str:
        """The step in words: ``candidate 9 at 20%``, or ``candidate 9 mirrored 100% (shadow)``."""
        named = f"candidate {version}" if version else "candidate"
        if self.mirror is not None:
            return f"{named} mirrored {self.mirror}% (shadow)"
        return f"{named} at {self.weight}%"


class Guardrail(SpecModel):
    metric: MetricName
    non_inferiority_margin: float = Field(0.0, ge=0)


class FairnessGuardrail(SpecModel):
    """A fairness metric of the monitor's spec.fairness the candidate must not worsen by more than its margin.

    Compared is each version's gap from parity (|difference|, or |ratio − 1|): a candidate whose
    gap is surely wider than the baseline's by more than the margin is rolled back, however
    accurate it is.
    """

    metric: FairnessMetricName
    non_inferiority_margin: float = Field(0.0, ge=0)


class PromoteOn(StrEnum):
    LABELS = "labels"
    ESTIMATED = "estimated"


class Analysis(SpecModel):
    metric: MetricName = Field(MetricName.ACCURACY, description="The primary metric; any the monitor's task supports.")
    non_inferiority_margin: float = Field(
        0.01, ge=0, description="δ: how much worse than the baseline the candidate may be, in the metric's units."
    )
    guardrails: list[Guardrail] = Field(
        default_factory=list,
        max_length=10,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["metric"]},
    )
    fairness_guardrails: list[FairnessGuardrail] = Field(
        default_factory=list,
        max_length=len(FairnessMetricName),
        description="Fairness metrics of the monitor's spec.fairness the candidate must not worsen "
        "(statisticalParityDifference and disparateImpactRatio need no labels).",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["metric"]},
    )
    alpha: float = Field(0.05, gt=0, lt=0.5)
    min_samples_per_arm: int = Field(500, ge=10, le=100_000_000, description="Labelled rows per arm before deciding.")
    interval: Duration = Field("5m", description="How often it re-evaluates.")
    estimated: bool = Field(
        False,
        description="Also compare the primary metric (accuracy or logLoss) as CBPE expects it on every row served, "
        "labelled or not, each version calibrated on its reference: a worse candidate may be rolled back, and a "
        "non-inferior one advanced, before the labels come. Labels overrule estimates.",
    )
    promote_on: PromoteOn = Field(
        PromoteOn.LABELS,
        description="What may promote past the last step: labels (the labelled analysis must agree) or estimated.",
    )

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.promoteOn) || self.promoteOn != 'estimated' || (has(self.estimated) && self.estimated)",
            "promoteOn: estimated needs estimated: true (the estimates to promote on)",
            ".promoteOn",
        )
    )
    def _promote_on_estimates_needs_them(self) -> Analysis:
        if self.promote_on is PromoteOn.ESTIMATED and not self.estimated:
            raise ValueError("promoteOn: estimated needs estimated: true (the estimates to promote on)")
        return self

    @property
    def guardrail_margins(self) -> dict[str, float]:
        """Each guardrail metric's margin δ, the fairness guardrails' too."""
        guardrails = [*self.guardrails, *self.fairness_guardrails]
        return {str(guardrail.metric): guardrail.non_inferiority_margin for guardrail in guardrails}

    @field_validator("guardrails", "fairness_guardrails")
    @classmethod
    def _unique(cls, guardrails: list[Guardrail] | list[FairnessGuardrail]) -> list[Any]:
        # the CRD: the list's map key
        names = [guardrail.metric for guardrail in guardrails]
        if len(set(names)) != len(names):
            raise ValueError("each guardrail metric may appear once")
        return guardrails


class OnInconclusive(StrEnum):
    PAUSE = "pause"
    ROLLBACK = "rollback"


class UserDecision(StrEnum):
    NONE = ""
    PROMOTE = "promote"
    ABORT = "abort"
    PAUSE = "pause"
    RESUME = "resume"


class ModelRolloutSpec(SpecModel):
    monitor_ref: LocalObjectReference
    baseline: Arm
    candidate: Arm
    traffic_router: TrafficRouter
    steps: list[Step] = Field(
        min_length=1,
        max_length=20,
        description="Shadow steps (mirror) first, then live steps whose weights increase.",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )
    analysis: Analysis = Analysis()
    on_inconclusive: OnInconclusive = OnInconclusive.PAUSE
    decision: UserDecision = Field(
        UserDecision.NONE, description="A person's intent: promote, abort, pause or resume. Intent lives in spec."
    )
    update_monitor_on_promotion: bool = Field(
        False, description="On promotion, set the monitor's spec.model.version to the candidate's."
    )

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.candidate.version) || !has(self.baseline.version) || "
            "self.candidate.version != self.baseline.version",
            "candidate.version must differ from baseline.version",
        )
    )
    def _two_versions(self) -> ModelRolloutSpec:
        if self.candidate.version is not None and self.candidate.version == self.baseline.version:
            raise ValueError("candidate.version must differ from baseline.version")
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.candidate.mlflow) || !has(self.baseline.mlflow) || "
            "self.candidate.mlflow.alias != self.baseline.mlflow.alias",
            "candidate.mlflow.alias must differ from baseline.mlflow.alias",
        )
    )
    def _two_aliases(self) -> ModelRolloutSpec:
        candidate, baseline = self.candidate.mlflow, self.baseline.mlflow
        if candidate is not None and baseline is not None and candidate.alias == baseline.alias:
            raise ValueError("candidate.mlflow.alias must differ from baseline.mlflow.alias")
        return self

    @property
    def comparison_alpha(self) -> float:
        """Each family of confidence sequences' α: the live steps' labelled comparisons, the shadow steps' paired
        ones (with shadow steps), the estimated ones (analysis.estimated). Each gets an equal share of
        analysis.alpha, so the chance any ever errs stays within it."""
        families = 1 + any(step.shadow for step in self.steps) + self.analysis.estimated
        return self.analysis.alpha / families

    @property
    def by_alias(self) -> bool:
        """Whether an arm is named by a registry alias (resolved when the rollout starts)."""
        return self.baseline.mlflow is not None or self.candidate.mlflow is not None

    def pinned(self, versions: dict[str, str]) -> ModelRolloutSpec | None:
        """The spec with each arm's version as ``versions`` (status.versions) pinned it; None if an alias arm's is
        missing."""
        arms = {}
        for role in ("baseline", "candidate"):
            arm: Arm = getattr(self, role)
            if arm.version is None:
                if not versions.get(role):
                    return None
                arms[role] = arm.model_copy(update={"version": versions[role]})
        return self.model_copy(update=arms)

    @model_validator(mode="after")
    @cel(
        CelRule(
            "self.steps.filter(s, has(s.weight)).map(s, s.weight).isSorted() && "
            "self.steps.filter(s, has(s.weight)).all(s, self.steps.filter(t, has(t.weight) && t.weight == s.weight)"
            ".size() == 1)",
            "steps: weights must increase",
            ".steps",
        )
    )
    def _weights_increase(self) -> ModelRolloutSpec:
        weights = [step.weight for step in self.steps if step.weight is not None]
        if any(later <= earlier for earlier, later in pairwise(weights)):
            raise ValueError(f"steps: weights must increase, got {weights}")
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            "self.steps.map(s, has(s.mirror) ? 0 : 1).isSorted()",
            "steps: shadow steps (mirror) come before the live ones (weight)",
            ".steps",
        )
    )
    def _shadow_first(self) -> ModelRolloutSpec:
        live = [not step.shadow for step in self.steps]
        if any(earlier and not later for earlier, later in pairwise(live)):
            raise ValueError("steps: shadow steps (mirror) come before the live ones (weight)")
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.trafficRouter.kserve) || self.steps.all(s, !has(s.mirror))",
            "trafficRouter.kserve cannot mirror requests (KServe has no request mirroring): a mirror step needs "
            "gatewayAPI, istio or seldon",
            ".steps",
        )
    )
    def _mirror_needs_a_mirroring_router(self) -> ModelRolloutSpec:
        if self.traffic_router.kserve is not None and any(step.shadow for step in self.steps):
            raise ValueError(
                "trafficRouter.kserve cannot mirror requests (KServe has no request mirroring): a mirror step needs "
                "gatewayAPI, istio or seldon"
            )
        return self
