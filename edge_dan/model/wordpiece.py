"""The BERT WordPiece tokenizer in pure Python: the same ids as the ``tokenizers`` library.

Phones and the smallest boards have no wheel of ``tokenizers`` (a Rust extension), so the value
model needs a tokenizer that is only Python. It reads the same ``tokenizer.json`` the model
ships with and reproduces, step by step, what ``tokenizers`` does with a BERT pipeline:

1. **Special tokens first.** The added tokens (``[CLS]``, ``[MASK]``...) are matched in the raw
   text, longest first at each position, and become their ids whatever surrounds them; only the
   text between them goes through the rest.
2. **BertNormalizer** (uncased, as MiniLM's): remove NUL, U+FFFD and control and format
   characters (tab, newline and carriage return are whitespace instead); every whitespace
   character becomes a space; a space on each side of every CJK ideograph; accents stripped
   (NFD, then no non-spacing marks); lower case.
3. **BertPreTokenizer.** Split on whitespace; every punctuation character is a word of its own.
4. **WordPiece.** Each word, greedily: the longest vocabulary entry from the start, then the
   longest ``##``-prefixed entry from there, and so on; a word with no such split, or longer
   than ``max_input_chars_per_word`` characters, is one ``[UNK]``.
5. ``[CLS]`` words ``[SEP]``, truncated on the right to the file's ``max_length``.

Why not another package: the pure-Python BERT tokenizers that exist come inside large
frameworks (transformers) or follow the original BERT code, which differs from ``tokenizers``
in details that change ids. Which characters count as control, whitespace, punctuation or
accent is not taken from Python's ``unicodedata`` either: its Unicode version differs from the
Rust crates' behind ``tokenizers`` (and from one Python to the next), and ``tokenizers`` keeps
unassigned code points that ``unicodedata`` calls controls. The classes are read off
``tokenizers`` itself into ``wordpiece_unicode.json`` by ``models/wordpiece_tables.py``, so
the result does not depend on the Python running it (the tests compare every code point and
10,000 varied texts with ``tokenizers``).
"""

from __future__ import annotations

import bisect
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from edge_dan.model.errors import ModelError

TABLES = "wordpiece_unicode.json"  # written by models/wordpiece_tables.py
HANGUL_FIRST, HANGUL_COUNT = 0xAC00, 11172


@dataclass(frozen=True)
class _Ranges:
    """Sorted, disjoint [first, last] code point ranges, looked up by bisection."""

    firsts: tuple[int, ...]
    lasts: tuple[int, ...]

    @classmethod
    def of(cls, pairs: Sequence[Sequence[int]]) -> _Ranges:
        return cls(tuple(int(p[0]) for p in pairs), tuple(int(p[1]) for p in pairs))

    def __contains__(self, cp: int) -> bool:
        at = bisect.bisect_right(self.firsts, cp) - 1
        return at >= 0 and cp <= self.lasts[at]


