"""Build (or find) everything the dev cluster, the tests and the demo use: ``python -m modelmonitor_tools.devcluster``.

Prints each one as ``NAME=PATH``; ``make assets`` runs it.
"""

from __future__ import annotations

from modelmonitor_tools.devcluster.assets import AssetError, ensure_argo_rollouts, ensure_assets, ensure_helm
from modelmonitor_tools.devcluster.crds import (
    ensure_dask_crds,
    ensure_gateway_api_crds,
    ensure_monitoring_crds,
    ensure_pipeline_crds,
    ensure_router_crds,
)
from modelmonitor_tools.devcluster.object_store import ensure_seaweedfs


def main() -> None:
    try:
        assets = ensure_assets()
        helm = ensure_helm()
        crds = ensure_gateway_api_crds()
        pipelines = ensure_pipeline_crds()
        routers = ensure_router_crds()
        monitoring = ensure_monitoring_crds()
        dask = ensure_dask_crds()
        argo_rollouts, _ = ensure_argo_rollouts()
        weed = ensure_seaweedfs()
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
        "WEED": str(weed),
    }
    for name, path in found.items():
        print(f"{name}={path}")


if __name__ == "__main__":
    main()
