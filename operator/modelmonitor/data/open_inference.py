"""The Open Inference Protocol's (V2) protobuf messages, as Seldon Core v2 writes them to Kafka, decoded into tensors.

Seldon Core v2 publishes each model's requests (``ModelInferRequest``) and responses
(``ModelInferResponse``) in the protocol's protobuf form. The message types are built here
from the protocol's documented field numbers (KServe's ``grpc_predict_v2.proto``, package
``inference``) with protobuf's own runtime, so no generated code is kept and no serving
package is installed. A tensor's values come from its typed ``contents`` or, when the
message uses them, from the ``raw_*_contents`` bytes, read by the tensor's datatype
(little-endian, row-major; ``BYTES`` as 4-byte length-prefixed items).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache
from typing import Any

from modelmonitor.api.inference_rows import PayloadError, Tensor
from modelmonitor.errors import SourceError

_PACKAGE = "inference"
# a datatype's typed contents field (InferTensorContents) and its struct code in raw contents
_DATATYPES: dict[str, tuple[str, str]] = {
    "BOOL": ("bool_contents", "?"),
    "INT8": ("int_contents", "b"),
    "INT16": ("int_contents", "h"),
    "INT32": ("int_contents", "i"),
    "INT64": ("int64_contents", "q"),
    "UINT8": ("uint_contents", "B"),
    "UINT16": ("uint_contents", "H"),
    "UINT32": ("uint_contents", "I"),
    "UINT64": ("uint64_contents", "Q"),
    "FP16": ("", "e"),  # raw only: the protocol has no typed field for it
    "FP32": ("fp32_contents", "f"),
    "FP64": ("fp64_contents", "d"),
    "BYTES": ("bytes_contents", ""),
}


@dataclass(frozen=True)
class Inference:
    """A decoded request or response: its id, the model's name and version, and its tensors."""

    id: str
    model_name: str
    model_version: str
    tensors: list[Tensor]


def _field(name: str, number: int, kind: str, *, repeated: bool = False, message: str = "") -> dict[str, Any]:
    from google.protobuf import descriptor_pb2

    types = descriptor_pb2.FieldDescriptorProto
    described: dict[str, Any] = {
        "name": name,
        "number": number,
        "type": getattr(types, f"TYPE_{kind.upper()}"),
        "label": types.LABEL_REPEATED if repeated else types.LABEL_OPTIONAL,
    }
    if message:
        described["type_name"] = f".{_PACKAGE}.{message}"
    return described


def _tensor_fields(contents: str) -> list[dict[str, Any]]:
    """A tensor's fields; its ``parameters`` map (4) is left out: unknown fields are skipped when parsing."""
    return [
        _field("name", 1, "string"),
        _field("datatype", 2, "string"),
        _field("shape", 3, "int64", repeated=True),
        _field("contents", 5, "message", message=contents),
    ]


def _message_fields(tensors: str, raw: str) -> list[dict[str, Any]]:
    return [
        _field("model_name", 1, "string"),
        _field("model_version", 2, "string"),
        _field("id", 3, "string"),
        _field("tensors", 5, "message", repeated=True, message=tensors),
        _field(raw, 6 if raw == "raw_output_contents" else 7, "bytes", repeated=True),
    ]


@cache
def _messages() -> tuple[Any, Any]:
    """The request and response message classes, built once from the protocol's field numbers."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    contents = [
        _field(name, number, kind, repeated=True)
        for number, (name, kind) in enumerate(
            [
                ("bool_contents", "bool"),
                ("int_contents", "int32"),
                ("int64_contents", "int64"),
                ("uint_contents", "uint32"),
                ("uint64_contents", "uint64"),
                ("fp32_contents", "float"),
                ("fp64_contents", "double"),
                ("bytes_contents", "bytes"),
            ],
            start=1,
        )
    ]
    described = descriptor_pb2.FileDescriptorProto(
        name="modelmonitor_open_inference.proto",
        package=_PACKAGE,
        syntax="proto3",
        message_type=[
            {"name": "InferTensorContents", "field": contents},
            {"name": "InputTensor", "field": _tensor_fields("InferTensorContents")},
            {"name": "OutputTensor", "field": _tensor_fields("InferTensorContents")},
            {"name": "ModelInferRequest", "field": _message_fields("InputTensor", "raw_input_contents")},
            {"name": "ModelInferResponse", "field": _message_fields("OutputTensor", "raw_output_contents")},
        ],
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(described)
    request, response = (
        pool.FindMessageTypeByName(f"{_PACKAGE}.{name}") for name in ("ModelInferRequest", "ModelInferResponse")
    )
    return message_factory.GetMessageClass(request), message_factory.GetMessageClass(response)


def decode_request(data: bytes, where: str) -> Inference:
    """A ``ModelInferRequest``'s input tensors; SourceError (naming ``where``) if it is not one."""
    return _decode(_messages()[0], data, "raw_input_contents", where)


def decode_response(data: bytes, where: str) -> Inference:
    """A ``ModelInferResponse``'s output tensors; SourceError (naming ``where``) if it is not one."""
    return _decode(_messages()[1], data, "raw_output_contents", where)


def _decode(kind: Any, data: bytes, raw_field: str, where: str) -> Inference:
    from google.protobuf.message import DecodeError

    message = kind()
    try:
        message.ParseFromString(data)
    except DecodeError as error:
        raise SourceError(where, f"not an Open Inference Protocol {kind.DESCRIPTOR.name}: {error}") from None
    raw = list(getattr(message, raw_field))
    if raw and len(raw) != len(message.tensors):
        raise SourceError(where, f"{len(raw)} raw contents for {len(message.tensors)} tensors")
    tensors = [_tensor(tensor, raw[index] if raw else None, where) for index, tensor in enumerate(message.tensors)]
    return Inference(message.id, message.model_name, message.model_version, tensors)


def _tensor(tensor: Any, raw: bytes | None, where: str) -> Tensor:
    datatype = tensor.datatype.upper()
    if datatype not in _DATATYPES:
        raise SourceError(where, f"tensor {tensor.name!r}: unknown datatype {tensor.datatype!r}")
    shape = tuple(int(size) for size in tensor.shape)
    field, code = _DATATYPES[datatype]
    if raw is not None:
        values = _raw_values(raw, datatype, code, tensor.name, where)
    elif field:
        values = list(getattr(tensor.contents, field))
    else:
        raise SourceError(where, f"tensor {tensor.name!r}: {datatype} comes only as raw contents")
    if datatype == "BYTES":
        values = [value.decode("utf-8", errors="replace") for value in values]
    try:
        return Tensor(tensor.name, shape, values)
    except PayloadError as error:
        raise SourceError(where, str(error)) from None


def _raw_values(raw: bytes, datatype: str, code: str, name: str, where: str) -> list[Any]:
    if datatype == "BYTES":
        values, offset = [], 0
        while offset < len(raw):
            if offset + 4 > len(raw):
                raise SourceError(where, f"tensor {name!r}: raw BYTES contents end inside a length")
            (length,) = struct.unpack_from("<I", raw, offset)
            values.append(raw[offset + 4 : offset + 4 + length])
            offset += 4 + length
        if offset != len(raw):
            raise SourceError(where, f"tensor {name!r}: raw BYTES contents end inside an item")
        return values
    size = struct.calcsize(code)
    if len(raw) % size:
        raise SourceError(where, f"tensor {name!r}: {len(raw)} raw bytes are not whole {datatype} values")
    return list(struct.unpack(f"<{len(raw) // size}{code}", raw))
