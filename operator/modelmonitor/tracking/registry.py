"""MLflow's model registry: which version an alias names, where its run's artifacts are, and moving aliases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelmonitor.errors import RegistryError
from modelmonitor.tracking.client import Mlflow

PROXIED = "mlflow-artifacts:"  # artifacts the tracking server serves itself (mlflow server --serve-artifacts)


@dataclass(frozen=True)
class ModelVersion:
    """One registered model version, as the registry describes it."""

    name: str
    version: str
    run_id: str | None = None
    source: str | None = None
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_answer(cls, found: dict[str, Any]) -> ModelVersion:
        return cls(
            name=found["name"],
            version=str(found["version"]),
            run_id=found.get("run_id") or None,
            source=found.get("source") or None,
            aliases=tuple(found.get("aliases") or ()),
            tags={tag["key"]: tag.get("value", "") for tag in found.get("tags") or ()},
        )


def version_by_alias(server: Mlflow, name: str, alias: str) -> ModelVersion:
    doing = f"the version of registered model {name!r} aliased {alias!r}"
    found = server.call("GET", "registered-models/alias", query={"name": name, "alias": alias}, doing=doing)
    return ModelVersion.from_answer(found["model_version"])


def get_version(server: Mlflow, name: str, version: str) -> ModelVersion:
    doing = f"version {version} of registered model {name!r}"
    found = server.call("GET", "model-versions/get", query={"name": name, "version": version}, doing=doing)
    return ModelVersion.from_answer(found["model_version"])


def resolve(server: Mlflow, name: str, *, alias: str | None = None, version: str | None = None) -> ModelVersion:
    """The version an alias names now, or the version named; RegistryError if there is none."""
    if alias is not None:
        return version_by_alias(server, name, alias)
    if version is None:
        raise ValueError("an alias or a version is needed")
    return get_version(server, name, version)


def versions_tagged(server: Mlflow, name: str, key: str, value: str) -> list[ModelVersion]:
    """The versions of ``name`` with tag ``key`` set to ``value``, newest first."""
    quoted = {"name": name.replace("'", ""), "value": value.replace("'", "")}  # MLflow's filter has no escape
    query = {"filter": f"name='{quoted['name']}' and tags.`{key}`='{quoted['value']}'", "max_results": "100"}
    doing = f"the versions of registered model {name!r} tagged {key}={value}"
    found = server.call("GET", "model-versions/search", query=query, doing=doing).get("model_versions") or []
    return sorted((ModelVersion.from_answer(item) for item in found), key=lambda v: int(v.version), reverse=True)


def set_alias(server: Mlflow, name: str, alias: str, version: str) -> None:
    """Point ``alias`` at ``version`` (MLflow moves it from whichever version held it)."""
    body = {"name": name, "alias": alias, "version": version}
    server.call("POST", "registered-models/alias", body=body, doing=f"setting alias {alias!r} of {name!r} to {version}")


def tag_version(server: Mlflow, name: str, version: str, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        body = {"name": name, "version": version, "key": key, "value": value}
        server.call("POST", "model-versions/set-tag", body=body, doing=f"tagging version {version} of {name!r}")


def run_artifact_root(server: Mlflow, run_id: str) -> str:
    """Where a run's artifacts are: an object-store URI, a path, or ``mlflow-artifacts:/...`` (proxied)."""
    found = server.call("GET", "runs/get", query={"run_id": run_id}, doing=f"run {run_id}")
    return found["run"]["info"]["artifact_uri"]


def artifact_of(server: Mlflow, version: ModelVersion, path: str) -> str:
    """The URI of ``path`` among the artifacts of the run that made ``version``."""
    if version.run_id is None:
        raise RegistryError(
            server.uri,
            f"the artifacts of version {version.version} of {version.name!r}",
            "the version was registered without a run, so it has no run artifacts",
        )
    return f"{run_artifact_root(server, version.run_id).rstrip('/')}/{path.lstrip('/')}"


def proxied_path(uri: str) -> str | None:
    """The path on the tracking server of an ``mlflow-artifacts:`` URI (with or without a host), else None."""
    if not uri.startswith(PROXIED):
        return None
    rest = uri.removeprefix(PROXIED)
    if rest.startswith("//"):  # mlflow-artifacts://host:port/path
        rest = "/" + rest[2:].partition("/")[2]
    return rest.lstrip("/")
