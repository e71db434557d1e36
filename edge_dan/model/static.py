"""A static-embedding sentence encoder in numpy: one stored vector per token, no transformer.

The tiny tier (``static-tiny``) runs on boards too small for onnxruntime. Its ``embeddings.npz``
holds (names fixed):

- ``vectors`` (vocab, dim) int8: one vector per token id of ``tokenizer.json``, distilled from
  MiniLM at build time (``models/build_tiny.py``);
- ``scales`` (vocab,) float32: the per-token factor that turns a row back into floats; it also
  carries the token's weight (frequent, uninformative tokens weigh less), so a text's vector is
  ``sum_t scales[t] * vectors[t]`` over its tokens (special tokens left out), L2-normalised.

Each text is computed on its own, so a text's vector never depends on the texts batched with it,
and the same token ids always give the same bits. Only numpy and tokenizers are imported, and
where tokenizers is not installed (phones, armv7) the pure-Python tokenizer with the same ids.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_dan.model.encoder import clean_text
from edge_dan.model.errors import ModelError
from edge_dan.model.integrity import read_checked

SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[PAD]")


def _open_tokenizer(path: Path, tok_bytes: bytes, max_length: int) -> Any:
    """``tokenizers`` where installed, else ``wordpiece.py`` (the same ids, tested to be)."""
    try:
        text = tok_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(f"tokenizer file {path} is not UTF-8") from exc
    try:
        from tokenizers import Tokenizer
    except ImportError:
        from edge_dan.model.encoder import _WordPieceIds
        from edge_dan.model.wordpiece import WordPieceTokenizer

        return _WordPieceIds(WordPieceTokenizer.from_json(text, max_length=max_length))
    try:
        tokenizer = Tokenizer.from_str(text)
    except Exception as exc:
        raise ModelError(f"tokenizer file {path} is unreadable: {exc}") from exc
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


class StaticEncoder:
    """Token vectors looked up, weighted, summed and L2-normalised per text."""

    def __init__(
        self,
        vectors: npt.NDArray[np.int8],
        scales: npt.NDArray[np.float32],
        tokenizer: Any,
        *,
        skip_ids: Sequence[int] = (),
    ) -> None:
        if vectors.ndim != 2 or scales.shape != (vectors.shape[0],):
            raise ValueError(f"vectors {vectors.shape} and scales {scales.shape} do not match")
        self.dim = int(vectors.shape[1])
        self._vectors = vectors
        self._scales = scales.astype(np.float32, copy=False)
        self._tokenizer = tokenizer
        self._skip = np.zeros(vectors.shape[0], dtype=bool)
        self._skip[list(skip_ids)] = True

    @classmethod
    def open(
        cls,
        directory: Path,
        meta: dict[str, Any],
        *,
        threads: int = 1,
        batch_size: int = 32,
        verify: bool = True,
    ) -> StaticEncoder:
        """Load ``embeddings.npz`` and ``tokenizer.json`` (``threads``/``batch_size`` unused)."""
        del threads, batch_size  # one text at a time in numpy: nothing to configure
        enc = meta["encoder"]
        tok_meta = meta.get("tokenizer", {})
        emb_name = str(enc.get("file", "embeddings.npz"))
        tok_name = str(tok_meta.get("file", "tokenizer.json"))
        emb_bytes = read_checked(directory, meta, emb_name, verify=verify)
        tok_bytes = read_checked(directory, meta, tok_name, verify=verify)
        tokenizer = _open_tokenizer(
            directory / tok_name, tok_bytes, int(tok_meta.get("max_length", 128))
        )
        path = directory / emb_name
        try:
            with np.load(io.BytesIO(emb_bytes), allow_pickle=False) as npz:
                vectors = np.asarray(npz["vectors"])
                scales = np.asarray(npz["scales"])
        except (KeyError, ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise ModelError(f"token embeddings {path} are unusable: {exc}") from exc
        dim = int(enc["dim"])
        vocab = int(tokenizer.get_vocab_size())
        if vectors.dtype != np.int8 or vectors.ndim != 2 or vectors.shape[1] != dim:
            raise ModelError(
                f"token embeddings {path}: 'vectors' must be int8 of shape (vocab, {dim}), "
                f"got {vectors.dtype} {vectors.shape}"
            )
        if vectors.shape[0] < vocab or scales.shape != (vectors.shape[0],):
            raise ModelError(
                f"token embeddings {path}: {vectors.shape[0]} rows and {scales.shape} scales "
                f"do not cover the tokenizer's {vocab} tokens"
            )
        if not np.all(np.isfinite(scales)):
            raise ModelError(f"token embeddings {path}: 'scales' holds non-finite values")
        skip = [tokenizer.token_to_id(t) for t in SPECIAL_TOKENS]
        return cls(
            vectors,
            scales.astype(np.float32),
            tokenizer,
            skip_ids=[i for i in skip if i is not None],
        )

    def token_ids(self, texts: Sequence[str]) -> list[npt.NDArray[np.int64]]:
        """The pooled token ids of each text (truncated; special tokens left out)."""
        encodings = self._tokenizer.encode_batch([clean_text(t) for t in texts])
        out = []
        for e in encodings:
            ids = np.asarray(e.ids, dtype=np.int64)
            out.append(ids[~self._skip[ids]])
        return out

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """(len(texts), dim) float32, rows L2-normalised; a text without tokens gives zeros."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        for k, ids in enumerate(self.token_ids(texts)):
            if ids.size == 0:
                continue
            v = self._scales[ids] @ self._vectors[ids].astype(np.float32)
            norm = float(np.sqrt(np.dot(v, v)))
            if norm > 0.0:
                out[k] = v / norm
        return out
