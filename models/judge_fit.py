"""Calibrate the judgement heads on the dev split and pack ``judge.npz`` (numpy only).

The heads come out of the multi-task fine-tuning (models/judge_train.py) as linear layers on the
sentence vector. Fine-tuned networks are over-confident on what they trained on, so their
temperatures are fitted on the *dev* split, embedded by the shipped (quantized) encoder through
the run-time code: one temperature for the 10 x 3 effect softmaxes, one for the harm logit
(each the grid point with the lowest dev log-loss). The harm threshold is chosen on dev too:
the highest threshold that still refuses ``HARM_RECALL`` of the harmful dev options, since a
missed harm costs more than a needless refusal the owner can contest. The test split is read
by nothing here.
"""

from __future__ import annotations

from typing import Any

import everyday
import judge_metrics as jm
import numpy as np

HARM_RECALL = 0.985
# ...unless that refuses more than this share of harmless dev options: a Little Dan that refuses
# most everyday options is no use, so a weak harm head (the numpy tier) is held to this and its
# lower recall is stated in meta.json instead.
MAX_REFUSED_HARMLESS = 0.10
_GRID = np.exp(np.linspace(np.log(0.3), np.log(6.0), 61))


def _softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _effects_nll(logits: np.ndarray, y: np.ndarray, t: float) -> float:
    p = _softmax(logits / t)
    picked = np.take_along_axis(p, (y + 1)[..., None], axis=-1)[..., 0]
    return float(-np.log(np.clip(picked, 1e-12, 1.0)).mean())


def _harm_nll(z: np.ndarray, y: np.ndarray, t: float) -> float:
    p = 1.0 / (1.0 + np.exp(-z / t))
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


# The memory of labelled train options mixed into the harm probability (edge_dan/model/judge.py):
# sharpness of the soft vote over cosines, and the vote's weight. On dev (harm AUC): head alone
# 0.931; the vote alone 0.944 / 0.945 / 0.944 at sharpness 20 / 30 / 40; mixed at 30 with weight
# 0.7 / 0.85 / 1.0: 0.938 / 0.940 / 0.945 (a hard top-5 vote: 0.938). Weight 0.85, not 1.0: an
# option unlike anything remembered still gets the head's reading (a vote cannot extrapolate).
MEMORY_VOTE = (30.0, 0.85)


def memory_arrays(x_train: np.ndarray, train: everyday.Corpus) -> dict[str, np.ndarray]:
    """The train split's unit vectors as int8 (times 127) with their harm labels."""
    q = np.clip(np.round(np.asarray(x_train, np.float64) * 127.0), -127, 127).astype(np.int8)
    return {
        "memory": q,
        "memory_harm": train.harm.astype(np.int8),
        "memory_vote": np.array(MEMORY_VOTE, dtype=np.float64),
    }


def _neighbour_vote(x: np.ndarray, memory: dict[str, np.ndarray]) -> np.ndarray:
    m = memory["memory"].astype(np.float32) / 127.0
    sharp = float(memory["memory_vote"][0])
    sim = (x.astype(np.float32) @ m.T).astype(np.float64)
    w = np.exp(sharp * (sim - sim.max(axis=1, keepdims=True)))
    return (w @ memory["memory_harm"].astype(np.float64)) / w.sum(axis=1)


