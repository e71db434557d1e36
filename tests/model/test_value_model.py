"""The shipped value model: loading, shapes, calibration range, batching, padding, bad input."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from modelkit import ARTIFACTS, FP32_DIR, need_runtime, touche_file

from edge_dan.errors import UsageError
from edge_dan.model import ValueModel
from edge_dan.values.schwartz import CATEGORIES, CATEGORY_TO_VALUE, ORIGINAL_VALUES

SENTENCES = [
    "We should ban fast food because it is bad for your health.",
    "Let's go hiking in the mountains this weekend.",
    "Everyone deserves equal treatment regardless of where they come from.",
    "Save money for a new house instead of going on holiday.",
    "Follow the rules your parents taught you.",
]
# Pairwise cosines of SENTENCES under the fp32 reference of the shipped encoder (the fine-tuned
# MiniLM before quantization, models/build/minilm-fp32), computed once when the artifacts were
# built; order (0,1), (0,2), ... (3,4). Rebuilding with other weights means recomputing them.
FP32_PAIR_COSINES = [
    0.2267,
    0.2741,
    0.1902,
    0.2648,
    0.241,
    0.6132,
    0.5569,
    0.3337,
    0.4928,
    0.5793,
]

TEXTS = [
    *SENTENCES,
    "",
    "ok",
    "A much longer text about the city council's plan to build a new park next to the school, "
    "which would give children a safe place to play but cost the town a lot of money.",
    "Wir sollten mehr Bäume pflanzen.",
    "🙂🙂 party tonight?",
    "x" * 10_000,
    "bad \udcff surrogate",
]


@pytest.fixture(scope="module")
def model() -> ValueModel:
    need_runtime()
    return ValueModel.load()


def _pairs(e: np.ndarray[Any, Any]) -> list[float]:
    n = len(e)
    return [float(e[i] @ e[j]) for i in range(n) for j in range(i + 1, n)]


def test_loads_shipped_tier(model: ValueModel) -> None:
    assert model.tier == "minilm-int8"
    assert model.directory == ARTIFACTS
    assert model.dim == 384
    assert model.categories == CATEGORIES
    assert "ValueModel" in repr(model)


def test_categories_match_labels_header(model: ValueModel) -> None:
    header = touche_file("labels-training.tsv").read_text(encoding="utf-8").splitlines()[0]
    assert model.categories == tuple(header.split("\t")[1:])


def test_embed_shape_and_norm(model: ValueModel) -> None:
    e = model.embed(TEXTS)
    assert e.shape == (len(TEXTS), 384)
    assert e.dtype == np.float32
    assert np.all(np.isfinite(e))
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-4)


def test_embed_matches_fp32_reference(model: ValueModel) -> None:
    got = _pairs(model.embed(SENTENCES))
    np.testing.assert_allclose(got, FP32_PAIR_COSINES, atol=0.04)


def test_embed_close_to_fp32_build(model: ValueModel) -> None:
    if not (FP32_DIR / "meta.json").is_file():
        pytest.skip(f"fp32 build {FP32_DIR} missing (python models/build.py makes it)")
    fp32 = ValueModel.load(FP32_DIR)
    cos = (model.embed(TEXTS) * fp32.embed(TEXTS)).sum(axis=1)
    assert cos.min() > 0.95 and cos.mean() > 0.98


def test_scores_are_probabilities(model: ValueModel) -> None:
    s = model.scores(TEXTS)
    assert s.shape == (len(TEXTS), 20)
    assert np.all((s >= 0) & (s <= 1))


def test_detect_uses_thresholds(model: ValueModel) -> None:
    s = model.scores(TEXTS)
    d = model.detect(TEXTS)
    assert d.dtype == np.bool_ and d.shape == s.shape
    np.testing.assert_array_equal(d, s >= model.thresholds)
    assert model.thresholds.shape == (20,)
    assert np.all((model.thresholds > 0) & (model.thresholds < 1))


def test_values_are_max_over_categories(model: ValueModel) -> None:
    s = model.scores(TEXTS)
    v = model.values(TEXTS)
    assert v.shape == (len(TEXTS), 10)
    assert model.value_names == ORIGINAL_VALUES
    for j, value in enumerate(ORIGINAL_VALUES):
        idx = [k for k, c in enumerate(CATEGORIES) if CATEGORY_TO_VALUE[c] == value]
        np.testing.assert_allclose(v[:, j], s[:, idx].max(axis=1))


def test_default_scores_do_not_depend_on_batch_mates(model: ValueModel) -> None:
    """One text at a time (the default): a text's scores are a function of that text alone."""
    alone = np.vstack([model.scores([t]) for t in TEXTS])
    # Equal up to the float rounding of the head's matrix product, whose shape follows the call.
    np.testing.assert_allclose(model.scores(TEXTS), alone, rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.scores(TEXTS[::-1]), alone[::-1], rtol=0, atol=1e-12)


