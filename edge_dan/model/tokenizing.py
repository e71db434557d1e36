"""The tokenizer behind both encoders: the ``tokenizers`` library where installed, else WordPiece.

The ``tokenizers`` library (Rust) is the reference the shipped ids come from, and about twice as
fast on short texts (0.1 ms against 0.2 here). Without it, as on phones and 32-bit boards where
it has no wheel (and where its dependencies would bring network libraries into an offline SDK),
edge_dan's pure-Python WordPiece gives exactly the same ids (tests/model/test_wordpiece.py), so
the choice changes speed, never a score.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from edge_dan.model.errors import ModelError


def load_tokenizer(model_path: Path, tok_bytes: bytes, max_length: int) -> tuple[Any, str]:
    """A tokenizer with the calls the encoders make of ``tokenizers.Tokenizer``
    (``encode_batch``, ``token_to_id``, ``get_vocab_size``), never padding and truncating to
    ``max_length``, and its name (``tokenizers`` or ``wordpiece``) for ``model info``."""
    try:
        text = tok_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(f"the tokenizer file next to {model_path} is not UTF-8") from exc
    try:
        from tokenizers import Tokenizer
    except ImportError:  # not installed, or unusable here: the same ids in pure Python
        from edge_dan.model.wordpiece import WordPieceTokenizer

        return WordPieceIds(WordPieceTokenizer.from_json(text, max_length=max_length)), "wordpiece"
    else:
        try:
            tokenizer = Tokenizer.from_str(text)
        except Exception as exc:
            raise ModelError(f"the tokenizer next to {model_path} is unreadable: {exc}") from exc
        # Whatever the file says, never pad (batches are padded to their longest member here)
        # and always truncate, so a long text costs at most max_length tokens.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_length)
        return tokenizer, "tokenizers"


class WordPieceIds:
    """The pure-Python tokenizer behind the calls the encoders make of ``tokenizers``."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def token_to_id(self, token: str) -> int | None:
        return self._tokenizer.vocab.get(token)  # type: ignore[no-any-return]

    def get_vocab_size(self) -> int:
        return len(self._tokenizer.vocab)

    def encode_batch(self, texts: Sequence[str]) -> list[SimpleNamespace]:
        return [SimpleNamespace(ids=ids) for ids in self._tokenizer.encode_batch(texts)]
