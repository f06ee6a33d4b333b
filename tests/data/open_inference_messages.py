"""The Open Inference Protocol's request and response messages as protoc compiles them from the documented
definition (KServe's grpc_predict_v2.proto, the messages written out below): what tests make Seldon's Kafka
messages with, independently of the decoder's own message types."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

DOCUMENTED = """
syntax = "proto3";
package inference;

message InferParameter {
  oneof parameter_choice { bool bool_param = 1; int64 int64_param = 2; string string_param = 3; }
}
message InferTensorContents {
  repeated bool bool_contents = 1;
  repeated int32 int_contents = 2;
  repeated int64 int64_contents = 3;
  repeated uint32 uint_contents = 4;
  repeated uint64 uint64_contents = 5;
  repeated float fp32_contents = 6;
  repeated double fp64_contents = 7;
  repeated bytes bytes_contents = 8;
}
message ModelInferRequest {
  message InferInputTensor {
    string name = 1; string datatype = 2; repeated int64 shape = 3;
    map<string, InferParameter> parameters = 4; InferTensorContents contents = 5;
  }
  message InferRequestedOutputTensor { string name = 1; map<string, InferParameter> parameters = 2; }
  string model_name = 1; string model_version = 2; string id = 3;
  map<string, InferParameter> parameters = 4;
  repeated InferInputTensor inputs = 5;
  repeated InferRequestedOutputTensor outputs = 6;
  repeated bytes raw_input_contents = 7;
}
message ModelInferResponse {
  message InferOutputTensor {
    string name = 1; string datatype = 2; repeated int64 shape = 3;
    map<string, InferParameter> parameters = 4; InferTensorContents contents = 5;
  }
  string model_name = 1; string model_version = 2; string id = 3;
  map<string, InferParameter> parameters = 4;
  repeated InferOutputTensor outputs = 5;
  repeated bytes raw_output_contents = 6;
}
"""


def compiled(folder: Path) -> ModuleType:
    """The module protoc (grpcio-tools) writes for the documented definition, imported from ``folder``."""
    from grpc_tools import protoc

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "documented_v2.proto").write_text(DOCUMENTED)
    assert protoc.main(["protoc", f"-I{folder}", f"--python_out={folder}", str(folder / "documented_v2.proto")]) == 0
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("documented_v2_pb2")
    finally:
        sys.path.remove(str(folder))


def _typed(value: Any) -> tuple[str, str, Any]:
    """The V2 datatype, the contents field and the value a request tensor holds a row's value in."""
    if isinstance(value, bool):
        return "BOOL", "bool_contents", value
    if isinstance(value, int):
        return "INT64", "int64_contents", value
    if isinstance(value, float):
        return "FP64", "fp64_contents", value
    return "BYTES", "bytes_contents", str(value).encode()


def produce_served(
    v2: ModuleType, bootstrap: str, rows: list[dict[str, Any]], features: list[str], topics: str, version: str = "7"
) -> list[str]:
    """Each row served as Seldon Core v2 logs it: its request (one tensor per feature, shape ``[1]``) on
    ``TOPICS.inputs`` at the row's ``ts``, and 40 ms later the response (``predict`` and a ``[1, 2]``
    probabilities tensor) on ``TOPICS.outputs``, both keyed by the request id. Returns the ids, in order."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    ids = []
    for index, row in enumerate(rows):
        key, moment = f"req-{index}", int(row["ts"].timestamp() * 1000)
        request = v2.ModelInferRequest(id=key)
        for name in features:
            datatype, field, value = _typed(row[name])
            getattr(request.inputs.add(name=name, datatype=datatype, shape=[1]).contents, field).append(value)
        response = v2.ModelInferResponse(model_version=version, id=key)
        prediction = response.outputs.add(name="predict", datatype="INT64", shape=[1])
        prediction.contents.int64_contents.append(row["prediction"])
        scores = response.outputs.add(name="probabilities", datatype="FP64", shape=[1, 2])
        scores.contents.fp64_contents.extend([1 - row["score"], row["score"]])
        producer.produce(f"{topics}.inputs", request.SerializeToString(), key, timestamp=moment)
        producer.produce(f"{topics}.outputs", response.SerializeToString(), key, timestamp=moment + 40)
        ids.append(key)
        if index % 500 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0
    return ids
