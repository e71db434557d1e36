"""Exact compute: onnxruntime's weight products in float32, so it and numpy judge alike.

The shipped graph's ``MatMulNBits`` nodes run at ``accuracy_level`` 4, where onnxruntime rounds
activations to int8 and so differs from the numpy runtime (phones, armv7) by up to about 0.02 in
a score. ``exact`` sets the level to 0 in the bytes onnxruntime loads. These tests check the
rewrite against an independent one, and that the two runtimes then give the same scores and the
same decisions on real everyday options.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from modelkit import ARTIFACTS, REPO, need_runtime

from edge_dan.errors import UsageError
from edge_dan.model import ModelError, ValueModel
from edge_dan.model.exact import ENVIRONMENT, float32_products
from edge_dan.model.onnx_file import read_graph

MODEL = ARTIFACTS / "model.onnx"
SHIFT = REPO / "models" / "data" / "everyday-shift" / "shift.jsonl"
# The attribute as the quantizer serialises it (name, then i): an independent way to find it.
LEVEL_4 = b"\x0a\x0eaccuracy_level\x18\x04"
LEVEL_0 = b"\x0a\x0eaccuracy_level\x18\x00"


def test_the_rewrite_changes_every_level_and_nothing_else() -> None:
    data = MODEL.read_bytes()
    nodes = [n for n in read_graph(data).nodes if n.op_type == "MatMulNBits"]
    assert nodes and all(n.attributes["accuracy_level"] == 4 for n in nodes)
    exact, changed = float32_products(data)
    assert changed == len(nodes) == data.count(LEVEL_4)
    assert exact == data.replace(LEVEL_4, LEVEL_0)  # one byte per node, lengths unchanged
    rewritten = [n for n in read_graph(exact).nodes if n.op_type == "MatMulNBits"]
    assert [n.attributes["accuracy_level"] for n in rewritten] == [0] * len(nodes)
    assert float32_products(exact) == (exact, 0)  # already exact: nothing to do


def test_a_damaged_model_is_a_model_error() -> None:
    data = MODEL.read_bytes()
    with pytest.raises(ModelError):
        float32_products(data[: len(data) // 3])
    with pytest.raises(ModelError):
        float32_products(b"\x3f" + data)  # a field key with the unused wire type 7


def test_exact_is_chosen_by_argument_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    need_runtime()
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    assert not ValueModel.load(runtime="onnxruntime").exact  # the default: int8 activations
    assert ValueModel.load(runtime="numpy").exact  # numpy computes in float32 anyway
    monkeypatch.setenv(ENVIRONMENT, "1")
    assert ValueModel.load(runtime="onnxruntime").exact
    assert not ValueModel.load(runtime="onnxruntime", exact=False).exact  # argument wins
    monkeypatch.setenv(ENVIRONMENT, "maybe")
    with pytest.raises(ModelError, match=ENVIRONMENT):
        ValueModel.load()
    with pytest.raises(UsageError, match="exact"):
        ValueModel.load(exact="yes")  # type: ignore[arg-type]


def everyday_texts() -> list[str]:
    """The independent writer's options (never trained on) and short, odd and long inputs."""
    rows = [json.loads(line) for line in SHIFT.read_text(encoding="utf-8").splitlines() if line]
    texts = [str(r["text"]) for r in rows]
    return [*texts[::3], "x", "日本語のテキストと emoji 🥲", "Call my mother " * 60]


def harm_threshold() -> float:
    meta = json.loads((ARTIFACTS / "meta.json").read_text())
    return float(meta["judge"]["dev"]["harm_threshold"])


@pytest.mark.slow
def test_both_runtimes_give_the_same_scores_and_decisions_when_exact() -> None:
    need_runtime()
    texts = everyday_texts()
    assert len(texts) >= 200
    ours = ValueModel.load(runtime="numpy")
    theirs = ValueModel.load(runtime="onnxruntime", exact=True)
    a, b = ours.scores(texts), theirs.scores(texts)
    # The bound; measured 5e-7 (float32 sums in another order, other BLAS kernels).
    assert np.abs(a - b).max() < 1e-3
    ja, jb = ours.judge(texts), theirs.judge(texts)
    pa = np.array([j.harm_probability for j in ja])
    pb = np.array([j.harm_probability for j in jb])
    assert np.abs(pa - pb).max() < 1e-3
    assert sum(j.harmful for j in ja) > 10  # the set holds harm to decide on
    # Identical decisions, except where float rounding itself decides: a value within 1e-5 of
    # its threshold (twenty times the measured difference). Such ties are counted, and rare.
    margin = 1e-5
    clear_harm = np.abs(pa - harm_threshold()) > margin
    assert [j.harmful for j, c in zip(ja, clear_harm, strict=True) if c] == [
        j.harmful for j, c in zip(jb, clear_harm, strict=True) if c
    ]
    clear = np.abs(a - ours.thresholds) > margin
    assert (ours.detect(texts) == theirs.detect(texts))[clear].all()
    ties = int((~clear).sum() + (~clear_harm).sum())
    assert ties <= 0.001 * (a.size + len(texts))
    # At the default (int8 activations) they differ by far more: the rewrite makes them agree.
    default = ValueModel.load(runtime="onnxruntime", exact=False)
    assert np.abs(default.scores(texts[:50]) - a[:50]).max() > 1e-3
