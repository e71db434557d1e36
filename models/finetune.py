"""Optional: fine-tune MiniLM on the training split (multi-label BCE through the mean-pooled,
normalised sentence vector), then save it as a transformers directory for export.

The classifier used during fine-tuning is thrown away: the shipped head is refitted on the
fine-tuned (and quantized) embeddings exactly like the frozen pipeline, so the runtime stays
the same. Seeded; CPU only.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SEED = 20230501


def _pack(rows: list[list[int]]) -> tuple[Any, Any]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = torch.tensor(row)
        mask[r, : len(row)] = 1
    return ids, mask


def _mean_pool(hidden: Any, mask: Any) -> Any:
    import torch

    m = mask.unsqueeze(-1).float()
    vec = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(vec, dim=1)


def finetune(
    model_dir: Path,
    texts: list[str],
    labels: Any,
    out_dir: Path,
    *,
    epochs: int = 2,
    batch_size: int = 16,
    lr: float = 3e-5,
    max_length: int = 128,
    log: Any = print,
) -> Path:
    import numpy as np
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_length)
    encoder = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
    encoder.train()
    k = labels.shape[1]
    y_all = torch.tensor(np.asarray(labels), dtype=torch.float32)
    pos = y_all.mean(dim=0).clamp(1e-3, 1 - 1e-3)
    # Cosine-similarity logits to learnable category vectors, with a learnable scale: the
    # sentence vector itself has to move, which is what the frozen head then benefits from.
    classifier = torch.nn.Linear(encoder.config.hidden_size, k)
    torch.nn.init.normal_(classifier.weight, std=0.02)
    with torch.no_grad():
        classifier.bias.copy_(torch.log(pos / (1 - pos)))
    scale = torch.nn.Parameter(torch.tensor(10.0))
    params = [
        {"params": encoder.parameters(), "lr": lr},
        {"params": [*classifier.parameters(), scale], "lr": 1e-3},
    ]
    optim = torch.optim.AdamW(params, weight_decay=0.01)
    steps_total = epochs * ((len(texts) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min(1.0, (s + 1) / (0.06 * steps_total)) * max(0.0, 1 - s / steps_total)
    )
    pos_weight = torch.sqrt((1 - pos) / pos)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    enc_ids = [e.ids for e in tok.encode_batch(texts)]
    step = 0
    t0 = time.time()
    for epoch in range(epochs):
        order = rng.permutation(len(texts))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            ids, mask = _pack([enc_ids[i] for i in idx])
            hidden = encoder(
                input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)
            ).last_hidden_state
            vec = _mean_pool(hidden, mask)
            logits = (
                scale
                * torch.nn.functional.linear(
                    vec, torch.nn.functional.normalize(classifier.weight, dim=1)
                )
                + classifier.bias
            )
            loss = loss_fn(logits, y_all[idx])
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0)
            optim.step()
            sched.step()
            step += 1
            if step % 50 == 0:
                log(
                    f"finetune epoch {epoch} step {step}/{steps_total} loss {loss.item():.4f} "
                    f"{time.time() - t0:.0f}s"
                )
    out_dir.mkdir(parents=True, exist_ok=True)
    encoder.eval()
    encoder.save_pretrained(str(out_dir))
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        src = model_dir / name
        if src.is_file():
            (out_dir / name).write_bytes(src.read_bytes())
    return out_dir
