"""What every router does with its object: read it, patch it under our field manager, and say who else wrote it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelmonitor.controller.kube import request
from modelmonitor.controller.rollouts.routers import FIELD_MANAGER, RouterError


def read(custom: Any, group: str, version: str, namespace: str, plural: str, name: str, kind: str) -> dict[str, Any]:
    from kubernetes.client.rest import ApiException

    try:
        return dict(custom.get_namespaced_custom_object(group, version, namespace, plural, name))
    except ApiException as error:
        if error.status == 404:
            raise RouterError(
                f"{kind} {namespace}/{name} not found (or its CRD, {plural}.{group}, is not installed)"
            ) from None
        raise RouterError(f"{kind} {namespace}/{name}: {error.status} {error.reason}") from None


def patch(custom: Any, path: str, body: Any, content_type: str, what: str) -> None:
    """A PATCH under the field manager ``modelmonitor-rollouts``, so managedFields tell our writes from others'."""
    from kubernetes.client.rest import ApiException

    try:
        request(
            custom.api_client, "PATCH", path, body, content_type=content_type, query=[("fieldManager", FIELD_MANAGER)]
        )
    except ApiException as error:
        raise RouterError(f"{what}: setting weights failed: {error.status} {error.reason}") from None


def last_writer(obj: dict[str, Any], *spec_path: str) -> str:
    """The field manager, other than ours, that owns ``spec.<spec_path>`` (managedFields), with when."""

    def owns(fields: dict[str, Any]) -> bool:
        node = fields.get("f:spec") or {}
        for key in spec_path:
            if f"f:{key}" not in node:
                return False
            node = node[f"f:{key}"] or {}
        return True

    owners = [
        entry
        for entry in (obj.get("metadata") or {}).get("managedFields") or []
        if owns(entry.get("fieldsV1") or {})
        and entry.get("subresource", "") == ""
        and entry.get("manager") != FIELD_MANAGER
    ]
    if not owners:
        return ""
    latest = max(owners, key=lambda entry: entry.get("time") or "")
    return f"{latest.get('manager', '?')} ({latest.get('operation', '?')} at {latest.get('time', '?')})"


def arm_indexes(names: list[Any], backends: Mapping[str, str], where: str, entry: str) -> dict[str, int]:
    """Where each arm's backend is in a list of named entries (``where``: the list, as messages say it)."""
    found = {arm: names.index(backend) for arm, backend in backends.items() if backend in names}
    missing = [backend for arm, backend in backends.items() if arm not in found]
    if missing:
        raise RouterError(
            f"{where} has no {entry} named {', '.join(missing)} (it has {', '.join(map(str, names)) or 'none'})"
        )
    return found


def weight_operations(
    base: str, indexes: Mapping[str, int], backends: Mapping[str, str], weights: Mapping[str, int]
) -> list[dict[str, Any]]:
    """A JSON patch of the arms' ``weight`` fields in a list at ``base``, each first testing that its entry still
    names the arm's backend: a concurrent edit of the list fails the patch instead of being overwritten."""
    operations: list[dict[str, Any]] = []
    for arm, index in indexes.items():
        operations.append({"op": "test", "path": f"{base}/{index}/name", "value": backends[arm]})
        operations.append({"op": "add", "path": f"{base}/{index}/weight", "value": int(weights[arm])})
    return operations
