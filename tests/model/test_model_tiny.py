"""The tiny tier ``static-tiny``: numpy static embeddings, selectable by name, same API."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from modelkit import REPO, assert_truncation_is_named, copy_of, touche_file

from edge_dan.model import TIERS, ModelError, ValueModel, tier_directory

TINY = "static-tiny"
TINY_DIR = REPO / "edge_dan" / "model" / "artifacts" / TINY
# Measured on the first 200 validation arguments when the artifacts were built: 0.480 (README,
# "Tiny tier"); the floor leaves room for BLAS rounding differences.
F1_FLOOR = 0.44
TEXTS = [
    "Go hiking in the mountains this weekend.",
    "Donate part of my bonus to the food bank.",
    "Ask my manager for a raise.",
    "we should ban fast food because it harms public health",
]


def need_tiny() -> None:
    pytest.importorskip("tokenizers", reason="tokenizers is not installed")
    if not (TINY_DIR / "meta.json").is_file():
        pytest.skip(f"tiny tier artifacts missing in {TINY_DIR}; run python models/build_tiny.py")


@pytest.fixture(scope="module")
def model() -> ValueModel:
    need_tiny()
    return ValueModel.load(tier=TINY)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    need_tiny()
    return copy_of(TINY_DIR, tmp_path)


def test_selectable_by_name(model: ValueModel) -> None:
    assert TINY in TIERS
    assert tier_directory(TINY) == TINY_DIR
    assert model.tier == TINY
    assert model.meta["encoder"]["kind"] == "static"
    assert len(model.categories) == 20
    assert model.categories == ValueModel.load().categories


def test_runtime_does_not_import_onnxruntime() -> None:
    need_tiny()
    code = (
        "import sys\n"
        "sys.modules['onnxruntime'] = None  # any import of it now fails\n"
        "from edge_dan.model import ValueModel\n"
        f"m = ValueModel.load(tier={TINY!r})\n"
        "s = m.scores(['Visit grandma on Sunday.'])\n"
        "assert s.shape == (1, 20), s.shape\n"
        "assert sys.modules['onnxruntime'] is None\n"
        "heavy = sorted(k for k in sys.modules if k.split('.')[0] in {'torch', 'scipy', 'onnx'})\n"
        "assert not heavy, heavy\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_runs_without_tokenizers_with_the_same_scores(model: ValueModel) -> None:
    """Phones and armv7 have no tokenizers wheel: the pure-Python tokenizer stands in."""
    code = (
        "import json, sys\n"
        "sys.modules['tokenizers'] = None  # any import of it now fails\n"
        "from edge_dan.model import ValueModel\n"
        f"m = ValueModel.load(tier={TINY!r})\n"
        f"print(json.dumps(m.scores({TEXTS!r}).tolist()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    without = np.asarray(json.loads(done.stdout), dtype=np.float64)
    # The same ids give the same table rows summed in the same order: equal to float rounding.
    np.testing.assert_allclose(without, model.scores(TEXTS), rtol=0, atol=1e-6)


def test_api_shapes(model: ValueModel) -> None:
    emb = model.embed(TEXTS)
    assert emb.shape == (len(TEXTS), model.dim) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    scores = model.scores(TEXTS)
    assert scores.shape == (len(TEXTS), 20)
    assert np.all((scores >= 0) & (scores <= 1))
    assert model.values(TEXTS).shape == (len(TEXTS), 10)
    detected = model.detect(TEXTS)
    assert detected.shape == (len(TEXTS), 20) and detected.dtype == np.bool_
    assert model.embed([]).shape == (0, model.dim)
    assert model.scores([]).shape == (0, 20)


def test_batching_is_exact(model: ValueModel) -> None:
    """Vectors are bit-identical whatever the batch; scores differ only by the head's BLAS
    rounding (a matrix product of another shape), far below anything that matters."""
    texts = [*TEXTS, "a", "a much longer text about saving money " * 20, "Visit grandma."]
    together = model.embed(texts)
    alone = np.vstack([model.embed([t]) for t in texts])
    np.testing.assert_array_equal(together, alone)
    order = np.random.default_rng(0).permutation(len(texts))
    np.testing.assert_array_equal(model.embed([texts[i] for i in order]), together[order])
    small = ValueModel.load(tier=TINY, batch_size=2)
    np.testing.assert_array_equal(small.embed(texts), together)
    scores = model.scores(texts)
    np.testing.assert_allclose(np.vstack([model.scores([t]) for t in texts]), scores, atol=1e-12)
    np.testing.assert_array_equal(
        model.detect(texts), np.vstack([model.detect([t]) for t in texts])
    )


def test_bad_input_gives_scores(model: ValueModel) -> None:
    texts = [
        "",
        "x" * 10_000,
        "🙂🎉🚀",
        "Nous devrions protéger la forêt.",
        "bad \udcff utf-8",
        "[SEP]",
    ]
    scores = model.scores(texts)
    assert scores.shape == (len(texts), 20)
    assert np.all(np.isfinite(scores))


def test_f1_on_validation_sample(model: ValueModel) -> None:
    args_path = touche_file("arguments-validation.tsv")
    labels_path = touche_file("labels-validation.tsv")
    with args_path.open(encoding="utf-8", newline="") as fh:
        args = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[:200]
    with labels_path.open(encoding="utf-8", newline="") as fh:
        labels = {r["Argument ID"]: r for r in csv.DictReader(fh, delimiter="\t")}
    truth = np.array([[labels[a["Argument ID"]][c] == "1" for c in model.categories] for a in args])
    pred = model.detect([a["Premise"] for a in args])
    tp = (truth & pred).sum(axis=0)
    npred, ntrue = pred.sum(axis=0), truth.sum(axis=0)
    precision = np.where(npred > 0, tp / np.maximum(npred, 1), 0.0).mean()
    recall = np.where(ntrue > 0, tp / np.maximum(ntrue, 1), 0.0).mean()
    f1 = 2 * precision * recall / (precision + recall)
    all_ones = 2 * truth.mean(axis=0).mean() / (truth.mean(axis=0).mean() + 1)
    assert f1 > F1_FLOOR > all_ones


@pytest.mark.parametrize("name", ["embeddings.npz", "tokenizer.json", "head.npz"])
def test_truncated_file_names_file_and_hash(copy: Path, name: str) -> None:
    assert_truncation_is_named(copy, name)


def test_missing_embeddings_named(copy: Path) -> None:
    (copy / "embeddings.npz").unlink()
    with pytest.raises(ModelError, match=r"embeddings\.npz"):
        ValueModel.load(copy)


def test_unverified_garbage_is_a_model_error(copy: Path) -> None:
    (copy / "embeddings.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ModelError, match=r"embeddings\.npz.*unusable"):
        ValueModel.load(copy, verify=False)


def test_wrong_table_shape_is_a_model_error(copy: Path) -> None:
    with np.load(copy / "embeddings.npz") as npz:
        vectors, scales = npz["vectors"], npz["scales"]
    np.savez(copy / "embeddings.npz", vectors=vectors[:100], scales=scales[:100])
    with pytest.raises(ModelError, match="do not cover"):
        ValueModel.load(copy, verify=False)
    np.savez(copy / "embeddings.npz", vectors=vectors.astype(np.float32), scales=scales)
    with pytest.raises(ModelError, match="must be int8"):
        ValueModel.load(copy, verify=False)
