"""Where a monitor's checks run, and with what: the runner, its Dask cluster or Job, the data's credentials."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from modelmonitor.api.base import LocalObjectReference, SpecModel
from modelmonitor.api.cel import CelRule, cel


class Runner(StrEnum):
    AUTO = "auto"
    INLINE = "inline"
    JOB = "job"
    DASK = "dask"


_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class DaskRef(SpecModel):
    """The Dask cluster whose workers run a monitor's drift work (runner dask): its address, or its name."""

    address: str | None = Field(
        None,
        max_length=253,
        pattern=r"^(tcp|tls)://[^\s/:]+:[0-9]{1,5}$",
        description="The scheduler, e.g. tcp://analytics-scheduler.dask.svc:8786.",
        examples=["tcp://analytics-scheduler.dask.svc:8786"],
    )
    cluster: str | None = Field(
        None,
        max_length=53,  # its scheduler Service, {cluster}-scheduler, is a 63-character DNS label at most
        pattern=_DNS_LABEL,
        description=(
            "The name of a dask-kubernetes DaskCluster (kubernetes.dask.org/v1): at each run the operator "
            "resolves its scheduler Service, {cluster}-scheduler, port tcp-comm."
        ),
        examples=["analytics"],
    )
    cluster_namespace: str | None = Field(
        None,
        max_length=63,
        pattern=_DNS_LABEL,
        description="The DaskCluster's namespace (default: the monitor's).",
    )

    @model_validator(mode="after")
    @cel(CelRule("has(self.address) != has(self.cluster)", "set exactly one of address or cluster"))
    def _one_way_to_the_scheduler(self) -> DaskRef:
        if (self.address is None) == (self.cluster is None):
            raise ValueError("set exactly one of address or cluster")
        return self

    @model_validator(mode="after")
    @cel(
        CelRule(
            "!has(self.clusterNamespace) || has(self.cluster)",
            "clusterNamespace is for cluster: name the DaskCluster, or remove clusterNamespace",
            ".clusterNamespace",
        )
    )
    def _namespace_of_a_cluster(self) -> DaskRef:
        if self.cluster_namespace is not None and self.cluster is None:
            raise ValueError("clusterNamespace is for cluster: name the DaskCluster, or remove clusterNamespace")
        return self


class Resources(SpecModel):
    limits: dict[str, str] | None = None
    requests: dict[str, str] | None = None


class JobTemplate(SpecModel):
    """Overrides for the Job of the ``job`` runner."""

    resources: Resources | None = None
    node_selector: dict[str, str] | None = None
    tolerations: list[dict[str, Any]] | None = Field(None, max_length=50)
    service_account_name: str | None = Field(
        None, max_length=253, description="Default: the per-monitor service account the operator manages."
    )
    image_pull_secrets: list[LocalObjectReference] | None = Field(None, max_length=20)
    active_deadline_seconds: int = Field(3600, ge=1, le=604800)
    security_context: dict[str, Any] | None = Field(
        None,
        description="Replaces the check container's securityContext (default: no privilege escalation, read-only "
        "root filesystem, no capabilities).",
    )
    pod_security_context: dict[str, Any] | None = Field(
        None, description="Replaces the pod's securityContext (default: non-root user 65532, seccomp RuntimeDefault)."
    )


class Credentials(SpecModel):
    """A Secret in the monitor's namespace whose keys become environment variables for data access."""

    secret_ref: LocalObjectReference
