"""Artifact integrity: meta.json, SHA-256 checks of the files and helpful errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from edge_dan.model.errors import ModelError

META_FILE = "meta.json"
FORMAT_VERSION = 1


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_meta(directory: Path) -> dict[str, Any]:
    """Parse ``meta.json`` of an artifact directory; ``ModelError`` says what is wrong."""
    meta_path = directory / META_FILE
    if not directory.is_dir():
        raise ModelError(f"model directory {directory} does not exist")
    try:
        text = meta_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelError(
            f"model metadata {meta_path} is missing; reinstall edge-dan or rebuild the model "
            "with `python models/build.py`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read model metadata {meta_path}: {exc}") from exc
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"model metadata {meta_path} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise ModelError(f"model metadata {meta_path} must hold a JSON object")
    if meta.get("format") != FORMAT_VERSION:
        raise ModelError(
            f"model metadata {meta_path} has format {meta.get('format')!r}; this edge-dan reads "
            f"format {FORMAT_VERSION}"
        )
    for key in ("tier", "categories", "encoder", "head", "files"):
        if key not in meta:
            raise ModelError(f"model metadata {meta_path} lacks the field {key!r}")
    for key in ("encoder", "head", "files"):
        if not isinstance(meta[key], dict):
            raise ModelError(f"model metadata {meta_path}: {key!r} must be a JSON object")
    dim = meta["encoder"].get("dim")
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ModelError(f"model metadata {meta_path}: encoder.dim must be a positive integer")
    if not isinstance(meta["categories"], list):
        raise ModelError(f"model metadata {meta_path}: 'categories' must be a list")
    return meta


def _check_hash(path: Path, meta: dict[str, Any], name: str, actual: str, size: int) -> None:
    record = meta["files"].get(name) if isinstance(meta["files"], dict) else None
    if not isinstance(record, dict) or "sha256" not in record:
        raise ModelError(f"model metadata records no hash for {path}")
    expected = str(record["sha256"])
    if actual != expected:
        raise ModelError(
            f"model file {path} is altered or truncated: SHA-256 {actual} ({size} bytes), "
            f"expected {expected} ({record.get('bytes')} bytes); reinstall edge-dan or rebuild "
            "the model"
        )


def _missing(path: Path) -> ModelError:
    return ModelError(f"model file {path} is missing; reinstall edge-dan or rebuild the model")


def read_checked(directory: Path, meta: dict[str, Any], name: str, *, verify: bool) -> bytes:
    """The bytes of artifact ``name``; with ``verify`` they must match the recorded SHA-256."""
    path = directory / name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _missing(path) from None
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc}") from exc
    if verify:
        _check_hash(path, meta, name, sha256_bytes(data), len(data))
    return data


def check_file(directory: Path, meta: dict[str, Any], name: str, *, verify: bool) -> Path:
    """Path of artifact ``name``, checked against its SHA-256 without holding it in memory."""
    path = directory / name
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as fh:
            if not verify:
                return path
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        raise _missing(path) from None
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc}") from exc
    _check_hash(path, meta, name, digest.hexdigest(), size)
    return path
