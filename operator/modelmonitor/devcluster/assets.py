"""Find or build the control-plane binaries.

Resolution order for each binary, following controller-runtime's envtest:

1. ``TEST_ASSET_<NAME>`` (e.g. ``TEST_ASSET_KUBE_APISERVER``, ``TEST_ASSET_ETCD``);
2. ``KUBEBUILDER_ASSETS``, a folder holding the binaries (as ``setup-envtest`` lays out);
3. our cache, ``$MODELMONITOR_CACHE`` or ``~/.cache/modelmonitor``, keyed by version;
4. a build from the Go module proxy into that cache.

``k8s.io/kubernetes`` requires its staging modules at ``v0.0.0`` and replaces them with
local paths, which a dependent module ignores.  So we build in a throw-away wrapper
module that replaces each staging module with its published ``v0.<minor>.<patch>``
release, the list read from that Kubernetes release's own go.mod.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.8"  # pinned by k8s.io/kubernetes v1.36.3's go.mod
HELM_VERSION = "v3.19.5"
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
ARGO_ROLLOUTS_VERSION = "v1.8.3"
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

KUBERNETES_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kubectl")
BINARIES = (*KUBERNETES_COMMANDS, "etcd", "helm")

Progress = Callable[[str], None]


class AssetError(RuntimeError):
    """A binary could not be found or built."""


@dataclass(frozen=True)
class Assets:
    kube_apiserver: Path
    kube_controller_manager: Path
    kubectl: Path
    etcd: Path

    def as_kubebuilder_env(self) -> dict[str, str]:
        return {
            "TEST_ASSET_KUBE_APISERVER": str(self.kube_apiserver),
            "TEST_ASSET_KUBE_CONTROLLER_MANAGER": str(self.kube_controller_manager),
            "TEST_ASSET_KUBECTL": str(self.kubectl),
            "TEST_ASSET_ETCD": str(self.etcd),
        }


def cache_root() -> Path:
    configured = os.environ.get("MODELMONITOR_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "modelmonitor"


def _stderr_progress(message: str) -> None:
    print(f"[devcluster] {message}", file=sys.stderr, flush=True)


def _override(binary: str) -> Path | None:
    variable = "TEST_ASSET_" + binary.upper().replace("-", "_")
    if value := os.environ.get(variable):
        path = Path(value)
        if not _is_executable(path):
            raise AssetError(f"{variable}={value} is not an executable file")
        return path
    if folder := os.environ.get("KUBEBUILDER_ASSETS"):
        path = Path(folder) / binary
        if _is_executable(path):
            return path
    return None


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _go_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(GOWORK="off", GOFLAGS="-mod=mod", CGO_ENABLED="0", GOTOOLCHAIN="local")
    env.setdefault("GOPATH", str(Path.home() / "go"))
    env["PWD"] = str(workdir)
    return env


def _run_go(args: list[str], workdir: Path, progress: Progress) -> str:
    if shutil.which("go") is None:
        raise AssetError(
            "Go is needed to build the control plane (or set KUBEBUILDER_ASSETS to a folder "
            "with kube-apiserver, etcd and kubectl)"
        )
    progress("go " + " ".join(args))
    result = subprocess.run(["go", *args], cwd=workdir, env=_go_env(workdir), capture_output=True, text=True)
    if result.returncode != 0:
        raise AssetError(f"go {' '.join(args[:2])} failed in {workdir}:\n{result.stderr[-4000:]}")
    return result.stdout


def _module_info(module: str, version: str, workdir: Path, progress: Progress) -> dict[str, str]:
    workdir.mkdir(parents=True, exist_ok=True)
    info: dict[str, str] = json.loads(_run_go(["mod", "download", "-json", f"{module}@{version}"], workdir, progress))
    return info


_STAGING_REPLACE = re.compile(r"^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/", re.MULTILINE)


def staging_modules(kubernetes_go_mod: str) -> list[str]:
    """The staging modules that a Kubernetes release's go.mod replaces with local paths."""
    return sorted(set(_STAGING_REPLACE.findall(kubernetes_go_mod)))


def _write_wrapper(workdir: Path, requires: dict[str, str], replaces: dict[str, str], extra: str = "") -> None:
    lines = ["module modelmonitor.local/build", "", "go 1.26.0", ""]
    lines += [f"require {module} {version}" for module, version in requires.items()]
    lines += [f"replace {module} => {module} {version}" for module, version in replaces.items()]
    (workdir / "go.mod").write_text("\n".join(lines) + "\n" + extra)


