"""The value model's encoder run by numpy alone, against onnxruntime on the same file.

The shipped graph multiplies by its int8 weights with ``MatMulNBits`` at ``accuracy_level`` 4,
where onnxruntime also rounds the activations to int8 on the way in; the numpy runtime computes
in float32 throughout. So the reference that must agree to float32 rounding is onnxruntime on
the same bytes with ``accuracy_level`` 0 (one byte of the file changed); against the shipped
setting the difference is that int8 rounding of the activations, bounded here as measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from modelkit import ARTIFACTS, need_runtime

from edge_dan.model import ModelError, ValueModel
from edge_dan.model.numpy_runtime import NumpySession
from edge_dan.model.onnx_file import Graph, Node, OnnxFileError
from edge_dan.model.wordpiece import WordPieceTokenizer

MODEL = ARTIFACTS / "model.onnx"
TEXTS = [
    "Help my neighbour carry the shopping upstairs",
    "Punch the stranger who insulted me at the bar",
    "Go to a salsa night at the new club with friends and dance till late",
    "Starve the rabbit for a week",
    "Give my poorly partner a lie-in on Sunday morning",
    "Donate €50 to the food bank; it's 10% of my budget!",
    "日本語のテキストと emoji 🥲 mixed in",
    "x",
]
LEVEL_4 = b"\x0a\x0eaccuracy_level\x18\x04"  # AttributeProto: name, i = 4
LEVEL_0 = b"\x0a\x0eaccuracy_level\x18\x00"


def fp32_compute(model: bytes) -> bytes:
    """The same model with float32 products in onnxruntime (the attribute's value byte)."""
    assert model.count(LEVEL_4) > 0
    return model.replace(LEVEL_4, LEVEL_0)


@pytest.fixture(scope="module")
def ort_sessions() -> tuple[Any, Any]:
    need_runtime()
    from edge_dan.model.encoder import _import_onnxruntime

    ort = _import_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    shipped = ort.InferenceSession(
        str(MODEL), sess_options=options, providers=["CPUExecutionProvider"]
    )
    fp32 = ort.InferenceSession(
        fp32_compute(MODEL.read_bytes()), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return shipped, fp32


@pytest.fixture(scope="module")
def session() -> NumpySession:
    return NumpySession.load(MODEL)


@pytest.fixture(scope="module")
def feeds() -> list[dict[str, np.ndarray]]:
    tokenizer = WordPieceTokenizer.from_json((ARTIFACTS / "tokenizer.json").read_text())
    out = []
    for text in TEXTS:
        ids = np.array([tokenizer.encode(text)], dtype=np.int64)
        out.append({"input_ids": ids, "attention_mask": np.ones_like(ids)})
    return out


def test_the_same_graph_as_onnxruntime_in_float32(
    session: NumpySession, ort_sessions: tuple[Any, Any], feeds: list[dict[str, np.ndarray]]
) -> None:
    _, fp32 = ort_sessions
    for feed in feeds:
        (ours,) = session.run(["sentence_embedding"], feed)
        (theirs,) = fp32.run(["sentence_embedding"], feed)
        # float32 with sums in another order: measured 1.7e-7; 1e-5 leaves room for other BLAS.
        assert np.abs(ours - theirs).max() < 1e-5


def test_close_to_the_shipped_int8_activation_setting(
    session: NumpySession, ort_sessions: tuple[Any, Any], feeds: list[dict[str, np.ndarray]]
) -> None:
    shipped, _ = ort_sessions
    for feed in feeds:
        (ours,) = session.run(["sentence_embedding"], feed)
        (theirs,) = shipped.run(["sentence_embedding"], feed)
        # onnxruntime rounds activations to int8 per block of 32 at this level: measured up to
        # 0.005 per coordinate of a unit vector (cosine above 0.998 on 300 options).
        assert float((ours * theirs).sum()) > 0.995
        assert np.abs(ours - theirs).max() < 0.02


def test_a_text_gives_the_same_vector_alone_and_in_a_padded_batch(session: NumpySession) -> None:
    tokenizer = WordPieceTokenizer.from_json((ARTIFACTS / "tokenizer.json").read_text())
    rows = [tokenizer.encode(t) for t in TEXTS]
    width = max(map(len, rows))
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, : len(row)], mask[i, : len(row)] = row, 1
    (batch,) = session.run(None, {"input_ids": ids, "attention_mask": mask})
    for i, row in enumerate(rows):
        one = np.array([row], dtype=np.int64)
        (alone,) = session.run(None, {"input_ids": one, "attention_mask": np.ones_like(one)})
        assert np.abs(batch[i] - alone[0]).max() < 1e-5  # float32 sums over another length


def test_the_value_model_on_the_numpy_runtime() -> None:
    need_runtime()
    numpy_model = ValueModel.load(runtime="numpy")
    native = ValueModel.load(runtime="onnxruntime")
    assert numpy_model.runtime == "numpy" and native.runtime == "onnxruntime"
    assert ValueModel.load().runtime == "onnxruntime"  # auto: the native runtime when installed
    ours, theirs = numpy_model.scores(TEXTS), native.scores(TEXTS)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() < 0.05  # the int8 activation rounding, as above
    with pytest.raises(ModelError, match="runtime must be one of"):
        ValueModel.load(runtime="tensorflow")


def test_an_operator_it_lacks_is_named_at_load() -> None:
    graph = Graph((Node("LSTM", ("x",), ("y",), {}),), {}, ("x",), ("y",))
    with pytest.raises(ModelError, match="cannot run these operators: LSTM"):
        NumpySession(graph)


def test_a_damaged_model_file_is_a_clear_error(tmp_path: Path) -> None:
    data = MODEL.read_bytes()
    rng = np.random.default_rng(7)
    damaged = tmp_path / "model.onnx"
    for cut in [1, 2, 10, 100, *rng.integers(1000, len(data) - 1, 20).tolist()]:
        damaged.write_bytes(data[:cut])  # the graph is one field: any cut truncates it
        with pytest.raises(OnnxFileError):
            NumpySession.load(damaged)
    flipped = bytearray(data[:4096])
    flipped[0] = 0x07  # a field key with wire type 7, which protobuf does not have
    damaged.write_bytes(bytes(flipped))
    with pytest.raises(OnnxFileError):
        NumpySession.load(damaged)
    damaged.write_bytes(b"")
    with pytest.raises(OnnxFileError, match="no graph"):
        NumpySession.load(damaged)
