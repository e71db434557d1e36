"""Which encoder a model directory needs: ``meta.json``'s ``encoder`` names one of these kinds.

Kept apart from the encoders so that neither imports the other: the numpy-only static encoder
reuses the ONNX encoder's text cleaning, and is imported only when a tiny-tier model is loaded
(a phone without onnxruntime never imports it the other way round).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_dan.model.encoder import Encoder, OnnxEncoder

EncoderFactory = Callable[..., Encoder]


def _open_static(directory: Path, meta: dict[str, Any], **options: Any) -> Encoder:
    """The numpy-only static encoder of the tiny tier (imported only when it is loaded)."""
    from edge_dan.model.static import StaticEncoder

    options.pop("runtime", None)  # numpy already: there is no runtime to choose
    options.pop("exact", None)  # and it computes in float32 anyway
    return StaticEncoder.open(directory, meta, **options)


ENCODER_KINDS: dict[str, EncoderFactory] = {"onnx": OnnxEncoder.open, "static": _open_static}
