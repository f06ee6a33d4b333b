"""The operator's few API calls, through the kubernetes client (run in threads by handlers)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from modelmonitor.controller.naming import GROUP, MONITOR_LABEL, MONITORS, ROLLOUTS, RUNS, VERSION
from modelmonitor.controller.sharding import MEMBER_LABEL, LeaseView, lease_view
from modelmonitor.times import precise_iso

REQUEST_TIMEOUT = (10.0, 30.0)  # seconds to connect, and to wait for each read of an answer


T = TypeVar("T")


def load_config() -> client.ApiClient:
    try:
        config.load_incluster_config()
        api = client.ApiClient()
    except config.ConfigException:
        api = config.new_client_from_config()
    return with_request_timeout(api, REQUEST_TIMEOUT)


def with_request_timeout(api: client.ApiClient, timeout: tuple[float, float]) -> client.ApiClient:
    """Give every request a timeout unless it names its own: the client's default is to wait forever.

    A connection that goes silent (an API server stalled, a NAT entry dropped) would
    otherwise hang the call, and the handler awaiting it, for good.
    """
    send = api.rest_client.request

    def timed(*args: Any, _request_timeout: Any = None, **kwargs: Any) -> Any:
        return send(*args, _request_timeout=_request_timeout or timeout, **kwargs)

    api.rest_client.request = timed
    return api


def request(
    api: client.ApiClient,
    method: str,
    path: str,
    body: Any = None,
    *,
    content_type: str = "application/json",
    query: list[tuple[str, str]] | None = None,
) -> Any:
    """A request for any path, its JSON answer parsed (the client's deserialiser differs across versions)."""
    response = api.call_api(
        path,
        method,
        query_params=query or [],
        body=body,
        header_params={"Accept": "application/json", "Content-Type": content_type},
        auth_settings=["BearerToken"],
        _return_http_data_only=True,
        _preload_content=False,
    )
    return json.loads(response.data or b"null")


def api_message(error: ApiException) -> str:
    """The API server's own words for a refusal (its Status message), else the raw body."""
    try:
        return str(json.loads(error.body or "{}").get("message") or error.body)
    except ValueError:
        return str(error.body)


TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


def is_transient(error: Exception) -> bool:
    """An API server away or overloaded (worth trying again), not a refusal (which would be refused again)."""
    if isinstance(error, ApiException):
        return error.status in TRANSIENT_STATUSES or not error.status
    return isinstance(error, urllib3.exceptions.HTTPError | OSError)


def with_retries(
    call: Callable[[], T], *, give_up_after: float = 180.0, sleep: Callable[[float], None] = time.sleep
) -> T:
    """``call()``, tried again after transient failures (1, 2, 4 ... 30 s apart) for up to ``give_up_after`` s."""
    waited, delay = 0.0, 1.0
    while True:
        try:
            return call()
        except Exception as error:
            if not is_transient(error) or waited + delay > give_up_after:
                raise
        sleep(delay)
        waited, delay = waited + delay, min(delay * 2, 30.0)


def api_base(api_version: str) -> str:
    """``/apis/GROUP/VERSION``, or ``/api/v1`` for the core group."""
    return f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"


class KindNotServed(LookupError):
    """The API server serves no such apiVersion and kind (its CRD is not installed)."""


class Kube:
    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self._plurals: dict[tuple[str, str], str] = {}
        self.custom = client.CustomObjectsApi(api)
        self.batch = client.BatchV1Api(api)
        self.core = client.CoreV1Api(api)
        self.rbac = client.RbacAuthorizationV1Api(api)
        self.coordination = client.CoordinationV1Api(api)

    # --- ModelMonitors and MonitorRuns -------------------------------------------------
    def _get(self, namespace: str, plural: str, name: str) -> dict[str, Any] | None:
        """A custom object, or None when it does not exist."""
        try:
            return self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def get_monitor(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._get(namespace, MONITORS, name)

    def _patch_status(self, namespace: str, plural: str, name: str, status: dict[str, Any]) -> None:
        """Patch the status subresource, without decoding the object the server sends back.

        The answer carries the whole object (a run's results are ~15 KB): decoding it into
        dicts nobody reads took a sixth of a busy operator's CPU (py-spy, 1,000 monitors).
        """
        response = self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, plural, name, {"status": status}, _preload_content=False
        )
        response.read()  # the bytes, undecoded: a connection let go unread aborts the request on the server
        response.release_conn()

    def patch_monitor_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self._patch_status(namespace, MONITORS, name, status)

    def patch_rollout_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self._patch_status(namespace, ROLLOUTS, name, status)

    def set_monitor_version(self, namespace: str, name: str, version: str) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, MONITORS, name, {"spec": {"model": {"version": version}}}
        )

    def get_run(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._get(namespace, RUNS, name)

    def create_run(self, namespace: str, body: dict[str, Any]) -> bool:
        """Create a MonitorRun; False when one of that name exists already (a retry)."""
        try:
            self.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, RUNS, body)
        except ApiException as error:
            if error.status == 409:
                return False
            raise
        return True

    def patch_run_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self._patch_status(namespace, RUNS, name, status)

    def list_runs(self, namespace: str, monitor: str) -> list[dict[str, Any]]:
        listed = self.custom.list_namespaced_custom_object(
            GROUP, VERSION, namespace, RUNS, label_selector=f"{MONITOR_LABEL}={monitor}"
        )
        return list(listed["items"])

    def delete_run(self, namespace: str, name: str) -> None:
        try:
            self.custom.delete_namespaced_custom_object(
                GROUP, VERSION, namespace, RUNS, name, body=client.V1DeleteOptions(propagation_policy="Background")
            )
        except ApiException as error:
            if error.status != 404:
                raise

    # --- shard members' Leases --------------------------------------------------------
    def renew_lease(self, namespace: str, name: str, identity: str, duration: timedelta, now: datetime) -> None:
        """Renew this replica's Lease, or take it anew (acquireTime: now) when missing, another's or stale."""
        stamp = precise_iso(now)
        spec = {
            "holderIdentity": identity,
            "leaseDurationSeconds": int(duration.total_seconds()),
            "acquireTime": stamp,
            "renewTime": stamp,
        }
        body = {"metadata": {"name": name, "labels": {MEMBER_LABEL: "true"}}, "spec": spec}
        try:
            current = self.coordination.read_namespaced_lease(name, namespace)
        except ApiException as error:
            if error.status != 404:
                raise
            self.coordination.create_namespaced_lease(namespace, body)
            return
        held = current.spec.holder_identity == identity and current.spec.acquire_time and current.spec.renew_time
        if held and current.spec.renew_time + timedelta(seconds=current.spec.lease_duration_seconds or 0) > now:
            # still ours and fresh: a member since then (one whose Lease went stale joins anew)
            spec["acquireTime"] = precise_iso(current.spec.acquire_time)
        body["metadata"]["resourceVersion"] = current.metadata.resource_version  # a conflict rather than a lost write
        self.coordination.replace_namespaced_lease(name, namespace, body)

    def member_leases(self, namespace: str) -> list[LeaseView]:
        listed = self.coordination.list_namespaced_lease(namespace, label_selector=f"{MEMBER_LABEL}=true")
        views = (lease_view(self.api.sanitize_for_serialization(lease)) for lease in listed.items)
        return [view for view in views if view is not None]

    def delete_lease(self, namespace: str, name: str) -> None:
        try:
            self.coordination.delete_namespaced_lease(name, namespace)
        except ApiException as error:
            if error.status != 404:
                raise

    def annotate_monitor(self, namespace: str, name: str, annotations: dict[str, str | None]) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, MONITORS, name, {"metadata": {"annotations": annotations}}
        )

    def clear_monitor_annotation(self, namespace: str, name: str, key: str, value: str) -> bool:
        """Remove an annotation only while it still holds ``value``; False when it has changed or gone.

        A plain merge patch would also remove a newer value a user wrote meanwhile (a second
        run-now while another operator clears the first), so the JSON patch tests it first.
        """
        path = f"/metadata/annotations/{key.replace('~', '~0').replace('/', '~1')}"
        operations = [{"op": "test", "path": path, "value": value}, {"op": "remove", "path": path}]
        try:
            request(
                self.api,
                "PATCH",
                f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{MONITORS}/{name}",
                operations,
                content_type="application/json-patch+json",
            )
        except ApiException as error:
            if error.status in (404, 422):  # gone, or the test failed: the annotation is someone else's now
                return False
            raise
        return True

    # --- Jobs ------------------------------------------------------------------------
    def create_job(self, namespace: str, body: dict[str, Any]) -> None:
        try:
            self.batch.create_namespaced_job(namespace, body)
        except ApiException as error:
            if error.status != 409:
                raise

    def job_pods(self, namespace: str, job: str) -> list[dict[str, Any]]:
        pods = self.core.list_namespaced_pod(namespace, label_selector=f"job-name={job}")
        return [self.core.api_client.sanitize_for_serialization(pod) for pod in pods.items]

    def delete_job(self, namespace: str, name: str) -> None:
        try:
            self.batch.delete_namespaced_job(name, namespace, propagation_policy="Background")
        except ApiException as error:
            if error.status != 404:
                raise

    # --- credentials and the runner's least-privilege identity --------------------------
    def secret_env(self, namespace: str, name: str) -> dict[str, str]:
        secret = self.core.read_namespaced_secret(name, namespace)
        return {key: base64.b64decode(value).decode() for key, value in (secret.data or {}).items()}

    def ensure_runner_identity(self, namespace: str, monitor: str, account: str, owner: dict[str, Any]) -> None:
        """A ServiceAccount allowed to read its monitor and write its runs' status, nothing more."""
        metadata = {
            "name": account,
            "namespace": namespace,
            "labels": {MONITOR_LABEL: monitor},
            "ownerReferences": [owner],
        }
        role = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": metadata,
            "rules": [
                {"apiGroups": [GROUP], "resources": [MONITORS], "resourceNames": [monitor], "verbs": ["get"]},
                {"apiGroups": [GROUP], "resources": [RUNS], "verbs": ["get"]},
                {"apiGroups": [GROUP], "resources": [f"{RUNS}/status"], "verbs": ["get", "patch"]},
            ],
        }
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": metadata,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        }
        for create in (
            lambda: self.core.create_namespaced_service_account(namespace, {"metadata": metadata}),
            lambda: self.rbac.create_namespaced_role(namespace, role),
            lambda: self.rbac.create_namespaced_role_binding(namespace, binding),
        ):
            try:
                create()
            except ApiException as error:
                if error.status != 409:
                    raise

    # --- any kind (retraining objects) --------------------------------------------------
    def plural(self, api_version: str, kind: str) -> str:
        """The resource name serving a kind, from discovery (cached)."""
        key = (api_version, kind)
        if key not in self._plurals:
            try:
                listing = request(self.api, "GET", api_base(api_version))
            except ApiException as error:
                if error.status == 404:
                    raise KindNotServed(f"the API server does not serve {api_version}") from None
                raise
            for resource in listing.get("resources", []):
                if resource.get("kind") == kind and "/" not in resource["name"]:
                    self._plurals[key] = resource["name"]
                    break
            else:
                raise KindNotServed(f"the API server serves no kind {kind} in {api_version}")
        return self._plurals[key]

    def _path(self, api_version: str, kind: str, namespace: str, name: str | None = None) -> str:
        path = f"{api_base(api_version)}/namespaces/{namespace}/{self.plural(api_version, kind)}"
        return f"{path}/{name}" if name else path

    def create_object(self, namespace: str, body: dict[str, Any]) -> bool:
        """Create any namespaced object; False when one of that name exists already (a retry)."""
        try:
            request(self.api, "POST", self._path(body["apiVersion"], body["kind"], namespace), body)
        except ApiException as error:
            if error.status == 409:
                return False
            raise
        return True

    def get_object(self, namespace: str, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = request(self.api, "GET", self._path(api_version, kind, namespace, name))
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return found
