"""Open Inference Protocol messages, as Seldon Core v2 writes them to Kafka, decoded into tensors.

The messages here are made by classes that protoc (grpcio-tools) compiles from the protocol's
documented definition (``open_inference_messages``), not by the decoder's own message types:
the two must agree on the wire.
"""

from __future__ import annotations

import struct
from types import ModuleType

import pytest

from modelmonitor.api.inference_rows import request_rows, response_outcomes
from modelmonitor.data.open_inference import decode_request, decode_response
from modelmonitor.errors import SourceError
from tests.data.open_inference_messages import compiled


@pytest.fixture(scope="module")
def v2(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return compiled(tmp_path_factory.mktemp("v2"))


def test_typed_contents_decode_with_names_shapes_and_ids(v2: ModuleType) -> None:
    request = v2.ModelInferRequest(model_name="credit-risk", model_version="8", id="req-1")
    request.parameters["content_type"].string_param = "pd"  # parameters are skipped, not misread
    amount = request.inputs.add(name="amount", datatype="FP64", shape=[3])
    amount.contents.fp64_contents.extend([1200.5, 80.0, 4300.25])
    region = request.inputs.add(name="region", datatype="BYTES", shape=[3, 1])
    region.contents.bytes_contents.extend([b"north", b"south", b"west"])
    age = request.inputs.add(name="age", datatype="INT32", shape=[3])
    age.contents.int_contents.extend([31, 58, 42])
    request.outputs.add(name="probabilities")
    decoded = decode_request(request.SerializeToString(), "seldon.ml.model.credit-risk.inputs")
    assert (decoded.id, decoded.model_name, decoded.model_version) == ("req-1", "credit-risk", "8")
    assert [(t.name, t.shape, t.values) for t in decoded.tensors] == [
        ("amount", (3,), [1200.5, 80.0, 4300.25]),
        ("region", (3, 1), ["north", "south", "west"]),
        ("age", (3,), [31, 58, 42]),
    ]
    assert request_rows(decoded.tensors)[1] == {"amount": 80.0, "region": "south", "age": 58}


def test_raw_contents_decode_by_datatype(v2: ModuleType) -> None:
    response = v2.ModelInferResponse(model_name="credit-risk", model_version="8", id="req-1")
    response.outputs.add(name="predict", datatype="INT64", shape=[2])
    response.outputs.add(name="probabilities", datatype="FP32", shape=[2, 2])
    response.outputs.add(name="label", datatype="BYTES", shape=[2])
    response.outputs.add(name="half", datatype="FP16", shape=[2])
    response.raw_output_contents.extend(
        [
            struct.pack("<2q", 1, 0),
            struct.pack("<4f", 0.25, 0.75, 0.875, 0.125),
            b"".join(struct.pack("<I", len(item)) + item for item in (b"default", b"repaid")),
            struct.pack("<2e", 0.5, -2.0),
        ]
    )
    decoded = decode_response(response.SerializeToString(), "seldon.ml.model.credit-risk.outputs")
    assert [t.values for t in decoded.tensors] == [
        [1, 0],
        [0.25, 0.75, 0.875, 0.125],
        ["default", "repaid"],
        [0.5, -2.0],
    ]
    # the first one-wide tensor is the prediction, the first two-wide one the probabilities
    assert [(o.prediction, o.score) for o in response_outcomes(decoded.tensors)] == [(1, 0.75), (0, 0.125)]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda v2: b"\xff\xff\xff", "not an Open Inference Protocol ModelInferRequest"),
        (lambda v2: _with_input(v2, "FP32", [3], [1.0, 2.0]), "'x': 2 values for shape [3]"),
        (lambda v2: _with_input(v2, "COMPLEX", [1], []), "'x': unknown datatype 'COMPLEX'"),
        (lambda v2: _raw(v2, "FP64", [2], b"\x00" * 12), "12 raw bytes are not whole FP64 values"),
        (lambda v2: _raw(v2, "BYTES", [1], b"\x09\x00\x00\x00abc"), "raw BYTES contents end inside an item"),
        (lambda v2: _with_input(v2, "FP16", [1], []), "FP16 comes only as raw contents"),
    ],
)
def test_a_malformed_message_is_refused_naming_the_topic(v2: ModuleType, build, message: str) -> None:
    with pytest.raises(SourceError, match=r"seldon\.ml\.model\.m\.inputs") as refused:
        decode_request(build(v2), "seldon.ml.model.m.inputs")
    assert message in str(refused.value)


def _with_input(v2: ModuleType, datatype: str, shape: list[int], values: list[float]) -> bytes:
    request = v2.ModelInferRequest(model_name="m")
    tensor = request.inputs.add(name="x", datatype=datatype, shape=shape)
    tensor.contents.fp32_contents.extend(values)
    return request.SerializeToString()


def _raw(v2: ModuleType, datatype: str, shape: list[int], raw: bytes) -> bytes:
    request = v2.ModelInferRequest(model_name="m")
    request.inputs.add(name="x", datatype=datatype, shape=shape)
    request.raw_input_contents.append(raw)
    return request.SerializeToString()
