"""Refit distilled token vectors so pooled sentences match the encoder's sentence vectors.

An experiment of the tiny tier (``models/build_tiny.py --experiments``): the static vector of a
text is the weighted mean of its token vectors, which ignores context. Given sentences and the
encoder's own sentence vectors for them, the token table E (vocab x 384) is nudged by the
smallest change (ridge, strength ``lam``) that makes the pooled vectors match the targets:

    min_D ||A (E + D) - T||^2 + lam ||D||^2   =>   D = A^T (A A^T + lam I)^-1 (T - A E)

with A (sentences x vocab) the pooling weights (SIF weight x count, rows summing to 1) and T the
sentence vectors scaled to the norm of the current pooled vectors. The n x n system is small.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def pooling_matrix(tokenizer: Any, texts: list[str], weight: np.ndarray, skip: set[int]) -> Any:
    from scipy import sparse

    rows, cols, vals = [], [], []
    for i, e in enumerate(tokenizer.encode_batch(texts)):
        ids = [t for t in e.ids if t not in skip]
        if not ids:
            continue
        uniq, counts = np.unique(ids, return_counts=True)
        w = counts * weight[uniq]
        rows += [i] * len(uniq)
        cols += uniq.tolist()
        vals += (w / w.sum()).tolist()
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(weight)))


def refit(raw: np.ndarray, a: Any, targets: np.ndarray, lam: float) -> np.ndarray:
    """The refitted table (vocab x dim), float32."""
    e = raw.astype(np.float64)
    pooled = np.asarray(a @ e)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    t = targets.astype(np.float64) * norms
    gram = np.asarray((a @ a.T).todense())
    gram[np.diag_indices_from(gram)] += lam
    coef = np.linalg.solve(gram, t - pooled)
    out: np.ndarray = (e + np.asarray(a.T @ coef)).astype(np.float32)
    return out
