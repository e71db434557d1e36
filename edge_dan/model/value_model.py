"""``ValueModel``: which of the 20 value categories a text speaks to, with calibrated scores."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_dan.errors import UsageError
from edge_dan.model.encoder import Encoder
from edge_dan.model.errors import ModelError
from edge_dan.model.exact import exact_from_environment
from edge_dan.model.head import ValueHead
from edge_dan.model.integrity import read_checked, read_meta
from edge_dan.model.judge import JudgeHead
from edge_dan.model.kinds import ENCODER_KINDS
from edge_dan.values.judgement import Judgement
from edge_dan.values.schwartz import CATEGORY_TO_VALUE, ORIGINAL_VALUES

DEFAULT_TIER = "minilm-int8"
# Tiers shipped inside the package, by name: each is a directory under edge_dan/model/artifacts/.
TIERS: tuple[str, ...] = ("minilm-int8", "static-tiny")


def tier_directory(tier: str = DEFAULT_TIER) -> Path:
    """Where the shipped artifacts of ``tier`` live in the installed package."""
    if tier not in TIERS:
        raise UsageError(f"unknown model tier {tier!r}; shipped tiers: {', '.join(TIERS)}")
    root = resources.files("edge_dan.model").joinpath("artifacts", tier)
    if not isinstance(root, Path):  # pragma: no cover - zipped installs
        raise ModelError(f"model tier {tier!r} must be installed as files, not inside an archive")
    return root


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str | bytes):
        raise UsageError("pass a list of texts, not a single string")
    try:
        items = list(texts)
    except TypeError:
        raise UsageError(f"texts must be a list of strings, not {type(texts).__name__}") from None
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise UsageError(f"text {i} is a {type(text).__name__}, not a string")
    return items


class ValueModel:
    """A loaded value model. Create it once (``ValueModel.load()``) and reuse it; it is cheap to
    call and holds one onnxruntime session.

    ::

        model = ValueModel.load()                 # the shipped int8 model, on this device
        judgement = model.judge(["Visit grandma and cook for her"])[0]
        judgement.harm is None, judgement.effects # no harm; signed effect on each of 10 values
    """

    def __init__(
        self,
        encoder: Encoder,
        head: ValueHead,
        meta: dict[str, Any],
        directory: Path,
        judge: JudgeHead | None = None,
    ) -> None:
        self._encoder = encoder
        self._head = head
        self._judge = judge
        self.meta = meta
        self.directory = directory
        self.tier: str = str(meta["tier"])
        self.categories: tuple[str, ...] = tuple(meta["categories"])
        self.value_names: tuple[str, ...] = ORIGINAL_VALUES
        self._value_index = [
            [k for k, c in enumerate(self.categories) if CATEGORY_TO_VALUE.get(c) == v]
            for v in ORIGINAL_VALUES
        ]

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        tier: str = DEFAULT_TIER,
        threads: int = 1,
        batch_size: int = 1,
        verify: bool = True,
        runtime: str = "auto",
        exact: bool | None = None,
    ) -> ValueModel:
        """Load the shipped tier ``tier``, or the artifact directory ``path`` if given.

        ``threads`` is the runtime's thread count (onnxruntime's intra-op threads; the numpy
        runtime's BLAS threads, held to it while a text runs); ``verify`` checks every file against
        the SHA-256 recorded at build time. ``runtime`` runs the encoder with ``onnxruntime``,
        with ``numpy`` alone (the same graph, for devices without onnxruntime's wheel), or
        ``auto`` (the default): onnxruntime where it is installed. ``exact=True`` has
        onnxruntime multiply in float32 as the numpy runtime does, so a phone and a Pi give the
        same scores and decisions for a text, at about four times onnxruntime's time
        (``edge_dan.model.exact``); ``None`` (the default) reads ``$EDGE_DAN_MODEL_EXACT``, else
        off. ``batch_size`` bounds how
        many texts run together. It
        defaults to 1 because the int8 encoder quantizes activations dynamically, with one scale
        per batch tensor: batched, a text's scores move with its batch-mates (by up to 0.07
        measured), while one at a time they are a function of the text alone. Larger batches
        give about 1.5x the throughput for callers who accept that.
        """
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise UsageError(f"threads must be a positive integer, got {threads!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise UsageError(f"batch_size must be a positive integer, got {batch_size!r}")
        directory = tier_directory(tier) if path is None else Path(path)
        meta = read_meta(directory)
        categories = meta["categories"]
        if not isinstance(categories, list) or not all(c in CATEGORY_TO_VALUE for c in categories):
            raise ModelError(f"model metadata in {directory} lists unknown categories")
        kind = str(meta["encoder"].get("kind"))
        factory = ENCODER_KINDS.get(kind)
        if factory is None:
            raise ModelError(
                f"model in {directory} needs encoder kind {kind!r}, which this edge-dan lacks"
            )
        if exact is None:
            exact = exact_from_environment()
        elif not isinstance(exact, bool):
            raise UsageError(f"exact must be True, False or None, got {exact!r}")
        encoder = factory(
            directory,
            meta,
            threads=threads,
            batch_size=batch_size,
            verify=verify,
            runtime=runtime,
            exact=exact,
        )
        head_name = str(meta["head"].get("file", "head.npz"))
        head_bytes = read_checked(directory, meta, head_name, verify=verify)
        head = ValueHead.from_bytes(
            head_bytes, dim=encoder.dim, k=len(categories), name=str(directory / head_name)
        )
        judge = None
        if isinstance(meta.get("judge"), dict):
            judge_name = str(meta["judge"].get("file", "judge.npz"))
            judge = JudgeHead.from_bytes(
                read_checked(directory, meta, judge_name, verify=verify),
                dim=encoder.dim,
                name=str(directory / judge_name),
            )
        return cls(encoder, head, meta, directory, judge)

    @property
    def dim(self) -> int:
        return self._encoder.dim

    @property
    def runtime(self) -> str:
        """What runs the encoder: ``onnxruntime``, or ``numpy`` (and the tiny tier's table)."""
        return str(getattr(self._encoder, "runtime", "numpy"))

    @property
    def exact(self) -> bool:
        """Whether every weight product is float32, so that any runtime gives these scores
        (always so on numpy; on onnxruntime when loaded with ``exact``)."""
        return bool(getattr(self._encoder, "exact", True))

    @property
    def tokenizer(self) -> str:
        """What makes the token ids: ``tokenizers`` (the Rust library, where installed),
        ``wordpiece`` (edge_dan's pure-Python one: the same ids)."""
        return str(getattr(self._encoder, "tokenizer", "tokenizers"))

    @property
    def thresholds(self) -> npt.NDArray[np.float64]:
        """Per-category detection thresholds on the calibrated probabilities."""
        return self._head.thresholds.copy()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Sentence vectors, shape (n, dim), float32, L2-normalised."""
        return self._encoder.embed(_check_texts(texts))

    def scores_from_embeddings(self, embeddings: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """Calibrated probabilities (n, 20) for vectors made by ``embed``."""
        emb = np.asarray(embeddings)
        if emb.ndim != 2 or emb.shape[1] != self.dim:
            raise UsageError(f"embeddings must have shape (n, {self.dim}), got {emb.shape}")
        return self._head.probabilities(emb)

    def scores(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Calibrated probability that each text resorts to each category: shape (n, 20)."""
        return self.scores_from_embeddings(self.embed(texts))

    def fold_values(self, scores: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """Category scores (n, 20) folded to the 10 original values by the maximum per value."""
        s = np.asarray(scores, dtype=np.float64)
        out = np.zeros((s.shape[0], len(self.value_names)), dtype=np.float64)
        for j, idx in enumerate(self._value_index):
            if idx:
                out[:, j] = s[:, idx].max(axis=1)
        return out

    def values(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Scores of the 10 original values, shape (n, 10), in ``ORIGINAL_VALUES`` order."""
        return self.fold_values(self.scores(texts))

    def detect(self, texts: Sequence[str]) -> npt.NDArray[np.bool_]:
        """Which categories each text resorts to, by the tuned thresholds: bool (n, 20)."""
        out: npt.NDArray[np.bool_] = self.scores(texts) >= self._head.thresholds
        return out

    @property
    def judges(self) -> bool:
        """Whether this tier reads direction and harm (``judge``); every shipped tier does."""
        return self._judge is not None

    def _judge_head(self) -> JudgeHead:
        if self._judge is None:
            raise ModelError(
                f"model tier {self.tier!r} in {self.directory} has no judgement head (direction "
                "and harm); rebuild it with `python models/build.py`"
            )
        return self._judge

    def judge_embeddings(self, embeddings: npt.NDArray[Any]) -> list[Judgement]:
        """Judgements for vectors made by ``embed``."""
        emb = np.asarray(embeddings)
        if emb.ndim != 2 or emb.shape[1] != self.dim:
            raise UsageError(f"embeddings must have shape (n, {self.dim}), got {emb.shape}")
        return self._judge_head().judge(emb)

    def judge(self, texts: Sequence[str]) -> list[Judgement]:
        """Which values each option serves or goes against, and whether it would harm someone."""
        return self.judge_embeddings(self.embed(texts))

    def effects(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Signed value effects (n, 10) in [-1, 1]: > 0 promotes the value, < 0 goes against it."""
        out = np.array([j.effects for j in self.judge(texts)], dtype=np.float64)
        return out.reshape(-1, len(ORIGINAL_VALUES))

    def __repr__(self) -> str:
        return f"ValueModel(tier={self.tier!r}, directory={str(self.directory)!r})"
