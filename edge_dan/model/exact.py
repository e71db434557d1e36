"""Exact compute: onnxruntime multiplies by the int8 weights in float32, as numpy does.

The shipped graph runs each weight product as ``MatMulNBits`` with ``accuracy_level`` 4: on the
way in, onnxruntime rounds every block of 32 activations to int8. That is about four times
faster than float32 products on x86 (12 ms against 47 ms per option, bench/RESULTS.md), and it is
the default. The price is agreement: the numpy runtime (phones, armv7) computes in float32
throughout, so the two differ by up to about 0.02 in a score, and a decision whose probability
sits within a few hundredths of its threshold can come out differently on a phone and on a Pi.

Exact compute removes that difference where it matters more than speed (a household whose
devices run both runtimes and must judge one text alike, an audit replaying a decision): the
``accuracy_level`` of every ``MatMulNBits`` node is set to 0 in the bytes handed to onnxruntime,
and onnxruntime then computes in float32 like numpy (agreement to about 2e-7). The file on disk,
and the SHA-256 it is checked against, stay as built. The value is a one-byte varint (levels are
0 to 4), so it is changed in place by walking the protobuf fields, never by searching the bytes.

Chosen with ``ValueModel.load(exact=True)`` or, for every command and ``edge-dan run``, the
environment variable ``EDGE_DAN_MODEL_EXACT=1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from edge_dan.model.errors import ModelError
from edge_dan.model.onnx_file import LENGTH, VARINT, field_spans

ENVIRONMENT = "EDGE_DAN_MODEL_EXACT"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")

# onnx.proto field numbers on the path to the attribute.
_MODEL_GRAPH, _GRAPH_NODE, _NODE_OP_TYPE, _NODE_ATTRIBUTE = 7, 1, 4, 5
_ATTRIBUTE_NAME, _ATTRIBUTE_INT = 1, 3


def exact_from_environment() -> bool:
    """Whether ``EDGE_DAN_MODEL_EXACT`` asks for exact compute; any other value is an error."""
    raw = os.environ.get(ENVIRONMENT, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ModelError(f"{ENVIRONMENT} must be 1 or 0 (true/false, yes/no), got {raw!r}")


def _messages(model: bytes, span: tuple[int, int], number: int) -> Iterator[tuple[int, int]]:
    """Spans of the embedded messages in field ``number`` of the message at ``span``."""
    for found, wire, start, end in field_spans(model, *span):
        if found == number and wire == LENGTH:
            yield start, end


def _field(model: bytes, span: tuple[int, int], number: int) -> tuple[int, int, int] | None:
    """(wire type, start, end) of the last field ``number`` of the message at ``span``."""
    last = None
    for found, wire, start, end in field_spans(model, *span):
        if found == number:
            last = (wire, start, end)
    return last


def _level_spans(model: bytes) -> Iterator[tuple[int, int]]:
    """Where each ``MatMulNBits`` node's ``accuracy_level`` value lies in ``model``."""
    for graph in _messages(model, (0, len(model)), _MODEL_GRAPH):
        for node in _messages(model, graph, _GRAPH_NODE):
            op_type = _field(model, node, _NODE_OP_TYPE)
            if op_type is None or model[op_type[1] : op_type[2]] != b"MatMulNBits":
                continue
            for attribute in _messages(model, node, _NODE_ATTRIBUTE):
                name = _field(model, attribute, _ATTRIBUTE_NAME)
                value = _field(model, attribute, _ATTRIBUTE_INT)
                if name is None or model[name[1] : name[2]] != b"accuracy_level":
                    continue
                if value is not None and value[0] == VARINT:
                    yield value[1], value[2]


def float32_products(model: bytes) -> tuple[bytes, int]:
    """The model with every ``MatMulNBits`` at ``accuracy_level`` 0, and how many were changed.

    A node without the attribute is at level 0 already (the operator's default).
    """
    out = bytearray(model)
    changed = 0
    for start, end in _level_spans(model):
        if end - start != 1:
            raise ModelError("an accuracy_level that is not a level (0 to 4)")
        if out[start]:
            out[start] = 0
            changed += 1
    return bytes(out), changed
