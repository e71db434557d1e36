"""Read an ONNX model file into numpy arrays and plain nodes, with no onnx or protobuf package.

The numpy runtime (``numpy_runtime.py``) runs the shipped encoder where onnxruntime has no
wheel (phones, armv7). It needs the graph's nodes and weights, nothing else. The ``onnx``
package would need its C++ extension and ``protobuf``, exactly what such a device lacks, so this
module decodes the few protobuf messages an ONNX file is made of (``ModelProto``, ``GraphProto``,
``NodeProto``, ``AttributeProto``, ``TensorProto``, ``ValueInfoProto``) from the protobuf wire
format by their field numbers in ``onnx.proto``. Anything else in the file is skipped, as a
protobuf reader does; a tensor stored outside the file, a type it cannot hold or a truncated
message is an ``OnnxFileError``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_dan.model.errors import ModelError

# TensorProto.DataType -> numpy dtype (the types a transformer export uses).
DTYPES: dict[int, Any] = {
    1: np.float32,
    2: np.uint8,
    3: np.int8,
    4: np.uint16,
    5: np.int16,
    6: np.int32,
    7: np.int64,
    9: np.bool_,
    10: np.float16,
    11: np.float64,
    12: np.uint32,
    13: np.uint64,
}
VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class OnnxFileError(ModelError):
    """The ONNX file cannot be read (truncated, malformed, or uses what this reader lacks)."""


@dataclass(frozen=True)
class Node:
    op_type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attributes: dict[str, Any]
    domain: str = ""
    name: str = ""


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    initializers: dict[str, npt.NDArray[Any]]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    opsets: dict[str, int] = field(default_factory=dict)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise OnnxFileError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise OnnxFileError("varint longer than 64 bits")


def _signed(value: int) -> int:
    """An int64 field: varints carry negative numbers as their 64-bit two's complement."""
    return value - (1 << 64) if value >= 1 << 63 else value


def fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of each field of one message, in order."""
    pos = 0
    value: Any
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = _varint(buf, pos)
        elif wire == FIXED64:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == FIXED32:
            value, pos = buf[pos : pos + 4], pos + 4
        elif wire == LENGTH:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        else:
            raise OnnxFileError(f"unsupported protobuf wire type {wire}")
        if pos > len(buf):
            raise OnnxFileError("truncated message")
        yield number, wire, value


def field_spans(
    buf: bytes, start: int = 0, end: int | None = None
) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value start, value end) of each field of the message that
    fills ``buf[start:end]``, offsets into ``buf``: for changing a value in place, which
    ``fields`` (copies of the values) cannot say where to do. A varint's span is its bytes."""
    pos, stop = start, len(buf) if end is None else end
    while pos < stop:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            begin = pos
            _, pos = _varint(buf, pos)
        elif wire in (FIXED64, FIXED32):
            begin, pos = pos, pos + (8 if wire == FIXED64 else 4)
        elif wire == LENGTH:
            size, begin = _varint(buf, pos)
            pos = begin + size
        else:
            raise OnnxFileError(f"unsupported protobuf wire type {wire}")
        if pos > stop:
            raise OnnxFileError("truncated message")
        yield number, wire, begin, pos


def _ints(wire: int, value: Any) -> list[int]:
    """A repeated int64 field, packed or not."""
    if wire == VARINT:
        return [_signed(value)]
    out, pos = [], 0
    while pos < len(value):
        item, pos = _varint(value, pos)
        out.append(_signed(item))
    return out


def _floats(wire: int, value: Any) -> list[float]:
    if wire == FIXED32:
        return [struct.unpack("<f", value)[0]]
    return list(struct.unpack(f"<{len(value) // 4}f", value))


def _typed_data(number: int, wire: int, value: Any) -> list[Any] | None:
    """The values of a tensor's typed data field (``float_data``...), None for other fields."""
    if number == 4:
        return _floats(wire, value)
    if number in (5, 7, 11):  # int32_data, int64_data, uint64_data
        return _ints(wire, value)
    if number == 10:  # double_data
        return list(struct.unpack(f"<{len(value) // 8}d", value))
    return None


