"""The everyday options corpus (models/data/everyday/): loading, the split, label arrays.

The corpus is this project's own (data card: models/data/everyday/CARD.md). Items are split by a
hash of their group (the minimal pair id, else the item id), so both halves of a pair always land
in the same split and adding items never moves an old one: 70 % train, 15 % dev (calibration,
thresholds, model choice), 15 % test (figures only; nothing is fitted or chosen on it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge_dan.values.judgement import HARM_KINDS, HARM_TARGETS
from edge_dan.values.schwartz import ORIGINAL_VALUES

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "models" / "data" / "everyday"
# An independent writer's set (data card: models/data/everyday-shift/CARD.md), evaluation only:
# the corpus's own test split shares its writers and style with train.
SHIFT = REPO / "models" / "data" / "everyday-shift" / "shift.jsonl"

# One vocabulary with the run time: the model's heads are trained in these orders.
VALUES = ORIGINAL_VALUES
SPLITS = ("train", "dev", "test")


def split_of(group: str) -> str:
    """train / dev / test for a group id, stable across machines and corpus versions."""
    bucket = int.from_bytes(hashlib.sha256(group.encode("utf-8")).digest()[:4], "big") % 100
    if bucket < 70:
        return "train"
    return "dev" if bucket < 85 else "test"


@dataclass
class Corpus:
    items: list[dict[str, object]]
    texts: list[str] = field(init=False)
    effects: npt.NDArray[np.int8] = field(init=False)  # (n, 10) in {-1, 0, 1}
    primary: npt.NDArray[np.int64] = field(init=False)  # (n,) value index
    harm: npt.NDArray[np.int8] = field(init=False)  # (n,) 1 harmful
    kind: npt.NDArray[np.int64] = field(init=False)  # (n,) harm kind index, -1 harmless
    target: npt.NDArray[np.int64] = field(init=False)  # (n,) harm target index, -1 harmless
    split: list[str] = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.items)
        self.texts = [str(i["text"]) for i in self.items]
        self.effects = np.zeros((n, len(VALUES)), dtype=np.int8)
        self.primary = np.zeros(n, dtype=np.int64)
        self.harm = np.zeros(n, dtype=np.int8)
        self.kind = np.full(n, -1, dtype=np.int64)
        self.target = np.full(n, -1, dtype=np.int64)
        self.split = []
        for r, item in enumerate(self.items):
            effects = item["effects"]
            assert isinstance(effects, dict)
            for v, s in effects.items():
                self.effects[r, VALUES.index(v)] = s
            self.primary[r] = VALUES.index(str(item["primary"]))
            harm = item["harm"]
            if harm is not None:
                assert isinstance(harm, dict)
                self.harm[r] = 1
                self.kind[r] = HARM_KINDS.index(harm["kind"])
                self.target[r] = HARM_TARGETS.index(harm["target"])
            group = item["pair"] if item["pair"] is not None else item["id"]
            self.split.append(split_of(str(group)))

    def subset(self, name: str) -> Corpus:
        return Corpus([i for i, s in zip(self.items, self.split, strict=True) if s == name])

    def tagged(self, tag: str) -> npt.NDArray[np.bool_]:
        return np.array([tag in i["tags"] for i in self.items])  # type: ignore[operator]

    def pairs(self) -> list[tuple[int, int, int]]:
        """Minimal pairs as (row of the +1 item, row of the -1 item, value index): one triple for
        each value whose sign flips between the two items."""
        groups: dict[str, list[int]] = {}
        for r, item in enumerate(self.items):
            if item["pair"] is not None:
                groups.setdefault(str(item["pair"]), []).append(r)
        out = []
        for rows in groups.values():
            if len(rows) != 2:
                continue
            a, b = rows
            for j in range(len(VALUES)):
                if self.effects[a, j] * self.effects[b, j] == -1:
                    pos, neg = (a, b) if self.effects[a, j] == 1 else (b, a)
                    out.append((pos, neg, j))
        return out


def load(directory: Path = CORPUS) -> Corpus:
    """Every item of ``directory/raw/*.jsonl`` in file-name then line order.

    Two writers worked on home and family at once (fh, hf); a text written twice (case and
    spacing aside) is kept once, the first time it appears, and a minimal pair that loses one
    half that way is no longer counted as a pair.
    """
    items: list[dict[str, object]] = []
    seen: set[str] = set()
    for path in sorted((directory / "raw").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key = " ".join(str(item["text"]).casefold().split())
            if key in seen:
                continue
            seen.add(key)
            items.append(item)
    return Corpus(items)


def load_shift(path: Path = SHIFT) -> Corpus:
    """The independent writer's evaluation set: read by the benches, never by a build."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return Corpus([json.loads(line) for line in lines if line.strip()])
