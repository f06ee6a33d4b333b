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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.8"  # pinned by k8s.io/kubernetes v1.36.3's go.mod
HELM_VERSION = "v3.19.5"
ARGO_ROLLOUTS_VERSION = "v1.8.3"

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


def stderr_progress(message: str) -> None:
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


def run_go(args: list[str], workdir: Path, progress: Progress) -> str:
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


def module_info(module: str, version: str, workdir: Path, progress: Progress) -> dict[str, str]:
    workdir.mkdir(parents=True, exist_ok=True)
    info: dict[str, str] = json.loads(run_go(["mod", "download", "-json", f"{module}@{version}"], workdir, progress))
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
    info = module_info("k8s.io/kubernetes", KUBERNETES_VERSION, workdir, progress)
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
    run_go(
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
    run_go(
        ["build", "-trimpath", "-ldflags", f"-s -w {ldflags}".strip(), "-o", str(target / binary), package],
        workdir,
        progress,
    )


def _cached(directory: Path, binaries: tuple[str, ...]) -> bool:
    return all(_is_executable(directory / name) for name in binaries)


def kubernetes_dir() -> Path:
    return cache_root() / f"kubernetes-{KUBERNETES_VERSION}"


def ensure_kubernetes(progress: Progress = stderr_progress) -> Path:
    target = kubernetes_dir()
    if not _cached(target, KUBERNETES_COMMANDS):
        target.mkdir(parents=True, exist_ok=True)
        _build_kubernetes(target, progress)
    return target


def ensure_etcd(progress: Progress = stderr_progress) -> Path:
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


def ensure_argo_rollouts(progress: Progress = stderr_progress) -> tuple[Path, Path]:
    """The Argo Rollouts controller, built from its module with its own replaces, and its CRDs."""
    module = "github.com/argoproj/argo-rollouts"
    target = cache_root() / f"argo-rollouts-{ARGO_ROLLOUTS_VERSION}"
    crds = target / "crds"
    if not _cached(target, ("rollouts-controller",)) or not any(crds.glob("*.yaml")):
        workdir = cache_root() / "build" / f"argo-rollouts-{ARGO_ROLLOUTS_VERSION}"
        info = module_info(module, ARGO_ROLLOUTS_VERSION, workdir, progress)
        extra = replace_directives(Path(info["GoMod"]).read_text())
        _write_wrapper(workdir, {module: ARGO_ROLLOUTS_VERSION}, {}, extra)
        progress(f"building the Argo Rollouts controller {ARGO_ROLLOUTS_VERSION}")
        run_go(
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


def ensure_helm(progress: Progress = stderr_progress) -> Path:
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


def ensure_assets(progress: Progress = stderr_progress) -> Assets:
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