def _array(name: str, dtype_code: int, dims: list[int], raw: bytes | None, typed: list[Any]) -> Any:
    dtype = DTYPES.get(dtype_code)
    if dtype is None:
        raise OnnxFileError(f"tensor {name!r} has a data type this reader lacks ({dtype_code})")
    if raw is not None:
        array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
    elif dtype in (np.float16, np.uint16):  # stored in int32_data as their bit patterns
        array = np.array(typed, dtype=np.uint16).view(dtype)
    else:
        array = np.array(typed, dtype=dtype)
    count = int(np.prod(dims)) if dims else 1
    if array.size != count:
        raise OnnxFileError(f"tensor {name!r} holds {array.size} values for the shape {dims}")
    return array.reshape(dims)


def tensor(buf: bytes) -> tuple[str, npt.NDArray[Any]]:
    """A TensorProto: its name and its value."""
    dims: list[int] = []
    dtype_code, name, raw = 0, "", None
    typed: list[Any] = []
    for number, wire, value in fields(buf):
        if number == 1:
            dims += _ints(wire, value)
        elif number == 2:
            dtype_code = value
        elif number == 8:
            name = bytes(value).decode("utf-8")
        elif number == 9:
            raw = bytes(value)
        elif number == 14 and value == 1:
            raise OnnxFileError(f"tensor {name!r} is stored outside the file")
        else:
            typed += _typed_data(number, wire, value) or []
    return name, _array(name, dtype_code, dims, raw, typed)


def _attribute(buf: bytes) -> tuple[str, Any]:
    name, single, floats, ints, strings = "", None, [], [], []
    for number, wire, value in fields(buf):
        if number == 1:
            name = bytes(value).decode("utf-8")
        elif number == 2:
            single = struct.unpack("<f", value)[0]
        elif number == 3:
            single = _signed(value)
        elif number == 4:
            single = bytes(value)
        elif number == 5:
            single = tensor(value)[1]
        elif number == 7:
            floats += _floats(wire, value)
        elif number == 8:
            ints += _ints(wire, value)
        elif number == 9:
            strings.append(bytes(value))
    if single is not None:
        return name, single
    return name, floats or ints or strings


def _node(buf: bytes) -> Node:
    inputs, outputs, attributes = [], [], {}
    op_type = domain = name = ""
    for number, _, value in fields(buf):
        if number == 1:
            inputs.append(bytes(value).decode("utf-8"))
        elif number == 2:
            outputs.append(bytes(value).decode("utf-8"))
        elif number == 3:
            name = bytes(value).decode("utf-8")
        elif number == 4:
            op_type = bytes(value).decode("utf-8")
        elif number == 5:
            key, attr = _attribute(value)
            attributes[key] = attr
        elif number == 7:
            domain = bytes(value).decode("utf-8")
    return Node(op_type, tuple(inputs), tuple(outputs), attributes, domain, name)


def _value_name(buf: bytes) -> str:
    return next((bytes(v).decode("utf-8") for n, _, v in fields(buf) if n == 1), "")


def read_graph(data: bytes) -> Graph:
    """The main graph of a serialised ``ModelProto``."""
    graph_bytes, opsets = None, {}
    for number, _, value in fields(data):
        if number == 7:
            graph_bytes = value
        elif number == 8:
            parts = {n: v for n, _, v in fields(value)}
            opsets[bytes(parts.get(1, b"")).decode("utf-8")] = int(parts.get(2, 0))
    if graph_bytes is None:
        raise OnnxFileError("no graph in the model file")
    nodes, initializers, inputs, outputs = [], {}, [], []
    for number, _, value in fields(graph_bytes):
        if number == 1:
            nodes.append(_node(value))
        elif number == 5:
            key, array = tensor(value)
            initializers[key] = array
        elif number == 11:
            inputs.append(_value_name(value))
        elif number == 12:
            outputs.append(_value_name(value))
    feeds = tuple(name for name in inputs if name not in initializers)
    return Graph(tuple(nodes), initializers, feeds, tuple(outputs), opsets)


def load_graph(path: Path) -> Graph:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OnnxFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return read_graph(data)
    except (ValueError, UnicodeDecodeError, struct.error, IndexError) as exc:
        raise OnnxFileError(f"{path} is not a readable ONNX model: {exc}") from None
