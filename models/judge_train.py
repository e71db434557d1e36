"""Fine-tune the encoder for judgement: signed value effects, the primary value, harm, and the
Touché23 value categories, all at once (multi-task), so one sentence vector serves every head.

Why multi-task: the Touché-only encoder learnt which values an *argument* involves; everyday
options need direction ("keep" vs "break my promise") and harm, which involvement never sees,
while argument text must not regress (the official F1 is still measured). Each step mixes a batch
of everyday options (this project's corpus, train split only, plus the PVQ-40 items and the value
descriptions as prototypes that promote their value), a batch of Touché premises and a small
batch of FULCRA answers (signed labels on the values they name; the others are left out of the
loss, not read as neutral). Minimal pairs are always batched together, so each step sees the
one word that flips a value.

Heads (all linear on the pooled, L2-normalised vector times ``SCALE``; kept and shipped as numpy
arrays, so the run time needs no torch):
- effects: 10 x 3 logits (violates, leaves alone, promotes) per value;
- primary: 10 logits, the value most at stake;
- harm: 1 logit; kind: 11 logits and target: 4 logits (read only when harmful);
- categories: the Touché cosine classifier, thrown away (the shipped category head is refitted on
  the exported encoder, as before).

Seeded; CPU only; build-time (torch, transformers).
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import Any

import everyday
import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SEED = 20261206
SCALE = 8.0  # the heads see 8 * v: unit vectors need large logits to be confident
DATA = everyday.REPO / "models" / "data"
CONFIG = {
    "epochs": 5,  # over the everyday train split (3 measured worse on every dev figure)
    "frozen_layers": 0,  # all layers learn (2 frozen: cheaper backward, worse direction on dev)
    "threads": 1,  # 2 threads thrash when anything else runs: 5x slower per step, measured
    "batch_everyday": 16,
    "batch_touche": 4,
    "batch_fulcra": 2,
    "max_tokens_touche": 96,  # the long argument texts dominate the cost of a step
    "max_tokens_fulcra": 64,
    "lr_encoder": 4e-5,
    "lr_heads": 2e-3,
    "weight_touche": 0.5,
    "weight_fulcra": 0.3,
    "neutral_weight": 0.35,  # most (option, value) cells are neutral; keep them from dominating
    "harm_pos_weight": 2.0,
    "weight_harm": 5.0,  # harm is the judgement that must not fail
    # Minimal pairs as contrasts (0 turns it off): the +1 half must out-score the -1 half on the
    # value that flips (by a margin, in the signed logit "serves minus goes against"), and the
    # harmful half of a harmless/harmful pair must out-score the other on harm. Per-item losses
    # alone let both halves drift to the same answer when one word is all that differs.
    "weight_pairs": 0.5,
    "pair_margin": 2.0,
    # Share of an option's word pieces replaced by [MASK] at each step (pairs never masked: their
    # one changed word is the point). The encoder memorised the train split (harm AUC 0.999 on
    # train, 0.93 on dev): masking keeps any single word from deciding, as an independent writer's
    # wording will not match ours.
    "token_mask": 0.0,
    # The value tasks' share (signed effects, primary value, value minimal pairs). 0 with
    # weight_touche and weight_fulcra 0 trains for harm alone (an experiment: does the encoder
    # judge harm better when it need not also read values?).
    "weight_values": 1.0,
}


def prototypes() -> list[tuple[str, int]]:
    """(text, value index) for the PVQ-40 items and the refined values' descriptions."""
    out: list[tuple[str, int]] = []
    with (DATA / "valuebench" / "pvq40.tsv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            out.append((row["item"], everyday.VALUES.index(row["value10"])))
    described = json.loads((DATA / "value-categories-19.json").read_text(encoding="utf-8"))
    for entry in described.values():
        name = str(entry["name"])
        value = name.split(":", maxsplit=1)[0].strip().lower()
        value = {"face": "power", "humility": "tradition"}.get(value, value)
        j = everyday.VALUES.index(value)
        out.append((str(entry["goal"]), j))
        out.append((str(entry["personal-motivation"]), j))
    return out


def fulcra() -> tuple[list[str], np.ndarray]:
    """Response texts and signed labels (n, 10) with 0 = not named (masked out of the loss)."""
    texts, labels = [], []
    for line in (DATA / "fulcra" / "trustworthy_data.jsonl").read_text().splitlines():
        row = json.loads(line)
        dialogue = str(row["dialogue"])
        answer = dialogue.split("\nBob:", 1)[-1].strip()
        y = np.zeros(len(everyday.VALUES), dtype=np.int8)
        for entry in row["value_types"]:
            name, _, sign = str(entry).partition(":")
            name = {"humility": "tradition"}.get(name.strip(), name.strip())
            if name in everyday.VALUES:
                y[everyday.VALUES.index(name)] = -1 if "-" in sign else 1
        if answer and y.any():
            texts.append(answer)
            labels.append(y)
    return texts, np.array(labels)


NAMES = ("effects", "primary", "harm", "kind", "target")


class Heads:
    """The judgement heads as torch modules (made lazily so numpy-only imports stay light)."""

    def __init__(self, dim: int) -> None:
        import torch

        k = len(everyday.VALUES)
        self.effects = torch.nn.Linear(dim, 3 * k)
        self.primary = torch.nn.Linear(dim, k)
        self.harm = torch.nn.Linear(dim, 1)
        self.kind = torch.nn.Linear(dim, len(everyday.HARM_KINDS))
        self.target = torch.nn.Linear(dim, len(everyday.HARM_TARGETS))
        for layer in self.modules():
            torch.nn.init.normal_(layer.weight, std=0.02)
            torch.nn.init.zeros_(layer.bias)

    def modules(self) -> list[Any]:
        return [self.effects, self.primary, self.harm, self.kind, self.target]

    def arrays(self) -> dict[str, np.ndarray]:
        """Weights for numpy: logits = v @ W + b on the unit vector v (SCALE folded in)."""
        out = {}
        for name, layer in zip(NAMES, self.modules(), strict=True):
            out[f"{name}_w"] = (layer.weight.detach().numpy().T * SCALE).astype(np.float32)
            out[f"{name}_b"] = layer.bias.detach().numpy().astype(np.float32)
        return out


def _cut(ids: list[int], n: int) -> list[int]:
    """The first ``n`` tokens, ending on [SEP] as a full encoding does."""
    return ids if len(ids) <= n else [*ids[: n - 1], ids[-1]]


def _units(corpus: everyday.Corpus) -> list[list[int]]:
    """Rows grouped so a minimal pair is one unit."""
    by_pair: dict[str, list[int]] = {}
    units: list[list[int]] = []
    for r, item in enumerate(corpus.items):
        if item["pair"] is None:
            units.append([r])
        else:
            by_pair.setdefault(str(item["pair"]), []).append(r)
    return units + list(by_pair.values())


def finetune(  # noqa: PLR0912, PLR0915  (one training loop reads best in one place)
    model_dir: Path,
    train: everyday.Corpus,
    touche_texts: list[str],
    touche_labels: np.ndarray,
    out_dir: Path,
    *,
    config: dict[str, Any] = CONFIG,
    log: Any = print,
) -> dict[str, np.ndarray]:
    """Fine-tune; save the encoder to ``out_dir`` (transformers format); return the head arrays."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    torch.manual_seed(SEED)
    torch.set_num_threads(int(config["threads"]))
    rng = np.random.default_rng(SEED)
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=128)
    encoder = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
    encoder.train()
    frozen = [encoder.embeddings, *encoder.encoder.layer[: int(config["frozen_layers"])]]
    for module in frozen:
        for p in module.parameters():
            p.requires_grad_(False)
    dim = encoder.config.hidden_size
    heads = Heads(dim)
    k_cat = touche_labels.shape[1]
    cat_head = torch.nn.Linear(dim, k_cat)
    pos = torch.tensor(touche_labels.mean(axis=0), dtype=torch.float32).clamp(1e-3, 1 - 1e-3)
    with torch.no_grad():
        torch.nn.init.normal_(cat_head.weight, std=0.02)
        cat_head.bias.copy_(torch.log(pos / (1 - pos)))
    cat_scale = torch.nn.Parameter(torch.tensor(10.0))
    head_params = [p for m in heads.modules() for p in m.parameters()]
    optim = torch.optim.AdamW(
        [
            {
                "params": [p for p in encoder.parameters() if p.requires_grad],
                "lr": config["lr_encoder"],
            },
            {"params": [*head_params, *cat_head.parameters(), cat_scale], "lr": config["lr_heads"]},
        ],
        weight_decay=0.01,
    )
    # everyday rows: the train split plus the prototypes (promote their value, harmless)
    protos = prototypes()
    ev_texts = train.texts + [t for t, _ in protos]
    n_ev = len(ev_texts)
    effects = np.zeros((n_ev, len(everyday.VALUES)), dtype=np.int64)
    effects[: len(train.texts)] = train.effects
    primary = np.concatenate([train.primary, [j for _, j in protos]])
    harm = np.concatenate([train.harm, np.zeros(len(protos), dtype=np.int8)])
    kind = np.concatenate([train.kind, np.full(len(protos), -1)])
    target = np.concatenate([train.target, np.full(len(protos), -1)])
    for r, (_, j) in enumerate(protos, len(train.texts)):
        effects[r, j] = 1
    units = _units(train) + [[r] for r in range(len(train.texts), n_ev)]
    flips = train.pairs()  # (row +1, row -1, value); both halves of a pair share a batch
    harm_pairs = [
        (a, b) if train.harm[a] else (b, a)
        for a, b in {(min(p, q), max(p, q)) for p, q, _ in flips}
        if train.harm[a] != train.harm[b]
    ]
    f_texts, f_labels = fulcra()
    ids = {
        "ev": [e.ids for e in tok.encode_batch(ev_texts)],
        "to": [_cut(e.ids, config["max_tokens_touche"]) for e in tok.encode_batch(touche_texts)],
        "fu": [_cut(e.ids, config["max_tokens_fulcra"]) for e in tok.encode_batch(f_texts)],
    }
    y_eff = torch.tensor(effects + 1)  # classes 0 violates, 1 neutral, 2 promotes
    class_w = torch.tensor([1.0, config["neutral_weight"], 1.0])
    y_prim = torch.tensor(primary)
    y_harm = torch.tensor(harm, dtype=torch.float32)
    y_kind = torch.tensor(kind)
    y_target = torch.tensor(target)
    y_cat = torch.tensor(touche_labels, dtype=torch.float32)
    y_fu = torch.tensor(f_labels.astype(np.int64) + 1)
    m_fu = torch.tensor(f_labels != 0)
    cat_loss = torch.nn.BCEWithLogitsLoss(pos_weight=torch.sqrt((1 - pos) / pos))
    harm_loss = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(config["harm_pos_weight"]))
    steps_per_epoch = (n_ev + config["batch_everyday"] - 1) // config["batch_everyday"]
    total = config["epochs"] * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min(1.0, (s + 1) / (0.06 * total)) * max(0.0, 1 - s / total)
    )

    def vectors(rows: list[list[int]]) -> Any:
        width = max(len(r) for r in rows)
        x = torch.zeros((len(rows), width), dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            x[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
        hidden = encoder(
            input_ids=x, attention_mask=mask, token_type_ids=torch.zeros_like(x)
        ).last_hidden_state
        m = mask.unsqueeze(-1).float()
        v = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(v, dim=1)

    in_pairs = {r for a, b, _ in flips for r in (a, b)}
    mask_id = tok.token_to_id("[MASK]")
    p_mask = float(config.get("token_mask", 0.0))

    def masked(row_ids: list[int], row: int) -> list[int]:
        if not p_mask or row in in_pairs or len(row_ids) <= 3:
            return row_ids
        inner = np.array(row_ids[1:-1])
        hit = rng.random(len(inner)) < p_mask
        if hit.all():  # keep at least one word piece of the option
            hit[rng.integers(len(inner))] = False
        inner[hit] = mask_id
        return [row_ids[0], *inner.tolist(), row_ids[-1]]

    def effect_loss(v: Any, y: Any, mask: Any = None) -> Any:
        logits = heads.effects(SCALE * v).view(-1, len(everyday.VALUES), 3)
        per = torch.nn.functional.cross_entropy(
            logits.reshape(-1, 3), y.reshape(-1), weight=class_w, reduction="none"
        )
        if mask is not None:
            per = per[mask.reshape(-1)]
        return per.mean() if per.numel() else per.sum()

    def pair_loss(v: Any, rows: list[int]) -> Any:
        at = {r: k for k, r in enumerate(rows)}
        margin = float(config["pair_margin"])
        total = v.new_zeros(())
        here = [(at[a], at[b], j) for a, b, j in flips if a in at and b in at]
        if here and config["weight_values"]:
            logits = heads.effects(SCALE * v).view(-1, len(everyday.VALUES), 3)
            signed = logits[..., 2] - logits[..., 0]
            pos = torch.tensor([a for a, _, _ in here])
            neg = torch.tensor([b for _, b, _ in here])
            val = torch.tensor([j for _, _, j in here])
            gap = signed[pos, val] - signed[neg, val]
            flip = torch.nn.functional.softplus(margin - gap).mean()
            total = total + config["weight_values"] * flip
        hp = [(at[a], at[b]) for a, b in harm_pairs if a in at and b in at]
        if hp:
            z = heads.harm(SCALE * v).squeeze(1)
            gap = z[torch.tensor([a for a, _ in hp])] - z[torch.tensor([b for _, b in hp])]
            total = total + torch.nn.functional.softplus(margin - gap).mean()
        return total

    t0 = time.time()
    order_to = rng.permutation(len(touche_texts))
    order_fu = rng.permutation(len(f_texts))
    pt = pf = 0
    step = 0
    for epoch in range(config["epochs"]):
        perm = rng.permutation(len(units))
        batch: list[int] = []
        batches: list[list[int]] = []
        for u in perm:
            batch.extend(units[u])
            if len(batch) >= config["batch_everyday"]:
                batches.append(batch)
                batch = []
        if batch:
            batches.append(batch)
        for rows in batches:
            idx = torch.tensor(rows)
            v = vectors([masked(ids["ev"][r], r) for r in rows])
            loss = config["weight_values"] * (
                effect_loss(v, y_eff[idx])
                + torch.nn.functional.cross_entropy(heads.primary(SCALE * v), y_prim[idx])
            )
            loss = loss + config["weight_harm"] * harm_loss(
                heads.harm(SCALE * v).squeeze(1), y_harm[idx]
            )
            harmful = y_kind[idx] >= 0
            if bool(harmful.any()):
                kind_logits = heads.kind(SCALE * v[harmful])
                target_logits = heads.target(SCALE * v[harmful])
                loss = loss + 0.5 * torch.nn.functional.cross_entropy(
                    kind_logits, y_kind[idx][harmful]
                )
                loss = loss + 0.3 * torch.nn.functional.cross_entropy(
                    target_logits, y_target[idx][harmful]
                )
            if config["weight_pairs"]:
                loss = loss + config["weight_pairs"] * pair_loss(v, rows)
            if config["weight_touche"]:  # a weight of 0 skips the forward pass too
                tb = [
                    int(order_to[(pt + i) % len(order_to)]) for i in range(config["batch_touche"])
                ]
                pt += config["batch_touche"]
                vt = vectors([ids["to"][r] for r in tb])
                cat_logits = (
                    cat_scale
                    * torch.nn.functional.linear(vt, torch.nn.functional.normalize(cat_head.weight))
                    + cat_head.bias
                )
                loss = loss + config["weight_touche"] * cat_loss(cat_logits, y_cat[tb])
            if config["weight_fulcra"]:
                fb = [
                    int(order_fu[(pf + i) % len(order_fu)]) for i in range(config["batch_fulcra"])
                ]
                pf += config["batch_fulcra"]
                vf = vectors([ids["fu"][r] for r in fb])
                loss = loss + config["weight_fulcra"] * effect_loss(vf, y_fu[fb], m_fu[fb])
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0)
            optim.step()
            sched.step()
            step += 1
            if step % 25 == 0:
                log(
                    f"judge fine-tune epoch {epoch} step {step}/{total} loss {loss.item():.3f} "
                    f"{time.time() - t0:.0f}s"
                )
    encoder.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    encoder.save_pretrained(str(out_dir))
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        src = model_dir / name
        if src.is_file():
            (out_dir / name).write_bytes(src.read_bytes())
    arrays = heads.arrays()
    np.savez(out_dir / "judge_heads.npz", **arrays)
    # The recipe travels with the weights: a build that reuses them records what made them.
    (out_dir / "judge_config.json").write_text(json.dumps(config, indent=1, sort_keys=True))
    return arrays


def config_of(out_dir: Path) -> dict[str, Any]:
    """The recipe a fine-tuned encoder was made with (``CONFIG`` if it predates the record)."""
    path = out_dir / "judge_config.json"
    return dict(json.loads(path.read_text())) if path.is_file() else dict(CONFIG)