def calibrate(
    heads: dict[str, np.ndarray],
    x_dev: np.ndarray,
    dev: everyday.Corpus,
    memory: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Temperatures and the harm threshold from dev vectors; returns the arrays for judge.npz
    (``arrays``) and what was measured on dev (``dev``)."""
    eff = (x_dev @ heads["effects_w"] + heads["effects_b"]).reshape(-1, len(everyday.VALUES), 3)
    t_eff = float(min(_GRID, key=lambda t: _effects_nll(eff, dev.effects.astype(int), t)))
    z = (x_dev @ heads["harm_w"] + heads["harm_b"])[:, 0]
    t_harm = float(min(_GRID, key=lambda t: _harm_nll(z, dev.harm.astype(float), t)))
    p_harm = 1.0 / (1.0 + np.exp(-z / t_harm))
    if memory is not None:
        mix = float(memory["memory_vote"][1])
        p_harm = (1.0 - mix) * p_harm + mix * _neighbour_vote(x_dev, memory)
    threshold = jm.threshold_for_recall(p_harm, dev.harm == 1, HARM_RECALL)
    harmless = np.sort(p_harm[dev.harm == 0])
    if len(harmless):
        cap = float(harmless[int(np.ceil((1.0 - MAX_REFUSED_HARMLESS) * len(harmless))) - 1])
        threshold = max(threshold, float(np.nextafter(cap, np.inf)))
    p = _softmax(eff / t_eff)
    signed = p[..., 2] - p[..., 0]
    arrays = {
        name: heads[name]
        for name in (
            "effects_w", "effects_b", "harm_w", "harm_b", "kind_w", "kind_b",
            "target_w", "target_b", "primary_w", "primary_b",
        )
    }  # fmt: skip
    if memory is not None:
        arrays.update(memory)
    arrays["effects_t"] = np.array(t_eff)
    arrays["harm_t"] = np.array(t_harm)
    arrays["harm_threshold"] = np.array(threshold)
    salience = salience_of(heads, x_dev, p)
    figures = {
        "items": len(dev.items),
        "effects_temperature": t_eff,
        "harm_temperature": t_harm,
        "harm_threshold": threshold,
        "recognition": jm.recognition(dev, salience),
        "direction": jm.direction(dev, signed),
        "harm": jm.harm(dev, p_harm >= threshold) | {"auc": jm.harm_auc(dev, p_harm)},
    }
    return {"arrays": arrays, "dev": figures}


def salience_of(heads: dict[str, np.ndarray], x: np.ndarray, p_effects: np.ndarray) -> np.ndarray:
    """How much each value is at stake: the mean of P(not "leaves alone") and the primary-value
    softmax (each alone ranks the labelled primary value a little worse on dev)."""
    prim = _softmax(x @ heads["primary_w"] + heads["primary_b"])
    return 0.5 * (1.0 - p_effects[..., 1]) + 0.5 * prim


def fit_softmax(
    x: np.ndarray, y: np.ndarray, k: int, *, c: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression (scipy L-BFGS), classes 0..k-1, balanced class weights,
    L2 with strength 1/c on standardised features (folded back, so it reads raw vectors)."""
    from scipy.optimize import minimize

    n, d = x.shape
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-8
    z = np.hstack([(x - mean) / scale, np.ones((n, 1))])
    onehot = np.eye(k)[y]
    counts = onehot.sum(axis=0).clip(1, None)
    weight = (n / (k * counts))[y]
    reg = np.ones((d + 1, 1))
    reg[-1] = 0.0

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        wb = flat.reshape(d + 1, k)
        s = z @ wb
        s = s - s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        f = -c * float((weight * (onehot * logp).sum(axis=1)).sum()) + 0.5 * float(
            (reg * wb * wb).sum()
        )
        p = np.exp(logp)
        grad = c * (z.T @ (weight[:, None] * (p - onehot))) + reg * wb
        return f, grad.ravel()

    result = minimize(
        objective, np.zeros((d + 1) * k), jac=True, method="L-BFGS-B", options={"maxiter": 2000}
    )
    wb = result.x.reshape(d + 1, k)
    w = wb[:d] / scale[:, None]
    b = wb[d] - (mean / scale) @ wb[:d]
    return w.astype(np.float32), b.astype(np.float32)


def fit_linear_heads(
    x: np.ndarray, train: everyday.Corpus, *, c: float = 1.0
) -> dict[str, np.ndarray]:
    """The judgement heads as logistic regressions on fixed vectors (the numpy tier, whose
    encoder is not fine-tuned): same arrays as the fine-tuned heads."""
    k = len(everyday.VALUES)
    ws, bs = [], []
    for j in range(k):
        w, b = fit_softmax(x, train.effects[:, j].astype(int) + 1, 3, c=c)
        ws.append(w)
        bs.append(b)
    heads = {
        "effects_w": np.concatenate(ws, axis=1),
        "effects_b": np.concatenate(bs),
    }
    heads["primary_w"], heads["primary_b"] = fit_softmax(x, train.primary, k, c=c)
    heads["harm_w"], harm_b = fit_softmax(x, train.harm.astype(int), 2, c=c)
    # two-class softmax as one logit: the difference of the class scores
    heads["harm_w"] = (heads["harm_w"][:, 1:] - heads["harm_w"][:, :1]).astype(np.float32)
    heads["harm_b"] = (harm_b[1:] - harm_b[:1]).astype(np.float32)
    harmful = train.harm == 1
    heads["kind_w"], heads["kind_b"] = fit_softmax(
        x[harmful], train.kind[harmful], len(everyday.HARM_KINDS), c=c
    )
    heads["target_w"], heads["target_b"] = fit_softmax(
        x[harmful], train.target[harmful], len(everyday.HARM_TARGETS), c=c
    )
    return heads


# L2 strength of the refitted heads, chosen on dev among 0.1 and 1 (0.1 was better on every figure).
REFIT_C = 0.1


def _summary(dev: dict[str, Any]) -> dict[str, float]:
    return {
        "top3": dev["recognition"]["top3"],
        "mrr": dev["recognition"]["mrr"],
        "auc_mean": dev["direction"]["auc_mean"],
        "auc_min": dev["direction"]["auc_min"],
        "pairs_right": dev["direction"]["pairs_right"],
        "harm_auc": dev["harm"]["auc"],
    }


def choose(
    tuned: dict[str, np.ndarray],
    x_train: np.ndarray,
    train: everyday.Corpus,
    x_dev: np.ndarray,
    dev: everyday.Corpus,
) -> dict[str, Any]:
    """The heads that came out of fine-tuning, logistic regressions refitted on the shipped
    encoder's train vectors, and their average (a linear head too: the mean of the two logits);
    each calibrated on dev, the best by the mean of the dev figures kept. Returns ``calibrate``'s
    result for the winner, plus ``fitted`` (its uncalibrated arrays) and the comparison."""
    refit = fit_linear_heads(x_train, train, c=REFIT_C)
    averaged = {k: (tuned[k] + refit[k]) / 2 for k in refit}
    candidates = {"fine-tuned": tuned, "refitted": refit, "averaged": averaged}
    memory = memory_arrays(x_train, train)
    results = {name: calibrate(h, x_dev, dev, memory) for name, h in candidates.items()}
    scores = {name: _summary(r["dev"]) for name, r in results.items()}
    best = max(scores, key=lambda name: float(np.mean(list(scores[name].values()))))
    chosen = results[best]
    chosen["dev"]["heads"] = best
    chosen["dev"]["candidates"] = scores
    chosen["fitted"] = candidates[best]
    chosen["memory"] = memory
    return chosen
