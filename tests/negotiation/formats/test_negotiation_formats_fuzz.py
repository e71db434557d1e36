"""Byte-mutation fuzzing of the GENIUS and GeniusWeb loaders: only the format error escapes.

Each case mutates one fixture file (``tests/data/negotiation/forms/`` and two vendored GENIUS
domains) with a seeded generator: flipped and deleted bytes, duplicated spans, and tokens that
have broken parsers (DTDs, odd encodings, huge or non-finite numbers, quotes, NULs). Loading the
mutated folder must either succeed or raise :class:`GeniusFormatError`; anything else (a bare
``ValueError``, ``decimal.InvalidOperation``, a ``RecursionError``...) fails the test.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from conftest import DATA, DOMAINS

from edge_dan.negotiation import GeniusFormatError
from edge_dan.negotiation.formats.folders import load_folder

FORMS = DATA / "negotiation" / "forms"
FOLDERS = [
    *sorted(p for p in FORMS.iterdir() if p.is_dir()),
    DOMAINS / "anac_y2011_Laptop",
    DOMAINS / "anac_y2012_FiftyFiftyA",
]
ROUNDS = 150  # per folder; each round is one mutated file, loaded with its folder

TOKENS = [
    b"<!DOCTYPE x>",
    b'<?xml version="1.0" encoding="utf-7"?>',
    b"&lol;",
    b"+ADw-",
    b"NaN",
    b"Infinity",
    b"-1e999999",
    b"1e999999999",
    b"1e-999999",
    b"-0",
    b"\x00",
    b"\xff\xfe",
    b"\xc3\x28",
    b'"',
    b"<",
    b"</objective>",
    b'<objective index="9">',
    b"{",
    b"]",
    b"null",
    b"99999999999999999999999",
    b'"range": {"low": 0, "high": 1, "incr": 1e-7}',
]


def mutate(data: bytes, rng: random.Random) -> bytes:
    for _ in range(rng.randint(1, 3)):
        if not data:
            return rng.choice(TOKENS)
        at = rng.randrange(len(data))
        choice = rng.randrange(5)
        if choice == 0:
            data = data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]
        elif choice == 1:
            data = data[:at] + data[at + rng.randint(1, 40) :]
        elif choice == 2:
            end = min(len(data), at + rng.randint(1, 80))
            data = data[:end] + data[at:end] + data[end:]
        elif choice == 3:  # where a BOM or an XML declaration would go
            data = rng.choice(TOKENS) + data
        else:
            data = data[:at] + rng.choice(TOKENS) + data[at:]
    return data


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_mutated_files_raise_only_the_format_error(tmp_path: Path, folder: Path) -> None:
    rng = random.Random(f"h14-{folder.name}")
    files = sorted(p.name for p in folder.iterdir() if p.suffix in {".xml", ".json"})
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    originals = {name: (copy / name).read_bytes() for name in files}
    refused: list[str] = []
    for _ in range(ROUNDS):
        name = rng.choice(files)
        (copy / name).write_bytes(mutate(originals[name], rng))
        try:
            load_folder(copy)
        except GeniusFormatError as error:
            refused.append(str(error))
        (copy / name).write_bytes(originals[name])
    assert refused  # the mutations do break files
    assert all(message.startswith(str(copy)) for message in refused)  # naming the file
