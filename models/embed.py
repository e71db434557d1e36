"""Embed texts with an ONNX encoder through the runtime's own batching code, with a disk cache."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge_dan.model.encoder import OnnxEncoder


def open_encoder(
    onnx_path: Path, tokenizer_path: Path, *, threads: int = 2, batch_size: int = 32
) -> OnnxEncoder:
    from edge_dan.model.encoder import _import_onnxruntime

    ort = _import_onnxruntime()  # its usage telemetry off, as at run time
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(
        str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return OnnxEncoder(
        session,
        tok,
        dim=384,
        max_length=128,
        pad_id=0,
        batch_size=batch_size,
        output="sentence_embedding",
    )


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def embed_cached(
    encoder: OnnxEncoder, model_hash: str, texts: Sequence[str], cache_dir: Path
) -> npt.NDArray[np.float32]:
    """Embeddings of ``texts`` (duplicates embedded once), cached by model and texts."""
    key = hashlib.sha256(model_hash.encode())
    for t in texts:
        key.update(t.encode("utf-8", "replace") + b"\0")
    path = cache_dir / f"{key.hexdigest()[:24]}.npy"
    if path.is_file():
        cached: npt.NDArray[np.float32] = np.load(path)
        return cached
    unique = sorted(set(texts))
    index = {t: i for i, t in enumerate(unique)}
    vectors = encoder.embed(unique)
    out = vectors[[index[t] for t in texts]]
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out