_REPLACE_BLOCK = re.compile(r"^replace \((.*?)^\)", re.MULTILINE | re.DOTALL)
_REPLACE_LINE = re.compile(r"^replace .*$", re.MULTILINE)


def replace_directives(go_mod: str) -> str:
    """A module's replace directives, to repeat in a module that depends on it (Go ignores them there)."""
    blocks = [f"replace ({body})" for body in _REPLACE_BLOCK.findall(go_mod)]
    singles = [line for line in _REPLACE_LINE.findall(go_mod) if not line.rstrip().endswith("(")]
    return "\n".join(blocks + singles) + "\n"


def _build_kubernetes(target: Path, progress: Progress) -> None:
    workdir = cache_root() / "build" / f"kubernetes-{KUBERNETES_VERSION}"
    info = _module_info("k8s.io/kubernetes", KUBERNETES_VERSION, workdir, progress)
    staging = staging_modules(Path(info["GoMod"]).read_text())
    if not staging:
        raise AssetError(f"no staging replacements found in {info['GoMod']}")
    staging_version = "v0." + KUBERNETES_VERSION.removeprefix("v1.")
    _write_wrapper(
        workdir,
        {"k8s.io/kubernetes": KUBERNETES_VERSION},
        {module: staging_version for module in staging},
    )
    major, minor, _ = KUBERNETES_VERSION.removeprefix("v").split(".")
    version_pkg = "k8s.io/component-base/version"
    ldflags = " ".join(
        [
            "-s -w",
            f"-X {version_pkg}.gitVersion={KUBERNETES_VERSION}",
            f"-X {version_pkg}.gitMajor={major}",
            f"-X {version_pkg}.gitMinor={minor}",
            f"-X {version_pkg}.gitTreeState=clean",
        ]
    )
    progress(
        f"building Kubernetes {KUBERNETES_VERSION} ({', '.join(KUBERNETES_COMMANDS)}); "
        "this takes 15-30 minutes on 2 cores the first time"
    )
    _run_go(
        ["build", "-trimpath", "-ldflags", ldflags, "-o", str(target) + "/"]
        + [f"k8s.io/kubernetes/cmd/{command}" for command in KUBERNETES_COMMANDS],
        workdir,
        progress,
    )


def _build_module_main(
    module: str, version: str, package: str, binary: str, target: Path, progress: Progress, ldflags: str = ""
) -> None:
    workdir = cache_root() / "build" / f"{binary}-{version}"
    workdir.mkdir(parents=True, exist_ok=True)
    _write_wrapper(workdir, {module: version}, {})
    progress(f"building {binary} {version} from {module}")
    _run_go(
        ["build", "-trimpath", "-ldflags", f"-s -w {ldflags}".strip(), "-o", str(target / binary), package],
        workdir,
        progress,
    )


def _cached(directory: Path, binaries: tuple[str, ...]) -> bool:
    return all(_is_executable(directory / name) for name in binaries)


def kubernetes_dir() -> Path:
    return cache_root() / f"kubernetes-{KUBERNETES_VERSION}"


def ensure_kubernetes(progress: Progress = _stderr_progress) -> Path:
    target = kubernetes_dir()
    if not _cached(target, KUBERNETES_COMMANDS):
        target.mkdir(parents=True, exist_ok=True)
        _build_kubernetes(target, progress)
    return target


def ensure_etcd(progress: Progress = _stderr_progress) -> Path:
    target = cache_root() / f"etcd-{ETCD_VERSION}"
    if not _cached(target, ("etcd",)):
        _build_module_main(
            "go.etcd.io/etcd/server/v3",
            ETCD_VERSION,
            "go.etcd.io/etcd/server/v3",
            "etcd",
            target,
            progress,
        )
    return target / "etcd"


def ensure_argo_rollouts(progress: Progress = _stderr_progress) -> tuple[Path, Path]:
    """The Argo Rollouts controller, built from its module with its own replaces, and its CRDs."""
    module = "github.com/argoproj/argo-rollouts"
    target = cache_root() / f"argo-rollouts-{ARGO_ROLLOUTS_VERSION}"
    crds = target / "crds"
    if not _cached(target, ("rollouts-controller",)) or not any(crds.glob("*.yaml")):
        workdir = cache_root() / "build" / f"argo-rollouts-{ARGO_ROLLOUTS_VERSION}"
        info = _module_info(module, ARGO_ROLLOUTS_VERSION, workdir, progress)
        extra = replace_directives(Path(info["GoMod"]).read_text())
        _write_wrapper(workdir, {module: ARGO_ROLLOUTS_VERSION}, {}, extra)
        progress(f"building the Argo Rollouts controller {ARGO_ROLLOUTS_VERSION}")
        _run_go(
            [
                "build",
                "-trimpath",
                "-ldflags",
                "-s -w",
                "-o",
                str(target / "rollouts-controller"),
                f"{module}/cmd/rollouts-controller",
            ],
            workdir,
            progress,
        )
        crds.mkdir(parents=True, exist_ok=True)
        for crd in (Path(info["Dir"]) / "manifests" / "crds").glob("*-crd.yaml"):
            shutil.copyfile(crd, crds / crd.name)
    return target / "rollouts-controller", crds


