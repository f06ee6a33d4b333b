"""Generated specs thrown at both gates, the pydantic model and the API server's CRD schema (with its CEL
rules): what test_generated_specs.py (monitors) and test_generated_rollout_specs.py (rollouts) share.

Beyond agreeing on each spec, every CEL rule is held against its twin, the validator that declares it
(``modelmonitor.api.cel``): a spec the twin refuses, the rule refuses on the API server too, and each rule
is seen doing so at least once.
"""

from __future__ import annotations

import json
import typing
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from kubernetes import client
from kubernetes.client.rest import ApiException
from pydantic import BaseModel, ValidationError

from modelmonitor.api.cel import CelRule, RuleBroken, ValueRule, declared_rules
from modelmonitor.api.parsing import validate_as_sent
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
            if isinstance(parent, list) and part.isdigit():
                parent = parent[int(part)] if int(part) < len(parent) else None
            else:
                parent = parent.get(part) if isinstance(parent, dict) else None
        if parent is None or (isinstance(parent, list) and int(last) >= len(parent)):
            continue  # a field whose parent (or list item) an earlier mutation removed
        if value is not DELETE or last in parent:
            document = with_value(document, path, value)
    return document


# the API server's note when a schema error kept it from evaluating the CEL rules
RULES_NOT_CHECKED = "some validation rules were not checked"


def rules_in(model: type[BaseModel]) -> set[CelRule]:
    """Every CEL rule declared in a spec model and the models and value types it holds."""
    found: set[CelRule] = set()
    seen: set[type[BaseModel]] = set()

    def visit(annotation: Any) -> Iterator[Any]:
        yield annotation
        for argument in typing.get_args(annotation):
            yield from visit(argument)

    def walk(current: type[BaseModel]) -> None:
        seen.add(current)
        on_model, on_fields = declared_rules(current)
        found.update(on_model, *on_fields.values())
        for field in current.model_fields.values():
            for part in [*visit(field.annotation), *field.metadata]:
                found.update(
                    rule
                    for extra in (part, *getattr(part, "__metadata__", ()))
                    if isinstance(extra, ValueRule)
                    for rule in extra.rules
                )
                if isinstance(part, type) and issubclass(part, BaseModel) and part not in seen:
                    walk(part)

    walk(model)
    return found


def twin_rules(model: type[BaseModel], spec: Any) -> set[CelRule]:
    """The CEL rules whose twin validators refused ``spec`` (none when the model accepts it or refuses it otherwise)."""
    try:
        validate_as_sent(model, spec, "spec")
    except ValidationError as error:
        broken = [problem.get("ctx", {}).get("error") for problem in error.errors()]
        return {rule for refusal in broken if isinstance(refusal, RuleBroken) for rule in refusal.rules}
    except SpecError:
        pass
    return set()


class HeldRules:
    """How often each CEL rule refused a spec on the API server that its twin validator refused too."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.held: Counter[CelRule] = Counter()
        self.refused = self.accepted = 0

    def check(self, spec: Any, server_error: str | None) -> None:
        self.refused += server_error is not None
        self.accepted += server_error is None
        twins = twin_rules(self.model, spec)
        if not twins or server_error is None or RULES_NOT_CHECKED in server_error:
            return
        fired = {rule for rule in twins if rule.message in server_error}
        assert fired, f"a validator refused {json.dumps(spec)} but none of its rules did: {twins}; {server_error}"
        self.held.update(fired)

    def assert_every_rule_held(self) -> None:
        assert self.refused and self.accepted, "the generator must draw specs on both sides"
        unseen = sorted(rule.message for rule in rules_in(self.model) if not self.held[rule])
        assert not unseen, f"rules never seen refusing a spec with their twin: {unseen}"


def assert_both_gates_agree(
    api_client: Any,
    namespace: str,
    plural: str,
    document: dict[str, Any],
    parse: Callable[[dict[str, Any]], Any],
    held: HeldRules | None = None,
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
    if held is not None:
        held.check(document["spec"], server_error)


def assert_generated_specs_agree(
    api_client: Any,
    namespace: str,
    plural: str,
    documents: st.SearchStrategy[dict[str, Any]],
    parse: Callable[[dict[str, Any]], Any],
    model: type[BaseModel],
    max_examples: int,
) -> None:
    """Every generated document agrees on both gates, and every CEL rule of ``model`` is held against its twin."""
    held = HeldRules(model)

    @generated(max_examples)
    @given(document=documents)
    def agree(document: dict[str, Any]) -> None:
        assert_both_gates_agree(api_client, namespace, plural, document, parse, held)

    agree()
    held.assert_every_rule_held()
