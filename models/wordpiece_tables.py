"""Write ``edge_dan/model/wordpiece_unicode.json``: how ``tokenizers`` treats each character.

    python models/wordpiece_tables.py            # needs the tokenizers package (the build venv
                                                 # or the project's .venv)

The pure-Python tokenizer (``edge_dan/model/wordpiece.py``) must give the same ids as the
``tokenizers`` library, whose BERT normalizer and pre-tokenizer classify characters with the
Unicode tables of the Rust crates it was built with, not with Python's ``unicodedata`` (another
Unicode version, and other choices: unassigned code points are kept, not removed). So the
classes are read off ``tokenizers`` itself, one code point at a time:

- ``normalized``: what ``BertNormalizer`` (clean text, CJK padding, accents stripped, lower
  case) makes of each character alone, where that is not the character itself. The normalizer
  works character by character (checked here on random strings), so a text's normalized form
  is the concatenation. Stored as runs: ``removed`` ranges (controls and marks it drops),
  ``space`` (whitespace made a space), ``padded`` ranges (CJK ideographs given a space on each
  side), and ``mapped`` for everything else (lower case, accents stripped, decompositions)
  but the Hangul syllables, which decompose by the Unicode rule into jamo (checked here).
- ``isolated``: ranges of characters ``BertPreTokenizer`` makes a word of their own
  (punctuation), and ``splits``: characters it splits on and drops (whitespace).

The file records the ``tokenizers`` version it was read from. Regenerate it when that version
changes, and the tests (which compare every code point and 10,000 texts) say whether it must.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from tokenizers import __version__ as tokenizers_version
from tokenizers import normalizers, pre_tokenizers

OUT = Path(__file__).resolve().parents[1] / "edge_dan" / "model" / "wordpiece_unicode.json"
SURROGATES = range(0xD800, 0xE000)
HANGUL = range(0xAC00, 0xAC00 + 11172)  # syllables: decomposed by rule (Unicode 3.12), not listed


def hangul_jamo(cp: int) -> str:
    """The canonical decomposition of a Hangul syllable into its two or three jamo."""
    index = cp - HANGUL.start
    lead, vowel, tail = 0x1100 + index // 588, 0x1161 + (index % 588) // 28, index % 28
    return chr(lead) + chr(vowel) + (chr(0x11A7 + tail) if tail else "")


def code_points() -> list[int]:
    return [cp for cp in range(0x110000) if cp not in SURROGATES]


def runs(points: list[int]) -> list[list[int]]:
    """Sorted code points as [first, last] ranges."""
    out: list[list[int]] = []
    for cp in sorted(points):
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def check_character_local(norm: normalizers.BertNormalizer) -> None:
    """The tables assume the normalizer treats each character alone; check it on samples."""
    rng = random.Random(7)  # noqa: S311 - sampling test strings, not secrets
    pools = [range(0x20, 0x250), range(0x300, 0x370), range(0x370, 0x500), range(0, 0x110000)]
    for _ in range(50_000):
        text = "".join(chr(rng.choice(rng.choice(pools))) for _ in range(rng.randint(1, 8)))
        text = "".join(c for c in text if ord(c) not in SURROGATES)
        if norm.normalize_str(text) != "".join(norm.normalize_str(c) for c in text):
            sys.exit(f"the normalizer is not character-local on {text!r}: the tables cannot hold")


def main() -> None:
    norm = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    pre = pre_tokenizers.BertPreTokenizer()
    check_character_local(norm)
    removed, space, padded, isolated, splits = [], [], [], [], []
    mapped: dict[str, str] = {}
    for cp in code_points():
        c = chr(cp)
        out = norm.normalize_str(c)
        if out == "":
            removed.append(cp)
        elif out == " ":
            space.append(cp)
        elif out == f" {c} ":
            padded.append(cp)
        elif cp in HANGUL:
            if out != hangul_jamo(cp):
                sys.exit(f"U+{cp:04X} is not decomposed by the Hangul rule: {out!r}")
        elif out != c:
            mapped[str(cp)] = out
        words = [w for w, _ in pre.pre_tokenize_str(f"a{c}b")]
        if words == ["a", c, "b"]:
            isolated.append(cp)
        elif words == ["a", "b"]:
            splits.append(cp)
        elif words != [f"a{c}b"]:
            sys.exit(f"unexpected pre-tokenization of U+{cp:04X}: {words}")
    tables = {
        "source": f"tokenizers {tokenizers_version}: BertNormalizer(lowercase) + BertPreTokenizer",
        "removed": runs(removed),
        "space": space,
        "padded": runs(padded),
        "mapped": mapped,
        "isolated": runs(isolated),
        "splits": splits,
    }
    OUT.write_text(json.dumps(tables, separators=(",", ":"), ensure_ascii=True) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes) from tokenizers {tokenizers_version}")


if __name__ == "__main__":
    main()
