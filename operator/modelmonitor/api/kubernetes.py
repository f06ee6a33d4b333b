"""Parts of Kubernetes objects a spec carries whole, as Kubernetes names their fields (a Job to run, any object)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _KubernetesFields(BaseModel):
    """Part of a Kubernetes object, fields named as Kubernetes names them; unknown ones pass through."""

    model_config = ConfigDict(extra="allow", frozen=True)


class TemplateMetadata(BaseModel):
    """Labels and annotations for the created object; its name and namespace are the operator's to set."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class PodSpecFields(_KubernetesFields):
    containers: list[dict[str, Any]] = Field(min_length=1, max_length=20)


class PodTemplateFields(_KubernetesFields):
    metadata: TemplateMetadata | None = None
    spec: PodSpecFields


class JobSpecFields(_KubernetesFields):
    template: PodTemplateFields


class RetrainJobTemplate(_KubernetesFields):
    """A batch/v1 JobTemplateSpec: the Job the operator creates to retrain."""

    metadata: TemplateMetadata | None = None
    spec: JobSpecFields


class ResourceTemplate(_KubernetesFields):
    """Any Kubernetes object to create: an Argo Workflow, a Tekton PipelineRun, a Kubeflow TrainJob ..."""

    api_version: str = Field(
        alias="apiVersion", pattern=r"^([a-z0-9]([a-z0-9.-]*[a-z0-9])?/)?v[0-9]+((alpha|beta)[0-9]+)?$", max_length=253
    )
    kind: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$", max_length=63)
    metadata: TemplateMetadata | None = None
