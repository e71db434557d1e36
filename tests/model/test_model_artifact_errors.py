"""Missing, truncated or altered model files give a ModelError that names the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import modules_after
from modelkit import ARTIFACTS, assert_truncation_is_named, copy_of, need_runtime

from edge_dan.errors import EdgeDanError
from edge_dan.model import ModelError, ValueModel


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    need_runtime()
    return copy_of(ARTIFACTS, tmp_path)


def test_model_error_is_an_edge_dan_error() -> None:
    assert issubclass(ModelError, EdgeDanError)


def test_copy_loads(copy: Path) -> None:
    model = ValueModel.load(copy)
    assert model.scores(["fine"]).shape == (1, 20)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        ValueModel.load(tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["meta.json", "model.onnx", "tokenizer.json", "head.npz"])
def test_missing_file_is_named(copy: Path, name: str) -> None:
    (copy / name).unlink()
    with pytest.raises(ModelError, match=name.replace(".", r"\.")):
        ValueModel.load(copy)


@pytest.mark.parametrize("name", ["model.onnx", "tokenizer.json", "head.npz"])
def test_truncated_file_names_file_and_expected_hash(copy: Path, name: str) -> None:
    assert_truncation_is_named(copy, name)


def test_altered_byte_is_caught(copy: Path) -> None:
    path = copy / "model.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="altered or truncated"):
        ValueModel.load(copy)


def test_corrupt_onnx_without_verification(copy: Path) -> None:
    (copy / "model.onnx").write_bytes(b"not an onnx model")
    with pytest.raises(ModelError, match="onnxruntime"):
        ValueModel.load(copy, verify=False)


def test_corrupt_head_without_verification(copy: Path) -> None:
    (copy / "head.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(ModelError, match="head"):
        ValueModel.load(copy, verify=False)


def test_head_of_wrong_shape(copy: Path) -> None:
    np.savez(copy / "head.npz", w=np.zeros((3, 20)), b=np.zeros(20))
    with pytest.raises(ModelError, match="head"):
        ValueModel.load(copy, verify=False)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"format": 99}', "format"),
        ('{"format": 1}', "lacks the field"),
        (
            '{"format": 1, "tier": "t", "categories": [], "encoder": [], "head": {}, "files": {}}',
            "must be a JSON object",
        ),
        (
            '{"format": 1, "tier": "t", "categories": [], "encoder": {"dim": "x"}, "head": {},'
            ' "files": {}}',
            "encoder.dim",
        ),
    ],
)
def test_bad_meta(copy: Path, text: str, match: str) -> None:
    (copy / "meta.json").write_text(text)
    with pytest.raises(ModelError, match=match):
        ValueModel.load(copy)


def test_unknown_encoder_kind(copy: Path) -> None:
    meta = json.loads((copy / "meta.json").read_text())
    meta["encoder"]["kind"] = "quantum"
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="quantum"):
        ValueModel.load(copy)


def test_unknown_category(copy: Path) -> None:
    meta = json.loads((copy / "meta.json").read_text())
    meta["categories"][0] = "Greed"
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="categories"):
        ValueModel.load(copy)


def test_importing_edge_dan_or_the_model_package_is_light() -> None:
    assert "onnxruntime" not in modules_after("import edge_dan")
    loaded = modules_after("import edge_dan.model")
    assert not loaded & {"onnxruntime", "tokenizers", "torch"}
