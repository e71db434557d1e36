"""Shared helpers of the value model tests (a plain module, imported by the test files)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import TOUCHE

from edge_dan.model import ModelError, ValueModel

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "edge_dan" / "model" / "artifacts" / "minilm-int8"
FP32_DIR = REPO / "models" / "build" / "minilm-fp32"


def need_runtime() -> None:
    """Skip unless the run-time libraries and the shipped artifacts are present."""
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("tokenizers", reason="tokenizers is not installed")
    if not (ARTIFACTS / "meta.json").is_file():
        pytest.skip(f"model artifacts missing in {ARTIFACTS}; run python models/build.py")


def touche_file(name: str) -> Path:
    """A file of the vendored Touché23 data; its absence is a broken checkout, so it fails."""
    path = TOUCHE / name
    if not path.is_file():
        pytest.fail(f"vendored data {path} is missing (models/data/README.md lists what belongs)")
    return path


def copy_of(tier_dir: Path, tmp_path: Path) -> Path:
    """A copy of the tier in ``tier_dir``, in ``tmp_path``, for a test to damage."""
    target = tmp_path / "tier"
    shutil.copytree(tier_dir, target)
    return target


def assert_truncation_is_named(tier_dir: Path, name: str) -> None:
    """Cut the tier's file ``name`` in half: loading fails naming the file and the SHA-256 its
    ``meta.json`` expects."""
    path = tier_dir / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    expected = json.loads((tier_dir / "meta.json").read_text())["files"][name]["sha256"]
    with pytest.raises(ModelError) as caught:
        ValueModel.load(tier_dir)
    assert name in str(caught.value) and expected in str(caught.value)