def test_order_of_input_does_not_matter(model: ValueModel) -> None:
    small = ValueModel.load(batch_size=3)
    base = small.scores(TEXTS)
    order = list(range(len(TEXTS)))
    random.Random(7).shuffle(order)
    shuffled = small.scores([TEXTS[i] for i in order])
    # Batches are formed from the sorted texts, so the same texts give the same batches; the
    # head's product may still round in another order (rows move), so not bit for bit.
    np.testing.assert_allclose(shuffled, base[order], rtol=0, atol=1e-9)


def test_batched_close_to_one_by_one(model: ValueModel) -> None:
    # Dynamic int8 quantization scales activations per batch (one scale per tensor), so
    # batch-mates move a vector a little (measured: cosine >= 0.956, scores within 0.07, the
    # worst for one- or two-token texts batched with a 128-token one); the answer must stay
    # close to running every text alone.
    model = ValueModel.load(batch_size=32)
    batched = model.embed(TEXTS)
    alone = np.vstack([model.embed([t]) for t in TEXTS])
    assert (batched * alone).sum(axis=1).min() > 0.93
    assert np.abs(model.scores(TEXTS) - np.vstack([model.scores([t]) for t in TEXTS])).max() < 0.12
    # Texts of similar length (the usual case: a list of options) move much less.
    options = SENTENCES[1:]
    together = model.embed(options)
    apart = np.vstack([model.embed([t]) for t in options])
    assert (together * apart).sum(axis=1).min() > 0.98


def test_one_text_alone_is_deterministic(model: ValueModel) -> None:
    # Two runs of the same text: the same up to float rounding (thread scheduling inside
    # onnxruntime may change summation order on some CPUs), never compared bit for bit.
    np.testing.assert_allclose(model.scores(["hello"]), model.scores(["hello"]), rtol=0, atol=1e-9)


def test_batches_are_padded_only_to_their_longest() -> None:
    model = ValueModel.load(batch_size=8)
    encoder: Any = model._encoder
    real = encoder._session
    seen: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = []

    class Spy:
        def get_inputs(self) -> Any:
            return real.get_inputs()

        def run(self, outputs: Any, feeds: dict[str, Any]) -> Any:
            seen.append((feeds["input_ids"], feeds["attention_mask"]))
            return real.run(outputs, feeds)

    encoder._session = Spy()
    try:
        model.embed(TEXTS * 5)
    finally:
        encoder._session = real
    assert len(seen) == -(-len(TEXTS) * 5 // encoder.batch_size)
    for ids, mask in seen:
        lengths = mask.sum(axis=1)
        assert ids.shape[1] == lengths.max() <= 128  # the widest row fills the batch: no [PAD] col
        assert np.all(ids[mask == 0] == 0)  # [PAD] only where the mask is 0
    widths = [ids.shape[1] for ids, _ in seen]
    assert widths == sorted(widths) and min(widths) < 128


def test_long_text_is_truncated(model: ValueModel) -> None:
    ids = model._encoder.token_ids(["word " * 5000])  # type: ignore[attr-defined]
    assert len(ids[0]) == 128


def test_empty_input_gives_empty_arrays(model: ValueModel) -> None:
    assert model.embed([]).shape == (0, 384)
    assert model.scores([]).shape == (0, 20)
    assert model.values([]).shape == (0, 10)
    d = model.detect([])
    assert d.shape == (0, 20) and d.dtype == np.bool_


@pytest.mark.parametrize("bad", ["a single string", b"bytes", [1, "x"], [None], ["ok", b"x"], 5])
def test_non_text_input_is_a_usage_error(model: ValueModel, bad: Any) -> None:
    with pytest.raises(UsageError):
        model.scores(bad)


@pytest.mark.parametrize("kwargs", [{"threads": 0}, {"threads": "2"}, {"batch_size": 0}])
def test_bad_load_arguments(kwargs: dict[str, Any]) -> None:
    need_runtime()
    with pytest.raises(UsageError):
        ValueModel.load(**kwargs)


def test_unknown_tier_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="minilm-int8"):
        ValueModel.load(tier="nonexistent")


def test_threads_setting_gives_same_scores(model: ValueModel) -> None:
    two = ValueModel.load(threads=2)
    np.testing.assert_allclose(two.scores(TEXTS), model.scores(TEXTS), atol=1e-5)


def test_scores_from_embeddings_checks_shape(model: ValueModel) -> None:
    with pytest.raises(UsageError):
        model.scores_from_embeddings(np.zeros((2, 5)))
