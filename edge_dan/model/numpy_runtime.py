"""Run the shipped encoder's ONNX graph with numpy alone: the value model without onnxruntime.

Phones (Android, iOS) and 32-bit boards have no onnxruntime wheel, but they have numpy. This
module runs the same ``model.onnx`` (the same int8 weights) node by node with numpy, for the
operators a BERT-style sentence encoder exported by torch and quantized by onnxruntime uses
(``OPS``); a graph with any other operator is refused at load with its name, never run wrongly.

Numerics: everything is float32, as onnxruntime's CPU kernels are. ``MatMulNBits`` (weights in
blocks of 8-bit codes with a scale each) is dequantized once, at the first call, into a float32
matrix kept for the session: about 42 MB for MiniLM-L6's six layers, and then an ordinary BLAS
matrix product, which is what keeps this within a small factor of onnxruntime's speed. The
embedding table stays int8 (it is gathered, then scaled). ``Erf`` has no numpy function; the
rational approximation of Abramowitz and Stegun (7.1.26, absolute error under 1.5e-7) is far
below float32 noise in GELU. Results differ from onnxruntime's by rounding (its kernels sum in
another order, and at ``accuracy_level`` 4 it may quantize activations to int8 for the weight
products): the tests bound the difference of embeddings and scores, not bit equality.

``NumpySession.run(outputs, feeds)`` has the shape of ``onnxruntime.InferenceSession.run``, so
the encoder does not care which runtime it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_dan.model.blas_threads import BlasThreads
from edge_dan.model.errors import ModelError
from edge_dan.model.onnx_file import DTYPES, Graph, Node, load_graph

Array = npt.NDArray[Any]
Op = Callable[[Node, list[Any]], list[Array]]  # arguments: arrays, None for an omitted input


def _erf(x: Array) -> Array:
    sign = np.sign(x)
    a = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return (sign * (1.0 - poly * np.exp(-a * a))).astype(x.dtype)


def _axes(values: Array | Sequence[int] | None, rank: int) -> tuple[int, ...]:
    if values is None:
        return ()
    return tuple(sorted(int(v) % rank for v in np.asarray(values).reshape(-1)))


def _int_div(a: Array, b: Array) -> Array:
    """ONNX integer division truncates toward zero (numpy's // floors)."""
    return (np.trunc(a / b)).astype(np.result_type(a, b))


def _reshape(node: Node, x: Array, shape: Array) -> Array:
    dims = [int(d) for d in shape]
    if not node.attributes.get("allowzero", 0):
        dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
    return x.reshape(dims)


def _slice(x: Array, starts: Array, ends: Array, axes: Array | None, steps: Array | None) -> Array:
    rank = x.ndim
    axes_list = list(range(len(starts))) if axes is None else [int(a) % rank for a in axes]
    steps_list = [1] * len(starts) if steps is None else [int(s) for s in steps]
    index: list[slice] = [slice(None)] * rank
    for axis, start, end, step in zip(axes_list, starts, ends, steps_list, strict=True):
        size = x.shape[axis]
        lo, hi = int(start), int(end)
        lo, hi = max(min(lo, size), -size - 1), max(min(hi, size), -size - 1)
        index[axis] = slice(lo, hi, step)
    return x[tuple(index)]


def _layer_norm(node: Node, x: Array, scale: Array, bias: Array | None) -> Array:
    axis = int(node.attributes.get("axis", -1)) % x.ndim
    epsilon = float(node.attributes.get("epsilon", 1e-5))
    reduce = tuple(range(axis, x.ndim))
    mean = x.mean(axis=reduce, keepdims=True, dtype=np.float32)
    centred = x - mean
    variance = (centred * centred).mean(axis=reduce, keepdims=True, dtype=np.float32)
    out = centred / np.sqrt(variance + np.float32(epsilon)) * scale
    return np.asarray(out if bias is None else out + bias)


def _softmax(node: Node, x: Array) -> Array:
    axis = int(node.attributes.get("axis", -1))
    shifted = x - x.max(axis=axis, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=axis, keepdims=True))