def ensure_helm(progress: Progress = _stderr_progress) -> Path:
    if found := _override("helm"):
        return found
    target = cache_root() / f"helm-{HELM_VERSION}-1"  # -1: built with its version stamped in
    if not _cached(target, ("helm",)):
        _build_module_main(
            "helm.sh/helm/v3",
            HELM_VERSION,
            "helm.sh/helm/v3/cmd/helm",
            "helm",
            target,
            progress,
            ldflags=f"-X helm.sh/helm/v3/internal/version.version={HELM_VERSION}",
        )
    return target / "helm"


def ensure_gateway_api_crds(progress: Progress = _stderr_progress) -> Path:
    """The Gateway API standard-channel CRD YAML files, from the gateway-api module."""
    target = cache_root() / f"gateway-api-{GATEWAY_API_VERSION}" / "standard"
    if not any(target.glob("*.yaml")):
        workdir = cache_root() / "build" / f"gateway-api-{GATEWAY_API_VERSION}"
        info = _module_info("sigs.k8s.io/gateway-api", GATEWAY_API_VERSION, workdir, progress)
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
            source = Path(_module_info(module, version, workdir, progress)["Dir"]) / path
            if not source.is_file():
                raise AssetError(f"no {path} in {module}@{version}")
            shutil.copyfile(source, target / source.name)
    return target


def ensure_pipeline_crds(progress: Progress = _stderr_progress) -> Path:
    """The Argo Workflows Workflow and Tekton PipelineRun CRDs, from their published modules."""
    return _module_files("pipeline-crds", PIPELINE_CRDS, progress)


def ensure_router_crds(progress: Progress = _stderr_progress) -> Path:
    """Istio's CRDs (VirtualService among them) and KServe's InferenceService CRD, from their published modules."""
    return _module_files("router-crds", ROUTER_CRDS, progress)


def ensure_monitoring_crds(progress: Progress = _stderr_progress) -> Path:
    """The Prometheus Operator's ServiceMonitor and PrometheusRule CRDs, from its published module."""
    return _module_files("monitoring-crds", MONITORING_CRDS, progress)


def ensure_dask_crds(progress: Progress = _stderr_progress) -> Path:
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


def ensure_assets(progress: Progress = _stderr_progress) -> Assets:
    """Return the control-plane binaries, building whatever is neither given nor cached."""
    found = {name: _override(name) for name in (*KUBERNETES_COMMANDS, "etcd")}
    if any(found[name] is None for name in KUBERNETES_COMMANDS):
        built = ensure_kubernetes(progress)
        for name in KUBERNETES_COMMANDS:
            found[name] = found[name] or built / name
    if found["etcd"] is None:
        found["etcd"] = ensure_etcd(progress)
    return Assets(
        kube_apiserver=found["kube-apiserver"],  # type: ignore[arg-type]
        kube_controller_manager=found["kube-controller-manager"],  # type: ignore[arg-type]
        kubectl=found["kubectl"],  # type: ignore[arg-type]
        etcd=found["etcd"],  # type: ignore[arg-type]
    )


def main() -> None:
    """Build (or find) everything: ``python -m modelmonitor.devcluster.assets``."""
    try:
        assets = ensure_assets()
        helm = ensure_helm()
        crds = ensure_gateway_api_crds()
        pipelines = ensure_pipeline_crds()
        routers = ensure_router_crds()
        monitoring = ensure_monitoring_crds()
        dask = ensure_dask_crds()
        argo_rollouts, _ = ensure_argo_rollouts()
    except AssetError as error:
        raise SystemExit(f"error: {error}") from None
    found = {
        **assets.as_kubebuilder_env(),
        "HELM": str(helm),
        "GATEWAY_API_CRDS": str(crds),
        "PIPELINE_CRDS": str(pipelines),
        "ROUTER_CRDS": str(routers),
        "MONITORING_CRDS": str(monitoring),
        "DASK_CRDS": str(dask),
        "ARGO_ROLLOUTS": str(argo_rollouts),
    }
    for name, path in found.items():
        print(f"{name}={path}")


if __name__ == "__main__":
    main()
