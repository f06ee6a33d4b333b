"""Generated specs thrown at both gates, the pydantic model and the API server's CRD schema (with its CEL
rules): what test_generated_specs.py (monitors) and test_generated_rollout_specs.py (rollouts) share."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from kubernetes import client
from kubernetes.client.rest import ApiException

from modelmonitor.errors import SpecError
from tests.controller.conftest import GROUP, VERSION
from tests.helpers import DELETE, with_value


def generated(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,  # the same specs in every run: a disagreement found is found again
        database=None,  # and in every clone: no examples replayed from an earlier run
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def mutated(draw: st.DrawFn, valid: dict[str, Any], mutations: Mapping[str, Any]) -> dict[str, Any]:
    """``valid`` with one to four of ``mutations`` (a dotted path: a strategy for its value) applied."""
    document = valid
    for path in draw(st.lists(st.sampled_from(sorted(mutations)), min_size=1, max_size=4, unique=True)):
        value = draw(mutations[path])
        *parents, last = path.split(".")
        parent: Any = document
        for part in parents:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if parent is None:
            continue  # a field whose parent an earlier mutation removed
        if value is not DELETE or last in parent:
            document = with_value(document, path, value)
    return document


def assert_both_gates_agree(
    api_client: Any, namespace: str, plural: str, document: dict[str, Any], parse: Callable[[dict[str, Any]], Any]
) -> None:
    """Accepted by both or refused by both; a refusal names the field (or spec, for a rule across fields)."""
    try:
        parse(document["spec"])
        model_error = None
    except SpecError as error:
        model_error = str(error)
    try:
        client.CustomObjectsApi(api_client).create_namespaced_custom_object(
            GROUP, VERSION, namespace, plural, document, dry_run="All", field_validation="Strict"
        )
        server_error = None
    except ApiException as error:
        server_error = json.loads(error.body)["message"]
        # 422: a schema or CEL rule; 400: strict decoding met a field the schema does not have
        assert error.status == 422 or (error.status == 400 and "unknown field" in server_error), error.body
    event("refused by both" if model_error and server_error else "accepted by both" if not model_error else "split")
    assert (model_error is None) == (server_error is None), (
        f"disagreement on {json.dumps(document['spec'])}: model: {model_error}; API server: {server_error}"
    )
    if model_error is not None:
        assert model_error.startswith("spec"), model_error  # the field path first
        assert "spec." in server_error or "spec: " in server_error, server_error
