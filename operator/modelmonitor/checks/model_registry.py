"""A spec whose model lives in a registry (``model.mlflow``), made concrete for one run.

The alias is resolved once, by the process that starts the checks, and the spec it passes on
names that version (``model.version``, ``model.mlflow.version``): every process of the run
(a Dask worker too) reads the same version even if the alias moves meanwhile. The version
selects the logs' rows as a written version does (with ``data.columns.modelVersion``).

``model.mlflow.referenceArtifact`` becomes ``data.reference``: the artifact's own URI when the
run's artifacts are in a store the data layer reads (``s3://``, ``gs://``, a path), read with
the monitor's credentials; when the tracking server serves them (``mlflow-artifacts:``), its
HTTP URL, or, if the server wants credentials, a copy downloaded once into this machine's
temporary folder (a registered version's artifacts do not change).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from modelmonitor.api.data import DataSource
from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.api.registry import MlflowModel
from modelmonitor.tracking import registry
from modelmonitor.tracking.client import ARTIFACTS, Mlflow

CACHE = "modelmonitor-mlflow-artifacts"


def resolved(spec: ModelMonitorSpec, env: Mapping[str, str] | None) -> ModelMonitorSpec:
    """``spec`` at the version its registry names now, with its reference data located; unchanged without one.

    Raises :class:`~modelmonitor.errors.RegistryError` when the registry cannot say.
    """
    mlflow = spec.model.mlflow
    if mlflow is None:
        return spec
    server = Mlflow.at(mlflow.tracking_uri, env)
    if mlflow.alias is not None:
        mlflow = mlflow.pinned(registry.version_by_alias(server, mlflow.name, mlflow.alias).version)
    assert mlflow.version is not None  # an alias or a version, and the alias is resolved
    model = spec.model.model_copy(update={"version": mlflow.version, "mlflow": mlflow})
    data = spec.data
    if mlflow.reference_artifact is not None:
        data = data.model_copy(update={"reference": _reference(server, mlflow)})
        model = model.model_copy(update={"mlflow": mlflow.model_copy(update={"reference_artifact": None})})
    return spec.model_copy(update={"model": model, "data": data})


def _reference(server: Mlflow, mlflow: MlflowModel) -> DataSource:
    assert mlflow.version is not None and mlflow.reference_artifact is not None
    version = registry.get_version(server, mlflow.name, mlflow.version)
    uri = registry.artifact_of(server, version, mlflow.reference_artifact)
    if (path := registry.proxied_path(uri)) is not None:
        uri = _downloaded(server, path) if server.authenticated else f"{server.uri}/{ARTIFACTS}/{path}"
    return DataSource(uri=uri, format=mlflow.reference_format)


def _downloaded(server: Mlflow, path: str) -> str:
    """The proxied artifact at ``path``, copied once into the temporary folder; the copy's path."""
    key = hashlib.sha256(f"{server.uri}\n{path}".encode()).hexdigest()[:24]
    target = Path(tempfile.gettempdir()) / CACHE / key / PurePosixPath(path).name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        server.download_to(path, partial, doing=f"downloading the reference artifact {path}")
        partial.replace(target)  # whole or absent: a crash never leaves half a reference to be read
    return str(target)