@dataclass(frozen=True)
class _CharacterClasses:
    """How ``tokenizers`` treats each character (see ``models/wordpiece_tables.py``)."""

    removed: _Ranges
    space: frozenset[str]
    padded: _Ranges
    mapped: Mapping[str, str]
    isolated: _Ranges
    splits: frozenset[str]

    def normalize(self, ch: str) -> str:
        """BertNormalizer (clean text, CJK padding, accents stripped, lower case) on one
        character; the normalizer treats characters one at a time."""
        cp = ord(ch)
        if ch in self.space:
            return " "
        found = self.mapped.get(ch)
        if found is not None:
            return found
        if cp in self.removed:
            return ""
        if HANGUL_FIRST <= cp < HANGUL_FIRST + HANGUL_COUNT:
            index = cp - HANGUL_FIRST
            tail = index % 28
            lead, vowel = chr(0x1100 + index // 588), chr(0x1161 + (index % 588) // 28)
            return lead + vowel + (chr(0x11A7 + tail) if tail else "")
        if cp in self.padded:
            return f" {ch} "
        return ch


@functools.cache
def character_classes() -> _CharacterClasses:
    """The tables shipped with the package, read once."""
    try:
        raw = resources.files("edge_dan.model").joinpath(TABLES).read_text(encoding="ascii")
        data = json.loads(raw)
        return _CharacterClasses(
            removed=_Ranges.of(data["removed"]),
            space=frozenset(chr(cp) for cp in data["space"]),
            padded=_Ranges.of(data["padded"]),
            mapped={chr(int(cp)): str(out) for cp, out in data["mapped"].items()},
            isolated=_Ranges.of(data["isolated"]),
            splits=frozenset(chr(cp) for cp in data["splits"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"the tokenizer's character tables ({TABLES}) are unusable: {exc!r}"
        ) from None


@dataclass(frozen=True)
class WordPieceTokenizer:
    """BERT WordPiece as ``tokenizers`` runs it, from a ``tokenizer.json``.

    ::

        tokenizer = WordPieceTokenizer.from_json(Path("tokenizer.json").read_text())
        tokenizer.encode("Help my neighbour")  # [101, 2393, 2026, 11429, 102]
    """

    vocab: Mapping[str, int]
    specials: Mapping[str, int]  # added tokens, matched in the raw text
    unk_id: int
    cls_id: int
    sep_id: int
    max_length: int
    max_word_chars: int
    prefix: str

    @classmethod
    def from_json(cls, text: str, *, max_length: int | None = None) -> WordPieceTokenizer:
        """The tokenizer a ``tokenizer.json`` describes; ``ModelError`` unless it is the BERT
        pipeline this module implements (anything else would give other ids silently)."""
        try:
            data: dict[str, Any] = json.loads(text)
            model = data["model"]
            normalizer = data.get("normalizer") or {}
            kinds = (model.get("type"), normalizer.get("type"), data["pre_tokenizer"]["type"])
            if kinds != ("WordPiece", "BertNormalizer", "BertPreTokenizer"):
                raise ModelError(f"not a BERT WordPiece tokenizer: {kinds}")
            vocab = {str(k): int(v) for k, v in model["vocab"].items()}
            specials = {str(t["content"]): int(t["id"]) for t in data.get("added_tokens", [])}
            truncation = data.get("truncation") or {}
            # The character tables hold this one normalizer: uncased BERT, as MiniLM uses.
            uncased = (
                normalizer.get("clean_text", True) is True
                and normalizer.get("handle_chinese_chars", True) is True
                and normalizer.get("lowercase", True) is True
                and normalizer.get("strip_accents") in (None, True)
            )
            if not uncased:
                raise ModelError(f"only the uncased BERT normalizer is supported: {normalizer}")
            return cls(
                vocab=vocab,
                specials=specials,
                unk_id=vocab[str(model["unk_token"])],
                cls_id=vocab["[CLS]"],
                sep_id=vocab["[SEP]"],
                max_length=int(max_length or truncation.get("max_length") or 512),
                max_word_chars=int(model.get("max_input_chars_per_word", 100)),
                prefix=str(model.get("continuing_subword_prefix", "##")),
            )
        except ModelError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"the tokenizer file is not usable: {exc!r}") from None

    # -- the pipeline ----------------------------------------------------------------------------

    def encode(self, text: str) -> list[int]:
        """``[CLS]``, the text's ids, ``[SEP]``: at most ``max_length`` ids in all."""
        ids: list[int] = []
        room = self.max_length - 2
        for piece, special in self._split_specials(text):
            if special is not None:
                ids.append(special)
            else:
                for word in self._words(self._normalize(piece)):
                    ids.extend(self._word_ids(word))
            if len(ids) >= room:
                break
        return [self.cls_id, *ids[:room], self.sep_id]

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(text) for text in texts]

    def _split_specials(self, text: str) -> list[tuple[str, int | None]]:
        """The text cut around added tokens: (text, None) and (token, its id) in order."""
        if not self.specials or ("[" not in text and not self._odd_specials):
            return [(text, None)]
        out: list[tuple[str, int | None]] = []
        start = i = 0
        by_length = sorted(self.specials, key=len, reverse=True)
        while i < len(text):
            match = next((s for s in by_length if s and text.startswith(s, i)), None)
            if match is None:
                i += 1
                continue
            if start < i:
                out.append((text[start:i], None))
            out.append((match, self.specials[match]))
            i = start = i + len(match)
        if start < len(text):
            out.append((text[start:], None))
        return out

    @property
    def _odd_specials(self) -> bool:
        """Whether some added token does not start with "[" (the quick check above needs it)."""
        return any(not s.startswith("[") for s in self.specials)

    def _normalize(self, text: str) -> str:
        classes = character_classes()
        return "".join(classes.normalize(ch) for ch in text)

    @staticmethod
    def _words(text: str) -> list[str]:
        """BertPreTokenizer: split on whitespace, punctuation a word of its own."""
        classes = character_classes()
        words: list[str] = []
        current: list[str] = []
        for ch in text:
            split = ch in classes.splits
            if split or ord(ch) in classes.isolated:
                if current:
                    words.append("".join(current))
                    current = []
                if not split:
                    words.append(ch)
            else:
                current.append(ch)
        if current:
            words.append("".join(current))
        return words

    def _word_ids(self, word: str) -> list[int]:
        if len(word) > self.max_word_chars:
            return [self.unk_id]
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                found = self.vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return [self.unk_id]
            ids.append(found)
            start = end
        return ids
