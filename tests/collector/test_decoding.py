"""CloudEvents in either encoding, and V1 and V2 payloads, decoded into rows; what is malformed says why."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from modelmonitor.collector import feedback, payloads
from modelmonitor.collector.events import Kind, MalformedEvent, from_http
from modelmonitor.collector.pairing import Half, Pairing, event_time
from tests.collector.kserve_events import headers, pair, structured

ARRIVED = datetime(2026, 12, 7, 10, 15, 31, tzinfo=UTC)


def test_a_binary_event_carries_the_kserve_attributes() -> None:
    event = from_http(headers("abc", "request", metadata={"X-Request-Id": ["req-9"]}), b'{"instances": [[1, 2]]}')
    assert (event.id, event.kind, event.inference_service, event.namespace, event.component) == (
        "abc",
        Kind.REQUEST,
        "credit-risk",
        "ml",
        "predictor",
    )
    assert event.metadata == {"x-request-id": ["req-9"]}
    assert event_time(event, ARRIVED) == datetime(2026, 12, 7, 10, 15, 30, 123456, tzinfo=UTC)


def test_a_structured_event_carries_its_data_as_json_or_base64() -> None:
    event = from_http(*structured("s1", "response", {"predictions": [1]}))
    assert event.kind is Kind.RESPONSE and json.loads(event.data) == {"predictions": [1]}
    found, body = structured("s2", "request", None)
    document = json.loads(body)
    del document["data"]
    document["data_base64"] = base64.b64encode(b'{"instances": [3]}').decode()
    assert from_http(found, json.dumps(document).encode()).data == b'{"instances": [3]}'


@pytest.mark.parametrize(
    ("found", "body", "reason"),
    [
        ({"Content-Type": "application/json"}, b"{}", "not a CloudEvent: no ce-* headers"),
        ({**headers("x", "request"), "Ce-Specversion": "0.3"}, b"{}", "specversion '0.3' is not 1.0"),
        ({**headers("x", "request"), "Ce-Type": "com.example.other"}, b"{}", "event type 'com.example.other' is not"),
        ({k: v for k, v in headers("x", "request").items() if k != "Ce-Source"}, b"{}", "a CloudEvent needs source"),
        ({"Content-Type": "application/cloudevents+json"}, b"[1]", "must be a JSON object"),
        ({"Content-Type": "application/cloudevents+json"}, b"{oops", "a structured CloudEvent is not JSON"),
    ],
)
def test_a_malformed_event_is_refused_with_its_reason(found: dict[str, str], body: bytes, reason: str) -> None:
    with pytest.raises(MalformedEvent, match=reason.replace("*", r"\*").replace("(", r"\(")):
        from_http(found, body)


def test_v1_instances_as_lists_dicts_and_scalars() -> None:
    assert payloads.instances(b'{"instances": [[6.8, 2.8], [6.0, 3.4]]}') == [
        {"f0": 6.8, "f1": 2.8},
        {"f0": 6.0, "f1": 3.4},
    ]
    assert payloads.instances(b'{"instances": [{"age": 30, "tags": ["a"]}]}') == [{"age": 30, "tags": '["a"]'}]
    assert payloads.instances(b'{"instances": [5]}') == [{"f0": 5}]


def test_v2_inputs_by_tensor_name_and_outputs_with_probabilities() -> None:
    request = {
        "inputs": [
            {"name": "age", "shape": [2], "datatype": "INT64", "data": [30, 41]},
            {"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [[1.0, 2.0], [3.0, 4.0]]},
        ]
    }
    assert payloads.instances(json.dumps(request).encode()) == [
        {"age": 30, "x_0": 1.0, "x_1": 2.0},
        {"age": 41, "x_0": 3.0, "x_1": 4.0},
    ]
    response = {
        "model_name": "credit-risk",
        "model_version": "9",
        "outputs": [{"name": "probabilities", "shape": [2, 2], "datatype": "FP32", "data": [0.2, 0.8, 0.9, 0.1]}],
    }
    decoded = payloads.response(json.dumps(response).encode())
    assert decoded.model_version == "9"
    assert [(o.prediction, o.score) for o in decoded.outcomes] == [(1, 0.8), (0, pytest.approx(0.1))]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"instance": [1]}, 'no "instances" list'),
        ({"inputs": [{"name": "a", "shape": [3], "datatype": "FP32", "data": [1, 2]}]}, "2 values for shape"),
        ({"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]}, "tensor without a name"),
        (
            {
                "inputs": [
                    {"name": "a", "shape": [2], "datatype": "FP32", "data": [1, 2]},
                    {"name": "b", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]},
                ]
            },
            "has 3 instances, another 2",
        ),
    ],
)
def test_a_request_payload_that_cannot_be_read_says_why(payload: dict, reason: str) -> None:
    with pytest.raises(MalformedEvent, match=reason):
        payloads.instances(json.dumps(payload).encode())


def _half(seq: int, found: dict[str, str], body: bytes) -> Half:
    event = from_http(found, body)
    if event.kind is Kind.REQUEST:
        return Half(seq, event, ARRIVED, instances=payloads.instances(body))
    return Half(seq, event, ARRIVED, response=payloads.response(body))


def test_a_pair_makes_one_row_whichever_half_comes_first() -> None:
    (request, response) = pair("e1", {"age": 30, "prediction": "x"}, [0.25, 0.75])
    for order in ((request, response), (response, request)):
        pairing = Pairing()
        assert pairing.add(_half(1, *order[0])) == []
        [row] = pairing.add(_half(2, *order[1]))
        assert row["request_id"] == "e1" and row["prediction"] == 1 and row["score"] == 0.75
        assert row["age"] == 30 and row["feature_prediction"] == "x"  # a feature never hides the row's own columns
        assert (row["inference_service"], row["namespace"], row["component"]) == ("credit-risk", "ml", "predictor")
        assert row["_completed"] == 2 and pairing.paired == 1 and not pairing.waiting


def test_the_request_id_header_and_the_version_header_name_the_row() -> None:
    metadata = {"X-Request-Id": ["loan-77"], "X-Model-Version": ["7"]}
    pairing = Pairing(request_id_header="x-request-id", version_header="x-model-version")
    (request, response) = pair("e2", {"age": 1}, [0.5, 0.5], metadata=metadata)
    pairing.add(_half(1, *request))
    [row] = pairing.add(_half(2, *response))
    assert row["request_id"] == "loan-77" and row["model_version"] == "7"


def test_a_batch_request_gives_a_row_per_instance_numbered_after_the_request() -> None:
    pairing = Pairing()
    pairing.add(_half(1, headers("b", "request"), b'{"instances": [[1], [2], [3]]}'))
    rows = pairing.add(_half(2, headers("b", "response"), b'{"predictions": [0, 1, 1]}'))
    assert [(r["request_id"], r["f0"], r["prediction"]) for r in rows] == [("b-0", 1, 0), ("b-1", 2, 1), ("b-2", 3, 1)]


def test_an_event_whose_other_half_never_comes_is_kept_and_counted() -> None:
    pairing = Pairing()
    (request, _) = pair("lonely", {"age": 5}, [0.1, 0.9])
    (_, response) = pair("orphan", {"age": 6}, [0.2, 0.8])
    pairing.add(_half(1, *request))
    pairing.add(_half(2, *response))
    [kept] = pairing.expire("lonely", 3)
    [answered] = pairing.expire("orphan", 4)
    assert kept["age"] == 5 and kept["prediction"] is None and kept["_completed"] == 3
    assert answered["prediction"] == 1 and "age" not in answered
    assert (pairing.unpaired_requests, pairing.unpaired_responses, pairing.expire("lonely", 5)) == (1, 1, [])


NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def test_feedback_is_one_label_or_many_with_the_service_given_once() -> None:
    one = b'{"id": "loan-77", "label": 1, "inferenceService": "credit-risk", "namespace": "ml"}'
    [row] = feedback.labels(one, {}, NOW)
    assert row == {
        "request_id": "loan-77",
        "label": 1,
        "ts": NOW,
        "inference_service": "credit-risk",
        "namespace": "ml",
    }
    many = json.dumps([{"id": 5, "label": "paid", "time": "2026-12-01T08:00:00Z"}, {"id": "6", "label": False}])
    rows = feedback.labels(many.encode(), {"inferenceService": "credit-risk", "namespace": "ml"}, NOW)
    assert [(r["request_id"], r["label"], r["ts"]) for r in rows] == [
        ("5", "paid", datetime(2026, 12, 1, 8, tzinfo=UTC)),
        ("6", False, NOW),
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{nope", "the feedback is not JSON"),
        (b"[]", "holds 0 labels"),
        (b"[1]", "label 0 is not a JSON object"),
        (b'{"label": 1}', "the label needs an id"),
        (b'{"id": "a"}', "the label needs a label"),
        (b'{"id": "a", "label": [1]}', "needs a label: a number, text or a boolean"),
        (b'{"id": "a", "label": 1, "namespace": "ml"}', "needs inferenceService"),
        (b'{"id": "a", "label": 1, "inferenceService": "Credit_Risk", "namespace": "ml"}', "a DNS label"),
        (b'{"id": "a", "label": 1, "inferenceService": "c", "namespace": "ml", "time": "soon"}', "'soon' is not"),
    ],
)
def test_feedback_that_cannot_be_taken_says_why(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedEvent, match=reason):
        feedback.labels(body, {}, NOW)
