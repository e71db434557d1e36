"""Byte-mutation fuzzing of the GENIUS and GeniusWeb loaders: only the format error escapes.

Each case mutates one fixture file (``tests/data/negotiation/forms/`` and two vendored GENIUS
domains) with a seeded generator: flipped and deleted bytes, duplicated spans, and tokens that
have broken parsers (DTDs, odd encodings, huge or non-finite numbers, quotes, NULs). Loading the
mutated folder must either succeed or raise :class:`GeniusFormatError`; anything else (a bare
``ValueError``, ``decimal.InvalidOperation``, a ``RecursionError``...) fails the test.
"""

from __future__ import annotations

import copy
import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, DOMAINS

from edge_dan.negotiation import GeniusFormatError
from edge_dan.negotiation.formats import geniusweb
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
    work = tmp_path / folder.name
    shutil.copytree(folder, work)
    originals = {name: (work / name).read_bytes() for name in files}
    refused: list[str] = []
    for _ in range(ROUNDS):
        name = rng.choice(files)
        (work / name).write_bytes(mutate(originals[name], rng))
        try:
            load_folder(work)
        except GeniusFormatError as error:
            refused.append(str(error))
        (work / name).write_bytes(originals[name])
    assert refused  # the mutations do break files
    assert all(message.startswith(str(work)) for message in refused)  # naming the file


ODD_VALUES: list[object] = [
    None,
    True,
    0,
    -1,
    10**30,
    10**400,
    1e308,
    -0.0,
    1e-320,
    0.5,
    "",
    "0.1",
    "NaN",
    "1e999999",
    [],
    [1, "a"],
    {},
    {"values": []},
    {"range": {"low": 0, "high": 1, "incr": 0.25}},
    {"range": {"low": 0, "high": 1e30, "incr": 1}},
    {"NumberValueSetUtilities": {"lowValue": 0, "lowUtility": 0, "highValue": 1}},
    {"DiscreteValueSetUtilities": {"valueUtilities": {}}},
]


def _nodes(tree: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [path]
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += _nodes(value, (*path, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found += _nodes(value, (*path, index))
    return found


def test_structurally_mutated_geniusweb_profiles_raise_only_the_format_error(
    tmp_path: Path,
) -> None:
    # Byte mutations mostly break the JSON syntax; these keep it valid and put odd values
    # (wrong types, huge, tiny or non-finite numbers, empty containers) anywhere in the tree.
    folder = FORMS / "geniusweb_numbers"
    rng = random.Random("h14-json-structure")
    refused = 0
    for _ in range(ROUNDS * 2):
        name = rng.choice(["profileA.json", "profileB.json", "workshop.json"])
        tree = json.loads((folder / name).read_text())
        for _ in range(rng.randint(1, 2)):
            where = rng.choice(_nodes(tree)[1:])
            parent: Any = tree
            for key in where[:-1]:
                parent = parent[key]
            parent[where[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
        target = tmp_path / name
        target.write_text(json.dumps(tree))
        try:
            if name == "workshop.json":
                geniusweb.load_domain(target)
            else:
                geniusweb.load_profile(target)
        except GeniusFormatError:
            refused += 1
    assert refused > ROUNDS  # most of these break the file
