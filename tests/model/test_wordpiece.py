"""The pure-Python WordPiece tokenizer gives exactly the ids of the ``tokenizers`` library.

The reference is ``tokenizers`` loading the same ``tokenizer.json``, set up as the value model's
encoder sets it up (truncation to 128, no padding). Compared: every Unicode code point inside
a word, 10,000 varied texts (everyday options, accents, emoji, CJK, Hangul, control and format
characters, special tokens written in the text, texts of 10,000 characters), and whatever
hypothesis makes up.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from modelkit import ARTIFACTS

from edge_dan.model import ModelError
from edge_dan.model.wordpiece import WordPieceTokenizer

tokenizers: Any = pytest.importorskip("tokenizers", reason="the reference needs tokenizers")
TOKENIZER_JSON = ARTIFACTS / "tokenizer.json"
MAX_LENGTH = 128


@pytest.fixture(scope="module")
def ours() -> WordPieceTokenizer:
    return WordPieceTokenizer.from_json(TOKENIZER_JSON.read_text(), max_length=MAX_LENGTH)


@pytest.fixture(scope="module")
def reference() -> Any:
    ref = tokenizers.Tokenizer.from_file(str(TOKENIZER_JSON))
    ref.no_padding()
    ref.enable_truncation(max_length=MAX_LENGTH)
    return ref


def reference_ids(reference: Any, texts: list[str]) -> list[list[int]]:
    return [encoding.ids for encoding in reference.encode_batch(texts)]


def differences(
    ours: WordPieceTokenizer, reference: Any, texts: list[str]
) -> list[tuple[str, list[int], list[int]]]:
    """The texts on which the two disagree, with both id lists."""
    pairs = zip(texts, reference_ids(reference, texts), ours.encode_batch(texts), strict=True)
    return [(t, expected, got) for t, expected, got in pairs if expected != got]


def test_known_sentences_give_the_known_ids(ours: WordPieceTokenizer) -> None:
    # Ids of the uncased BERT vocabulary MiniLM uses, stable for this tokenizer.json.
    assert ours.encode("Hello [MASK] world") == [101, 7592, 103, 2088, 102]
    assert ours.encode("") == [101, 102]
    assert ours.encode("x" * 101) == [101, 100, 102]  # a word over 100 characters is [UNK]


@pytest.mark.slow
def test_every_code_point_inside_a_word(ours: WordPieceTokenizer, reference: Any) -> None:
    points = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    # Forty words a text, each the code point between two letters: whether it is dropped,
    # made a space, split off as punctuation, changed or kept shows in the ids.
    texts = [
        " ".join(f"a{chr(cp)}b" for cp in points[i : i + 40]) for i in range(0, len(points), 40)
    ]
    ours_long = WordPieceTokenizer.from_json(TOKENIZER_JSON.read_text(), max_length=512)
    ref_long = tokenizers.Tokenizer.from_file(str(TOKENIZER_JSON))
    ref_long.no_padding()
    ref_long.enable_truncation(max_length=512)
    bad = differences(ours_long, ref_long, texts)
    assert bad == [], bad[:3]


def _varied_texts(count: int) -> list[str]:
    rng = random.Random(20261207)  # test data, not secrets
    everyday = [
        "Help my neighbour carry the shopping upstairs",
        "Punch the stranger who insulted me at the bar",
        "Skip my friend's wedding to finish the report",
        "Take the kids to the café after school, then the museum",
        "Give my poorly partner a lie-in on Sunday",
        "Donate €50 to the food bank; it's 10% of my budget!",
    ]
    pools = {
        "latin": [chr(c) for c in range(0x20, 0x250)],
        "marks": [chr(c) for c in range(0x300, 0x370)],
        "greek": [chr(c) for c in range(0x370, 0x400)] + ["Σ", "ς", "σ"],
        "cyrillic": [chr(c) for c in range(0x400, 0x500)],
        "cjk": [chr(c) for c in range(0x4E00, 0x4E80)] + [chr(c) for c in range(0x3040, 0x3100)],
        "hangul": [chr(c) for c in range(0xAC00, 0xAD00)],
        "emoji": ["😀", "🥲", "👍🏽", "👨‍👩‍👧", "🇬🇧", "❤️", "\u200d", "\ufe0f"],
        "control": ["\x00", "\t", "\n", "\r", "\x0b", "\x1c", "\x85", "\u200b", "\u2028", "\ufffd"],
        "special": ["[CLS]", "[SEP]", "[MASK]", "[UNK]", "[PAD]", "[mask]", "[MASK"],
        "anything": [chr(c) for c in range(0x20, 0x30000, 97) if not 0xD800 <= c <= 0xDFFF],
    }
    names = list(pools)
    texts = []
    for i in range(count):
        parts = [rng.choice(everyday)] if rng.random() < 0.5 else []
        for _ in range(rng.randint(1, 12)):
            pool = pools[rng.choice(names)]
            parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 6))))
        text = rng.choice(["", " ", "  "]).join(parts)
        if i % 500 == 0:  # a long text: truncation at 128 ids, and words of 100+ characters
            text = (text + " ") * (10_000 // (len(text) + 1) + 1)
            text = text[:10_000]
        texts.append(text)
    return texts


@pytest.mark.slow
def test_ten_thousand_varied_texts(ours: WordPieceTokenizer, reference: Any) -> None:
    texts = _varied_texts(10_000)
    assert sum(len(t) >= 10_000 for t in texts) >= 20
    bad = differences(ours, reference, texts)
    assert bad == [], bad[:3]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text(ours: WordPieceTokenizer, reference: Any, text: str) -> None:
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    assert ours.encode(text) == reference_ids(reference, [text])[0]


def test_a_tokenizer_file_it_cannot_follow_is_refused(tmp_path: Path) -> None:
    data = json.loads(TOKENIZER_JSON.read_text())
    cased = json.loads(json.dumps(data))
    cased["normalizer"]["lowercase"] = False
    bpe = json.loads(json.dumps(data))
    bpe["model"]["type"] = "BPE"
    for bad, says in ((cased, "uncased"), (bpe, "WordPiece"), ({"model": {}}, "not usable")):
        with pytest.raises(ModelError, match=says):
            WordPieceTokenizer.from_json(json.dumps(bad))
    with pytest.raises(ModelError):
        WordPieceTokenizer.from_json("{not json")
