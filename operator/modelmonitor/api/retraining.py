"""A monitor's actions: retraining, started when runs find the model degraded, on a schedule, or on request."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from modelmonitor.api.base import Duration, SpecModel
from modelmonitor.api.cel import CelRule, cel
from modelmonitor.api.kubernetes import ResourceTemplate, RetrainJobTemplate
from modelmonitor.api.schedule import Schedule


class RetrainTrigger(StrEnum):
    PERFORMANCE_DEGRADED = "PerformanceDegraded"
    DATA_DRIFT = "DataDrift"
    CONCEPT_DRIFT = "ConceptDrift"


YAML11_ON = "true"  # the key an unquoted ``on:`` becomes in YAML 1.1


def _keep_unquoted_on(schema: dict[str, Any]) -> None:
    # kubectl, Argo CD and Flux read YAML 1.1, where an unquoted `on:` key is the boolean true: the API
    # server must keep that key (not refuse or prune it) for the operator to read it as `on`.
    properties = schema["properties"]
    properties[YAML11_ON] = {
        **properties["on"],
        "description": "on, as YAML 1.1 reads an unquoted `on:` key; the operator takes it as on.",
    }


class RetrainSpec(SpecModel):
    """Retraining, started when runs find the model degraded, on a schedule, or on request."""

    model_config = ConfigDict(json_schema_extra=_keep_unquoted_on)

    on: list[RetrainTrigger] = Field(
        default_factory=lambda: [RetrainTrigger.PERFORMANCE_DEGRADED],
        min_length=1,
        max_length=3,
        description="The conditions that call for retraining when True.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    after: int = Field(1, ge=1, le=1000, description="Consecutive unhealthy runs before acting (debounce).")
    cooldown: Duration | None = Field(
        None, description="No new retraining within this time of the last one's start, whatever its outcome."
    )
    schedule: Schedule | None = Field(None, description="Also retrain regularly, even without a breach.")
    max_concurrent: int = Field(1, ge=1, le=100, description="Never more than this many active per monitor.")
    timeout: Duration = Field(
        "72h", description="An object with no outcome by then is recorded as Unknown and no longer counted as active."
    )
    job_template: RetrainJobTemplate | None = None
    resource_template: ResourceTemplate | None = None

    @model_validator(mode="before")
    @classmethod
    @cel(CelRule("!has(self.on) || !has(self.__true__)", "on is given twice: once quoted and once unquoted"))
    def _unquoted_on(cls, data: Any) -> Any:
        """``on:`` unquoted is the boolean true to YAML 1.1 readers (kubectl, Argo CD, Flux, PyYAML): read it as on."""
        if not isinstance(data, dict):
            return data
        keys = [key for key in data if key is True or key == YAML11_ON]
        if not keys:
            return data
        if "on" in data or len(keys) > 1:
            raise ValueError("on is given twice: once quoted and once unquoted (which YAML 1.1 reads as true)")
        fixed = {key: value for key, value in data.items() if key not in keys}
        fixed["on"] = data[keys[0]]
        return fixed

    @field_validator("on")
    @classmethod
    def _unique_triggers(cls, triggers: list[RetrainTrigger]) -> list[RetrainTrigger]:
        # the CRD: a list of type set
        if len(set(triggers)) != len(triggers):
            raise ValueError("each trigger may appear once")
        return triggers

    @model_validator(mode="after")
    @cel(
        CelRule(
            "has(self.jobTemplate) != has(self.resourceTemplate)", "set exactly one of jobTemplate or resourceTemplate"
        )
    )
    def _exactly_one_template(self) -> RetrainSpec:
        if (self.job_template is None) == (self.resource_template is None):
            raise ValueError("set exactly one of jobTemplate or resourceTemplate")
        return self


class Actions(SpecModel):
    """What the operator does about what it finds."""

    retrain: RetrainSpec | None = None
