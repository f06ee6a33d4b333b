"""Other projects' CRDs, which tests and the demo install on the dev cluster.

Each comes from the project's own published artefact, fetched once into the cache: a Go
module through the module proxy (Gateway API, Argo Workflows, Tekton, Istio, KServe, the
Prometheus Operator), or the dask-kubernetes wheel from PyPI, which has no Go module.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from modelmonitor_tools.devcluster.assets import AssetError, Progress, cache_root, module_info, stderr_progress

GATEWAY_API_VERSION = "v1.4.1"
ARGO_WORKFLOWS_VERSION = "v3.7.3"
TEKTON_PIPELINE_VERSION = "v1.3.0"
# CRDs of pipeline systems that retraining creates objects of: (module, version, file in the module)
PIPELINE_CRDS = (
    (
        "github.com/argoproj/argo-workflows/v3",
        ARGO_WORKFLOWS_VERSION,
        "manifests/base/crds/minimal/argoproj.io_workflows.yaml",
    ),
    ("github.com/tektoncd/pipeline", TEKTON_PIPELINE_VERSION, "config/300-crds/300-pipelinerun.yaml"),
)
ISTIO_API_VERSION = "v1.27.0"
KSERVE_VERSION = "v0.15.2"
# CRDs of the traffic routers a ModelRollout drives (Gateway API's come with ensure_gateway_api_crds)
ROUTER_CRDS = (
    ("istio.io/api", ISTIO_API_VERSION, "kubernetes/customresourcedefinitions.gen.yaml"),
    ("github.com/kserve/kserve", KSERVE_VERSION, "config/crd/full/serving.kserve.io_inferenceservices.yaml"),
)
PROMETHEUS_OPERATOR_VERSION = "v0.85.0"
# The Prometheus Operator's ServiceMonitor and PrometheusRule, which the chart's toggles create
MONITORING_CRDS = tuple(
    (
        "github.com/prometheus-operator/prometheus-operator",
        PROMETHEUS_OPERATOR_VERSION,
        f"example/prometheus-operator-crd/monitoring.coreos.com_{plural}.yaml",
    )
    for plural in ("servicemonitors", "prometheusrules")
)
# The dask-kubernetes operator's CRDs (DaskCluster, for runner dask), from its package on PyPI (it has no Go module)
DASK_KUBERNETES_VERSION = "2026.3.0"
DASK_CRDS_IN_WHEEL = "dask_kubernetes/operator/deployment/helm/dask-kubernetes-operator/crds/"


def ensure_gateway_api_crds(progress: Progress = stderr_progress) -> Path:
    """The Gateway API standard-channel CRD YAML files, from the gateway-api module."""
    target = cache_root() / f"gateway-api-{GATEWAY_API_VERSION}" / "standard"
    if not any(target.glob("*.yaml")):
        workdir = cache_root() / "build" / f"gateway-api-{GATEWAY_API_VERSION}"
        info = module_info("sigs.k8s.io/gateway-api", GATEWAY_API_VERSION, workdir, progress)
        source = Path(info["Dir"]) / "config" / "crd" / "standard"
        if not source.is_dir():
            raise AssetError(f"no standard-channel CRDs in {info['Dir']}")
        target.mkdir(parents=True, exist_ok=True)
        for crd in source.glob("*.yaml"):
            shutil.copyfile(crd, target / crd.name)
    return target


def _module_files(name: str, files: tuple[tuple[str, str, str], ...], progress: Progress) -> Path:
    """Files copied out of published Go modules into the cache: ``files`` holds (module, version, path)."""
    target = cache_root() / (name + "-" + "-".join(version for _, version, _ in files))
    if len(list(target.glob("*.yaml"))) < len(files):
        target.mkdir(parents=True, exist_ok=True)
        for module, version, path in files:
            workdir = cache_root() / "build" / f"{module.replace('/', '_')}-{version}"
            source = Path(module_info(module, version, workdir, progress)["Dir"]) / path
            if not source.is_file():
                raise AssetError(f"no {path} in {module}@{version}")
            shutil.copyfile(source, target / source.name)
    return target


def ensure_pipeline_crds(progress: Progress = stderr_progress) -> Path:
    """The Argo Workflows Workflow and Tekton PipelineRun CRDs, from their published modules."""
    return _module_files("pipeline-crds", PIPELINE_CRDS, progress)


def ensure_router_crds(progress: Progress = stderr_progress) -> Path:
    """Istio's CRDs (VirtualService among them) and KServe's InferenceService CRD, from their published modules."""
    return _module_files("router-crds", ROUTER_CRDS, progress)


def ensure_monitoring_crds(progress: Progress = stderr_progress) -> Path:
    """The Prometheus Operator's ServiceMonitor and PrometheusRule CRDs, from its published module."""
    return _module_files("monitoring-crds", MONITORING_CRDS, progress)


def ensure_dask_crds(progress: Progress = stderr_progress) -> Path:
    """The dask-kubernetes operator's CRDs, out of its published wheel (downloaded once, not installed)."""
    target = cache_root() / f"dask-crds-{DASK_KUBERNETES_VERSION}"
    if (target / "daskcluster.yaml").is_file():
        return target
    workdir = cache_root() / "build" / f"dask-kubernetes-{DASK_KUBERNETES_VERSION}"
    workdir.mkdir(parents=True, exist_ok=True)
    progress(f"downloading dask-kubernetes {DASK_KUBERNETES_VERSION} from PyPI for its CRDs")
    requirement = f"dask-kubernetes=={DASK_KUBERNETES_VERSION}"
    download = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", requirement]
    result = subprocess.run([*download, "-d", str(workdir)], capture_output=True, text=True)
    wheels = sorted(workdir.glob(f"dask_kubernetes-{DASK_KUBERNETES_VERSION}-*.whl"))
    if result.returncode != 0 or not wheels:
        raise AssetError(f"cannot download {requirement}: {result.stderr.strip()[-500:]}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = [n for n in wheel.namelist() if n.startswith(DASK_CRDS_IN_WHEEL) and n.endswith(".yaml")]
        if not any(name.endswith("/daskcluster.yaml") for name in names):
            raise AssetError(f"no {DASK_CRDS_IN_WHEEL}daskcluster.yaml in {wheels[0].name}")
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name in names:
            (staging / Path(name).name).write_bytes(wheel.read(name))
        staging.rename(target)  # whole or absent: an interrupted extraction is not taken for a cached one
    return target