class _NBitsWeights:
    """``MatMulNBits`` weights dequantized once: W[n, k] = (code - zero point) * scale."""

    def __init__(self) -> None:
        self._cache: dict[int, Array] = {}

    def matrix(self, node: Node, codes: Array, scales: Array, zero_points: Array | None) -> Array:
        found = self._cache.get(id(node))
        if found is not None:
            return found
        bits = int(node.attributes.get("bits", 4))
        k, n = int(node.attributes["K"]), int(node.attributes["N"])
        block = int(node.attributes["block_size"])
        if bits != 8 or zero_points is not None:
            raise ModelError(f"MatMulNBits with bits={bits} or zero points is not supported here")
        blocks = -(-k // block)
        values = codes.reshape(n, blocks, block).astype(np.float32) - np.float32(128)
        values *= scales.reshape(n, blocks, 1).astype(np.float32)
        weight = np.ascontiguousarray(values.reshape(n, blocks * block)[:, :k].T)  # (K, N)
        self._cache[id(node)] = weight
        return weight


def _reduce(kind: str) -> Op:
    def run(node: Node, args: list[Array | None]) -> list[Array]:
        x = args[0]
        assert x is not None
        given = args[1] if len(args) > 1 else node.attributes.get("axes")
        axes = _axes(given, x.ndim) or tuple(range(x.ndim))
        keep = bool(node.attributes.get("keepdims", 1))
        if kind == "sum":
            return [x.sum(axis=axes, keepdims=keep).astype(x.dtype)]
        return [np.sqrt((x * x).sum(axis=axes, keepdims=keep)).astype(x.dtype)]

    return run


def _unsqueeze(node: Node, args: list[Array | None]) -> list[Array]:
    x = args[0]
    assert x is not None
    given = args[1] if len(args) > 1 else node.attributes.get("axes")
    rank = x.ndim + len(np.asarray(given).reshape(-1))
    out = x
    for axis in _axes(given, rank):
        out = np.expand_dims(out, axis)
    return [out]


def _binary(fn: Callable[[Array, Array], Array]) -> Op:
    return lambda node, args: [fn(args[0], args[1])]


def _div(node: Node, args: list[Array | None]) -> list[Array]:
    a, b = args[0], args[1]
    assert a is not None and b is not None
    if np.issubdtype(a.dtype, np.integer):
        return [_int_div(a, b)]
    return [(a / b).astype(a.dtype)]


def _clip(node: Node, args: list[Array | None]) -> list[Array]:
    x = args[0]
    assert x is not None
    low = args[1] if len(args) > 1 and args[1] is not None else None
    high = args[2] if len(args) > 2 and args[2] is not None else None
    return [np.clip(x, low, high).astype(x.dtype)]


def _expand(node: Node, args: list[Array | None]) -> list[Array]:
    x, shape = args[0], args[1]
    assert x is not None and shape is not None
    target = np.broadcast_shapes(x.shape, tuple(int(d) for d in shape))
    return [np.array(np.broadcast_to(x, target))]


def _matmul_nbits(weights: _NBitsWeights) -> Op:
    def run(node: Node, args: list[Array | None]) -> list[Array]:
        a, codes, scales = args[0], args[1], args[2]
        assert a is not None and codes is not None and scales is not None
        zero_points = args[3] if len(args) > 3 else None
        bias = args[5] if len(args) > 5 else None
        out = a @ weights.matrix(node, codes, scales, zero_points)
        return [out if bias is None else out + bias]

    return run


def _cast(node: Node, x: list[Any]) -> list[Array]:
    return [x[0].astype(DTYPES[int(node.attributes["to"])])]


def _concat(node: Node, x: list[Any]) -> list[Array]:
    return [np.concatenate(x, axis=int(node.attributes["axis"]))]


def _constant(node: Node, x: list[Any]) -> list[Array]:
    return [np.asarray(node.attributes["value"])]


def _constant_of_shape(node: Node, x: list[Any]) -> list[Array]:
    fill = np.asarray(node.attributes.get("value", np.zeros(1, np.float32))).reshape(-1)
    return [np.full(tuple(int(d) for d in x[0]), fill[0], dtype=fill.dtype)]


def _flatten(node: Node, x: list[Any]) -> list[Array]:
    axis = int(node.attributes.get("axis", 1))
    return [x[0].reshape(int(np.prod(x[0].shape[:axis])), -1)]


def _gather(node: Node, x: list[Any]) -> list[Array]:
    # ONNX indices are int64; numpy takes indices as intp, which is 32 bits on armv7, and its
    # safe casting refuses int64 there (tools/foreign/armv7_check.py found it).
    indices = np.asarray(x[1]).astype(np.intp, copy=False)
    return [np.take(x[0], indices, axis=int(node.attributes.get("axis", 0)))]


def _range(node: Node, x: list[Any]) -> list[Array]:
    return [np.arange(x[0], x[1], x[2], dtype=x[0].dtype)]


def _ops(weights: _NBitsWeights) -> dict[str, Op]:
    return {
        "Add": _binary(np.add),
        "And": _binary(np.logical_and),
        "Cast": _cast,
        "Clip": _clip,
        "Concat": _concat,
        "Constant": _constant,
        "ConstantOfShape": _constant_of_shape,
        "Div": _div,
        "Equal": _binary(np.equal),
        "Erf": lambda n, x: [_erf(x[0])],
        "Expand": _expand,
        "Flatten": _flatten,
        "Gather": _gather,
        "GreaterOrEqual": _binary(np.greater_equal),
        "LayerNormalization": lambda n, x: [_layer_norm(n, *x)],
        "MatMul": _binary(np.matmul),
        "MatMulNBits": _matmul_nbits(weights),
        "Mul": _binary(np.multiply),
        "Range": _range,
        "ReduceL2": _reduce("l2"),
        "ReduceSum": _reduce("sum"),
        "Reshape": lambda n, x: [_reshape(n, x[0], x[1])],
        "Shape": lambda n, x: [np.array(x[0].shape, dtype=np.int64)],
        "Slice": lambda n, x: [_slice(*x, *([None] * (5 - len(x))))],
        "Softmax": lambda n, x: [_softmax(n, x[0])],
        "Sub": _binary(np.subtract),
        "Transpose": lambda n, x: [np.transpose(x[0], n.attributes.get("perm"))],
        "Unsqueeze": _unsqueeze,
        "Where": lambda n, x: [np.where(x[0], x[1], x[2])],
    }


OPS = frozenset(_ops(_NBitsWeights()))


class NumpySession:
    """An ONNX graph run by numpy, with onnxruntime's ``run`` signature.

    ::

        session = NumpySession.load(Path("model.onnx"))
        (vectors,) = session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})
    """

    def __init__(self, graph: Graph, *, threads: int = 1) -> None:
        missing = sorted({n.op_type for n in graph.nodes} - OPS)
        if missing:
            raise ModelError(f"the numpy runtime cannot run these operators: {', '.join(missing)}")
        if threads < 1:
            raise ModelError("threads must be at least 1")
        self.graph = graph
        self.threads = threads
        self._ops = _ops(_NBitsWeights())
        self._blas = BlasThreads(threads)

    @classmethod
    def load(cls, path: Path, *, threads: int = 1) -> NumpySession:
        return cls(load_graph(path), threads=threads)

    def get_inputs(self) -> list[SimpleNamespace]:
        """The graph's inputs, each with a ``name`` (as onnxruntime's session lists them)."""
        return [SimpleNamespace(name=name) for name in self.graph.inputs]

    def run(self, outputs: Sequence[str] | None, feeds: Mapping[str, Array]) -> list[Array]:
        with self._blas.limited():
            return self._run(outputs, feeds)

    def _run(self, outputs: Sequence[str] | None, feeds: Mapping[str, Array]) -> list[Array]:
        values: dict[str, Array] = dict(self.graph.initializers)
        for name in self.graph.inputs:
            if name not in feeds:
                raise ModelError(f"the model needs the input {name!r}")
            values[name] = np.asarray(feeds[name])
        for node in self.graph.nodes:
            args = [values[i] if i else None for i in node.inputs]
            results = self._ops[node.op_type](node, args)
            for name, value in zip(node.outputs, results, strict=False):
                if name:
                    values[name] = value
        wanted = list(outputs) if outputs else list(self.graph.outputs)
        return [values[name] for name in wanted]
