"""Whether replicas coordinate through kopf peering: decided before kopf starts, and said out loud.

kopf, given a peering name, waits until its peering object exists: silently, and for as
long as one waits.  So the operator looks for the object first.  With the default name, a
missing object means running standalone, with a warning that says how to enable peering.
A name the user asked for explicitly (``--peering NAME``) must exist: the operator exits at
once with the command that creates it, since several replicas without it would all act.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

DEFAULT_PEERING = "modelmonitor"


class PeeringLookupError(RuntimeError):
    """The peering object could not be looked up (permissions, connection)."""


@dataclass(frozen=True)
class PeeringChoice:
    name: str | None  # None: standalone
    warning: str = ""  # logged at start-up when set
    error: str = ""  # the operator exits with this when set


Lookup = Callable[[str | None, str], str]  # (namespace or None, name) -> "found" | "missing" | "no-crd"


def create_command(name: str, namespace: str | None) -> str:
    kind = "KopfPeering" if namespace else "ClusterKopfPeering"
    document = json.dumps({"apiVersion": "kopf.dev/v1", "kind": kind, "metadata": {"name": name}})
    where = f" -n {namespace}" if namespace else ""
    return f"echo '{document}' | kubectl apply{where} -f -"


def choose_peering(
    *, requested: str | None, clusterwide: bool, namespaces: Sequence[str], lookup: Lookup
) -> PeeringChoice:
    """Which peering to use; ``requested`` is the ``--peering`` value, None when not given."""
    name = requested or DEFAULT_PEERING
    scopes: list[str | None] = [None] if clusterwide else list(namespaces)
    states = {scope: lookup(scope, name) for scope in scopes}
    absent = [scope for scope, state in states.items() if state != "found"]
    if not absent:
        return PeeringChoice(name)
    kind = "ClusterKopfPeering" if clusterwide else "KopfPeering"
    where = "" if clusterwide else " in namespace " + ", ".join(str(scope) for scope in absent)
    steps = []
    if any(states[scope] == "no-crd" for scope in absent):
        steps.append("kubectl apply -f crds/  # the kopf.dev peering CRDs ship with modelmonitor's CRDs")
    steps += [create_command(name, scope) for scope in absent]
    missing = f"no {kind} {name!r}{where}"
    if requested is not None:
        return PeeringChoice(
            None,
            error=f"{missing}: replicas cannot coordinate without it. Create it:\n  "
            + "\n  ".join(steps)
            + "\nor run a single replica with --standalone",
        )
    return PeeringChoice(
        None,
        warning=f"{missing}: running standalone, without coordinating with other replicas. "
        f"To run several replicas, create it ({'; '.join(steps)}) and pass --peering {name}",
    )


def kubernetes_lookup(api: object) -> Lookup:
    """A lookup through the kubernetes client: found, missing, or no-crd (the kind is not served)."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    custom = client.CustomObjectsApi(api)

    def lookup(namespace: str | None, name: str) -> str:
        try:
            if namespace is None:
                custom.get_cluster_custom_object("kopf.dev", "v1", "clusterkopfpeerings", name)
            else:
                custom.get_namespaced_custom_object("kopf.dev", "v1", namespace, "kopfpeerings", name)
        except ApiException as error:
            if error.status == 404:
                return "missing" if _names_an_object(error.body) else "no-crd"
            raise PeeringLookupError(
                f"cannot read the kopf peering object {name!r}: {error.status} {error.reason}"
            ) from None
        except Exception as error:  # connection refused, TLS, DNS: say so instead of a traceback
            raise PeeringLookupError(f"cannot reach the API server: {error}") from None
        return "found"

    return lookup


def _names_an_object(body: str | bytes | None) -> bool:
    """A 404 for a missing object has a Status naming it; an unknown kind has none."""
    try:
        status = json.loads(body or "")
    except (TypeError, ValueError):
        return False
    return bool(isinstance(status, dict) and (status.get("details") or {}).get("name"))
