"""Tiers by name, and a second kind of encoder plugging in through ENCODER_KINDS."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from modelkit import ARTIFACTS, need_runtime

from edge_dan.model import DEFAULT_TIER, TIERS, ValueModel, tier_directory
from edge_dan.model.kinds import ENCODER_KINDS


def test_default_tier_is_shipped() -> None:
    assert DEFAULT_TIER in TIERS
    assert tier_directory() == ARTIFACTS


class HashEncoder:
    """A stand-in numpy encoder: a fixed pseudo-random unit vector per text."""

    dim = 384

    @classmethod
    def open(cls, directory: Path, meta: dict[str, Any], **_: Any) -> HashEncoder:
        return cls()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
            v = np.random.default_rng(seed).normal(size=self.dim)
            rows.append(v / np.linalg.norm(v))
        return np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)


@pytest.fixture
def hash_kind() -> Iterator[None]:
    ENCODER_KINDS["hash"] = HashEncoder.open
    yield
    del ENCODER_KINDS["hash"]


def test_another_encoder_kind_plugs_in(tmp_path: Path, hash_kind: None) -> None:
    need_runtime()
    shutil.copy(ARTIFACTS / "head.npz", tmp_path / "head.npz")
    meta = json.loads((ARTIFACTS / "meta.json").read_text())
    meta["tier"] = "hash-test"
    meta["encoder"] = {"kind": "hash", "dim": 384}
    meta["files"] = {"head.npz": meta["files"]["head.npz"]}
    meta.pop("judge", None)  # the judgement head belongs to the MiniLM encoder
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    model = ValueModel.load(tmp_path)
    assert model.tier == "hash-test"
    scores = model.scores(["a", "b", "a"])
    assert scores.shape == (3, 20)
    # The same text twice: equal up to float rounding (BLAS may sum rows of one product in
    # different orders, measured 1e-15 apart on an AMD EPYC), never compared bit for bit.
    np.testing.assert_allclose(scores[0], scores[2], rtol=0, atol=1e-9)
