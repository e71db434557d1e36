"""Sentence encoders: text in, one L2-normalised vector per text out.

An encoder kind is chosen by ``meta.json`` (``encoder.kind``), so a tier with another kind of
encoder (for example a numpy-only static embedding table) plugs in by adding an entry to
``ENCODER_KINDS``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from edge_dan.model.errors import ModelError
from edge_dan.model.exact import float32_products
from edge_dan.model.integrity import check_file, read_checked
from edge_dan.model.tokenizing import load_tokenizer

# Work per text is bounded before tokenization: 128 tokens never need more than this many
# characters, and a 10 MB string must not cost 10 MB of tokenizer work.
MAX_CHARS = 16 * 1024


def _import_onnxruntime() -> Any:
    """onnxruntime, imported with its usage telemetry off.

    The official onnxruntime wheels for Linux and macOS (1.32 here) carry Microsoft's 1DS
    telemetry: on import they write a persistent device id under ``~/.cache/Microsoft``, a
    session file in the temporary directory, and queue usage events for upload. A private,
    offline agent wants none of it. ``ORT_DISABLE_TELEMETRY=1`` set before the first import
    turns all of it off for the process (the runtime latches the decision); an owner who
    explicitly sets the variable otherwise is obeyed. When the embedding app imported
    onnxruntime first, the variable comes too late, so the runtime's events are also switched
    off through the API (the README's privacy section says so).
    """
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    ort = importlib.import_module("onnxruntime")
    disable = getattr(ort, "disable_telemetry_events", None)
    if callable(disable) and os.environ.get("ORT_DISABLE_TELEMETRY") == "1":
        disable()
    return ort


class Encoder(Protocol):
    """What ``ValueModel`` needs from an encoder."""

    dim: int

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """(len(texts), dim) float32, rows L2-normalised, in the order of ``texts``."""
        ...


def clean_text(text: str) -> str:
    """Bound the length and replace what UTF-8 cannot carry (lone surrogates)."""
    text = text[:MAX_CHARS]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


RUNTIMES = ("auto", "onnxruntime", "numpy")


def _onnxruntime_installed() -> bool:
    """Whether onnxruntime can be imported (without importing it)."""
    return importlib.util.find_spec("onnxruntime") is not None


def _onnxruntime_session(model_path: Path, threads: int, *, exact: bool) -> Any:
    try:
        ort: Any = _import_onnxruntime()
    except ImportError as exc:
        raise ModelError("runtime 'onnxruntime' needs the package 'onnxruntime'") from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    source: str | bytes = str(model_path)
    if exact:
        try:
            source, _ = float32_products(model_path.read_bytes())
        except OSError as exc:
            raise ModelError(f"cannot read {model_path}: {exc.strerror or exc}") from None
    try:
        return ort.InferenceSession(
            source, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:
        raise ModelError(f"model file {model_path} cannot be loaded by onnxruntime: {exc}") from exc


def _numpy_session(model_path: Path, threads: int) -> Any:
    from edge_dan.model.numpy_runtime import NumpySession

    return NumpySession.load(model_path, threads=threads)


class OnnxEncoder:
    """A transformer exported to ONNX with pooling and normalisation inside the graph.

    Texts are tokenized without padding, sorted by token length (ties broken by the text itself,
    so the grouping never depends on the caller's order), run in batches padded only to the
    longest member, and returned in the caller's order. One onnxruntime session is created at
    load and reused for every call.
    """

    def __init__(
        self,
        session: Any,
        tokenizer: Any,
        *,
        dim: int,
        max_length: int,
        pad_id: int,
        batch_size: int,
        output: str,
    ) -> None:
        self.dim = dim
        self.max_length = max_length
        self.pad_id = pad_id
        self.batch_size = batch_size
        self._session = session
        self._tokenizer = tokenizer
        self._output = output
        self._takes_token_types = any(i.name == "token_type_ids" for i in session.get_inputs())
        self.runtime = "onnxruntime"  # which runtime runs the graph (``open`` says)
        self.tokenizer = "tokenizers"  # which tokenizer makes the ids (``open`` says)
        self.exact = False  # float32 products on every runtime (``open`` says)

    @classmethod
    def open(
        cls,
        directory: Path,
        meta: dict[str, Any],
        *,
        threads: int,
        batch_size: int,
        verify: bool,
        runtime: str = "auto",
        exact: bool = False,
    ) -> OnnxEncoder:
        """``runtime``: ``onnxruntime``, ``numpy`` (the same graph run by numpy, for devices
        with no onnxruntime wheel), or ``auto``: onnxruntime where it is installed, else numpy.
        ``exact``: onnxruntime's weight products in float32 too (``edge_dan.model.exact``), so
        both runtimes give the same scores; numpy computes so anyway. The tokenizer is the
        ``tokenizers`` library where installed, else the pure-Python
        WordPiece (the same ids either way)."""
        if runtime not in RUNTIMES:
            raise ModelError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
        enc = meta["encoder"]
        tok_meta = meta.get("tokenizer", {})
        model_path = check_file(directory, meta, str(enc.get("file", "model.onnx")), verify=verify)
        tok_name = str(tok_meta.get("file", "tokenizer.json"))
        tok_bytes = read_checked(directory, meta, tok_name, verify=verify)
        max_length = int(tok_meta.get("max_length", 128))
        if runtime == "auto":
            runtime = "onnxruntime" if _onnxruntime_installed() else "numpy"
        if runtime == "numpy":
            session = _numpy_session(model_path, threads)
        else:
            session = _onnxruntime_session(model_path, threads, exact=exact)
        tokenizer, tokenizer_name = load_tokenizer(model_path, tok_bytes, max_length)
        pad_id = tokenizer.token_to_id("[PAD]")
        encoder = cls(
            session,
            tokenizer,
            dim=int(enc["dim"]),
            max_length=max_length,
            pad_id=0 if pad_id is None else int(pad_id),
            batch_size=batch_size,
            output=str(enc.get("output", "sentence_embedding")),
        )
        encoder.runtime = runtime
        encoder.tokenizer = tokenizer_name
        encoder.exact = exact or runtime == "numpy"
        return encoder

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (with [CLS]/[SEP], truncated, unpadded)."""
        encodings = self._tokenizer.encode_batch([clean_text(t) for t in texts])
        return [list(e.ids) for e in encodings]

    def batches(self, ids: list[list[int]], texts: Sequence[str]) -> list[list[int]]:
        """Indices grouped into length-sorted batches (deterministic for a given multiset)."""
        order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), texts[i]))
        size = self.batch_size
        return [order[k : k + size] for k in range(0, len(order), size)]

    def pack(self, rows: list[list[int]]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Pad ``rows`` to the longest of them: (input_ids, attention_mask)."""
        width = max(len(r) for r in rows)
        input_ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for k, row in enumerate(rows):
            input_ids[k, : len(row)] = row
            mask[k, : len(row)] = 1
        return input_ids, mask

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.token_ids(texts)
        for batch in self.batches(ids, texts):
            input_ids, mask = self.pack([ids[i] for i in batch])
            feeds = {"input_ids": input_ids, "attention_mask": mask}
            if self._takes_token_types:
                feeds["token_type_ids"] = np.zeros_like(input_ids)
            (vectors,) = self._session.run([self._output], feeds)
            out[batch] = np.asarray(vectors, dtype=np.float32)
        return out
