"""Shared helpers of the value model tests (a plain module, imported by the test files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TOUCHE

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
