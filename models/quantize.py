"""Weight-only int8 quantization of the exported MiniLM graph (the shipped ``minilm-int8`` encoder).

Shipped config (``CHOSEN``): the 36 projection matrices as MatMulNBits, 8 bits, block 32,
symmetric (no zero points), ``accuracy_level`` 4; the word-embedding table int8 with one scale per
token; everything else (position embeddings, biases, LayerNorm) float32. 24.81 MB.

Why weight-only. ``quantize_dynamic`` quantizes the *activations* of every MatMul to uint8 with a
scale computed per call over the whole input tensor, so a text's vector depends on which texts
share its batch (measured 3.8e-2 max |diff| in the vector next to a 120-token text) and on the
int8 kernels the CPU's instruction set selects (6 ``detect()`` flips and score diffs up to 9.4e-2
between this AVX-512 VNNI host and an emulated Haswell). Here only the *weights* are stored as
int8. With ``accuracy_level`` 4 MatMulNBits still quantizes activations to int8, but per row and
per block of 32 input features, so a row never meets another row's numbers: batching changes a
vector by 4.5e-8 (float rounding, as in the fp32 graph). Across CPUs the int8 kernels still round
differently: max |diff| of vectors against this host 8.3e-3 to 9.2e-3 and of scores 3.8e-3 to
8.9e-3 (emulated Haswell, SandyBridge, Nehalem, cortex-a72, cortex-a76; 36 texts; dynamic int8:
1.5e-2 to 5.6e-2 and 2.6e-2 to 9.4e-2), no ``detect()`` flip (``tools/cpus/cross_cpu.py``).
Cosine to the fp32 graph over 500 short texts rose from 0.9927 mean / 0.9795 min (dynamic) to
0.9996 / 0.9985, over 200 long ones from 0.9940 / 0.9886 to 0.9997 / 0.9995. Latency on one
thread is about 1.3x the dynamic model's (3.3-4.0 ms against 2.4-3.0 ms while another job kept
one of the two cores busy; the dynamic model alone measured 1.3 ms earlier), peak RSS 126 MB
(dynamic 121 MB).

Why int8 compute, although float32 compute was preferred (it leaves only float rounding). Both
float32-compute routes measured here miss a target on this machine with onnxruntime 1.32:

- MatMulNBits ``accuracy_level`` 0: MLAS has no 8-bit float kernel on x86, so onnxruntime
  dequantizes every weight on every call: 17-30 ms a text, 8-10x the dynamic model (target 4 ms).
- int8 weights rebuilt into float32 at load (``matmul="dequant"``: Cast and Mul of constants,
  which onnxruntime folds): the fp32 graph's speed and, measured, 1e-7 to 2e-7 across every CPU
  above and between onnxruntime 1.22 and 1.32; but the session then holds float32 weights: peak
  RSS 230 MB (the fp32 graph 208 MB; limit 150 MB), and the fp32 graph's latency (1.9x the
  dynamic model, 4.9-5.8 ms here under load). It stays here as the option to take if memory
  stops mattering: then CPUs differ by float rounding only.

Why block 32 and symmetric. 25 MB is the binding limit: the int8 matrices are 10.6 MB and the
table 11.7 MB, so float32 scales (4 bytes a block) decide what fits. Block 32 (24.81 MB) is the
finest that fits and gives the best fidelity (activations are quantized per block too, so the
block size counts twice). Block 64 (24.15 MB, min cosine on short texts 0.9975) and 128 (23.81
MB, 0.9955) are 7-14 % faster but drift further across CPUs (scores against this host, Haswell /
Nehalem: block 32 3.8e-3 / 8.9e-3 with no ``detect()`` flip, block 64 8.0e-3 / 1.5e-2 with one,
block 128 1.3e-2 / 2.0e-2 with two and three), and block 128 with int8 compute is also
batch-dependent in onnxruntime 1.32 (6.0e-3: another kernel runs for more than one row).
Zero points (asymmetric)
would add 0.33 MB, taking the file to 25.14 MB, for a cosine gain of 4e-5.

Why a per-row gather for the table. One scale per token costs 0.12 MB; GatherBlockQuantized with
block 128 (a contrib op) gives the same cosine and takes the file to 25.05 MB. The row scheme
needs only standard operators (``Gather`` on int8 rows and on the scales, ``Cast``, ``Mul``): one
exactly rounded multiply per element, the same on every CPU, and the table stays int8 in memory
(dequantizing the table before the lookup would give back a 47 MB float32 table).
onnxruntime's ``MatMulNBitsQuantizer`` is not used: in 1.32 it imports ``onnx_ir``, which the
build extra does not pin, and the 8-bit layout is a few lines of numpy (rounding half to even,
byte-for-byte reproducible).

Run time: 8-bit MatMulNBits needs onnxruntime >= 1.22 (1.20 and 1.21 refuse to load the graph;
``pyproject.toml`` allows >= 1.17), and int8-compute vectors also move between onnxruntime
versions (1.22 vs 1.32: 2.8e-3 max |diff|; dynamic int8 5.5e-3), so scores are reproducible for a
given onnxruntime version, not across versions.

Build-time only: numpy and onnx.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight"
MS_DOMAIN = "com.microsoft"


@dataclass(frozen=True)
class WeightOnlyConfig:
    """How the weights are stored; the activations are always float32 in the graph."""

    matmul: str = "nbits"
    """Projection matrices: "nbits" = MatMulNBits (contrib op, weights stay int8 in memory),
    "dequant" = int8 weight, Cast, Mul by its scales, MatMul: onnxruntime folds the first two at
    load, so the session runs the plain float32 MatMul on weights rounded to the int8 grid."""
    block_size: int = 32
    """Input features per scale in each projection matrix (MatMulNBits ``block_size``); 0 = one
    scale per output column (only for "dequant")."""
    accuracy_level: int = 0
    """MatMulNBits compute: 0 = dequantize to float32 and multiply in float32, 4 = int8 dots."""
    symmetric: bool = True
    """No zero points (the op's default 128 on uint8 storage) when true."""
    embedding: str = "row"
    """Word-embedding table: "row" = int8 with one scale per token (standard ops), "block" =
    GatherBlockQuantized uint8 with ``embedding_block`` features per scale, "fp32" = untouched."""
    embedding_block: int = 128


CHOSEN = WeightOnlyConfig(block_size=32, accuracy_level=4, symmetric=True, embedding="row")


def _block_quantize(
    weight: npt.NDArray[np.float32], block_size: int, *, symmetric: bool
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32], npt.NDArray[np.uint8] | None]:
    """Quantize a (K, N) matrix along K in blocks: MatMulNBits' 8-bit layout.

    Returns ``packed`` (N, K/block, block) uint8, ``scales`` (N, K/block) float32 and the zero
    points (N, K/block) uint8, or None when symmetric (the op then assumes 128).
    """
    k, n = weight.shape
    if k % block_size:
        raise ValueError(f"K={k} is not a multiple of block size {block_size}")
    blocks = weight.T.reshape(n, k // block_size, block_size).astype(np.float64)
    if symmetric:
        absmax = np.abs(blocks).max(axis=2)
        scales = np.where(absmax > 0, absmax / 127.0, 1.0)
        q = np.clip(np.rint(blocks / scales[..., None]), -127, 127) + 128
        zero = None
    else:
        low = np.minimum(blocks.min(axis=2), 0.0)
        high = np.maximum(blocks.max(axis=2), 0.0)
        scales = np.where(high > low, (high - low) / 255.0, 1.0)
        zp = np.clip(np.rint(-low / scales), 0, 255)
        q = np.clip(np.rint(blocks / scales[..., None]) + zp[..., None], 0, 255)
        zero = zp.astype(np.uint8)
    # The op dequantizes with the float32 scale: quantize against that same value.
    return q.astype(np.uint8), scales.astype(np.float32), zero


def _row_quantize(
    table: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """Symmetric int8 per row: (V, D) int8 and (V, 1) float32 scales."""
    absmax = np.abs(table.astype(np.float64)).max(axis=1, keepdims=True)
    scales = np.where(absmax > 0, absmax / 127.0, 1.0)
    q = np.clip(np.rint(table / scales), -127, 127).astype(np.int8)
    return q, scales.astype(np.float32)


def _dequant_weight(
    weight: npt.NDArray[np.float32], base: str, config: WeightOnlyConfig
) -> tuple[list[Any], list[Any]]:
    """Initializers and nodes that rebuild ``weight`` (K, N) from int8 + float32 scales.

    Only constants feed these nodes, so onnxruntime's constant folding computes the float32
    weight once at load (exact: int8 to float, then one rounded multiply per element).
    """
    from onnx import TensorProto, helper, numpy_helper

    k, n = weight.shape
    block = config.block_size or k
    packed, scales, _ = _block_quantize(weight, block, symmetric=True)
    # packed: (N, K/block, block) uint8 with offset 128; lay it out as (K/block, block, N) int8.
    q = (packed.astype(np.int16) - 128).astype(np.int8).transpose(1, 2, 0)
    s = scales.T[:, None, :]  # (K/block, 1, N)
    inits = [
        numpy_helper.from_array(np.ascontiguousarray(q), f"{base}_q8"),
        numpy_helper.from_array(np.ascontiguousarray(s), f"{base}_scales"),
        numpy_helper.from_array(np.array([k, n], dtype=np.int64), f"{base}_shape"),
    ]
    nodes = [
        helper.make_node("Cast", [f"{base}_q8"], [f"{base}_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", [f"{base}_f", f"{base}_scales"], [f"{base}_blocks"]),
        helper.make_node("Reshape", [f"{base}_blocks", f"{base}_shape"], [f"{base}_w"]),
    ]
    return inits, nodes


def _quantize_matmuls(model: Any, config: WeightOnlyConfig) -> int:
    """Replace each MatMul with a constant 2-D weight by MatMulNBits; return how many."""
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    replaced = 0
    nodes = []
    for node in graph.node:
        weight_name = node.input[1] if node.op_type == "MatMul" else ""
        tensor = inits.get(weight_name)
        if tensor is None or len(tensor.dims) != 2 or uses[weight_name] != 1:
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(tensor).astype(np.float32)
        k, n = weight.shape
        base = weight_name.replace(":", "_")
        if config.matmul == "dequant":
            new_inits, dq_nodes = _dequant_weight(weight, base, config)
            nodes.extend(dq_nodes)
            nodes.append(
                helper.make_node(
                    "MatMul", [node.input[0], f"{base}_w"], list(node.output), name=node.name
                )
            )
            graph.initializer.remove(tensor)
            graph.initializer.extend(new_inits)
            replaced += 1
            continue
        packed, scales, zero = _block_quantize(
            weight, config.block_size, symmetric=config.symmetric
        )
        new_inits = [
            numpy_helper.from_array(packed, f"{base}_q8"),
            numpy_helper.from_array(scales, f"{base}_scales"),
        ]
        if zero is not None:
            new_inits.append(numpy_helper.from_array(zero, f"{base}_zero_points"))
        attrs: dict[str, int] = {"K": k, "N": n, "bits": 8, "block_size": config.block_size}
        if config.accuracy_level:
            attrs["accuracy_level"] = config.accuracy_level
        nodes.append(
            helper.make_node(
                "MatMulNBits",
                [node.input[0], *(t.name for t in new_inits)],
                list(node.output),
                name=f"{node.name}_q8",
                domain=MS_DOMAIN,
                **attrs,
            )
        )
        graph.initializer.remove(tensor)
        graph.initializer.extend(new_inits)
        replaced += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return replaced


def _quantize_embeddings(model: Any, config: WeightOnlyConfig) -> None:
    """Store the word-embedding table as 8-bit (see the module docstring for the two schemes)."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    tensor = next(t for t in graph.initializer if t.name == WORD_EMBEDDINGS)
    gathers = [n for n in graph.node if n.op_type == "Gather" and n.input[0] == WORD_EMBEDDINGS]
    if len(gathers) != 1:
        raise ValueError(f"expected one Gather of {WORD_EMBEDDINGS}, found {len(gathers)}")
    (gather,) = gathers
    table = numpy_helper.to_array(tensor).astype(np.float32)
    position = list(graph.node).index(gather)
    out = gather.output[0]
    ids = gather.input[1]
    if config.embedding == "row":
        q, scales = _row_quantize(table)
        new_inits = [
            numpy_helper.from_array(q, f"{WORD_EMBEDDINGS}_q8"),
            numpy_helper.from_array(scales, f"{WORD_EMBEDDINGS}_scales"),
        ]
        new_nodes = [
            helper.make_node("Gather", [new_inits[0].name, ids], [f"{out}_q8"], axis=0),
            helper.make_node("Gather", [new_inits[1].name, ids], [f"{out}_scale"], axis=0),
            helper.make_node("Cast", [f"{out}_q8"], [f"{out}_float"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{out}_float", f"{out}_scale"], [out]),
        ]
    elif config.embedding == "block":
        # MatMulNBits' packing works on (K, N) and blocks along K: pass the transpose so the
        # blocks run along each row's features, then lay the result out as (V, D) again.
        packed, scales, zero = _block_quantize(
            table.T, config.embedding_block, symmetric=config.symmetric
        )
        vocab, dim = table.shape
        new_inits = [
            numpy_helper.from_array(packed.reshape(vocab, dim), f"{WORD_EMBEDDINGS}_q8"),
            numpy_helper.from_array(scales, f"{WORD_EMBEDDINGS}_scales"),
        ]
        if zero is not None:
            new_inits.append(numpy_helper.from_array(zero, f"{WORD_EMBEDDINGS}_zero_points"))
        new_nodes = [
            helper.make_node(
                "GatherBlockQuantized",
                [new_inits[0].name, ids, *(t.name for t in new_inits[1:])],
                [out],
                domain=MS_DOMAIN,
                bits=8,
                block_size=config.embedding_block,
                gather_axis=0,
                quantize_axis=1,
            )
        ]
    else:
        raise ValueError(f"unknown embedding scheme {config.embedding!r}")
    graph.initializer.remove(tensor)
    graph.initializer.extend(new_inits)
    graph.node.remove(gather)
    for offset, node in enumerate(new_nodes):
        graph.node.insert(position + offset, node)


def quantize_with(fp32_path: Path, out_path: Path, config: WeightOnlyConfig) -> dict[str, Any]:
    """Write the weight-only int8 graph of ``fp32_path`` with ``config``; describe it for meta."""
    import onnx
    from onnx import helper

    model = onnx.load(str(fp32_path))
    matmuls = _quantize_matmuls(model, config)
    if config.embedding != "fp32":
        _quantize_embeddings(model, config)
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out_path))
    int8_compute = config.matmul == "nbits" and config.accuracy_level == 4
    description: dict[str, Any] = {
        "method": "weight-only int8: no activation scale depends on other texts in the batch",
        "matmul": {
            "op": "com.microsoft MatMulNBits"
            if config.matmul == "nbits"
            else "MatMul on int8 weights rebuilt to float32 at load (Cast, Mul folded)",
            "count": matmuls,
            "bits": 8,
            "block_size": config.block_size,
            "symmetric": config.symmetric or config.matmul == "dequant",
            "accuracy_level": config.accuracy_level if config.matmul == "nbits" else None,
            "compute": f"int8 (activations quantized per row and block of {config.block_size})"
            if int8_compute
            else "float32",
        },
        "word_embeddings": {
            "row": "int8, one float32 scale per token (Gather, Cast, Mul)",
            "block": f"GatherBlockQuantized uint8, block {config.embedding_block}",
            "fp32": "float32",
        }[config.embedding],
        "rounding": "half to even, scale = max |w| / 127"
        if config.symmetric
        else "half to even, asymmetric",
        "config": asdict(config),
        "bytes": out_path.stat().st_size,
    }
    return description


def quantize_weight_only(fp32_path: Path, out_path: Path) -> dict[str, Any]:
    """Write the shipped int8 graph (``CHOSEN`` config) and return its description for meta.json."""
    return quantize_with(fp32_path, out_path, CHOSEN)
