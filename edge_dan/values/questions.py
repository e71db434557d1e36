"""Which two options to ask the owner about next: the answer that would teach the most.

"One answer counts" (``personal``) makes every answer move the ranking; this module makes every
question worth asking. Alignment is a dialogue, and an owner answers a handful of questions, not
hundreds, so Little Dan picks the pair whose answer it can least predict *and* that bears on the
weights it is least sure of. With the Laplace posterior of the personal model (weights ``w``,
covariance ``S``, from the answers so far), an answer on options with effect difference ``d``
gains about ``log(1 + p (1 - p) d.S.d)`` nats of information about ``w`` (the log-determinant
change of a rank-one update of the precision), with ``p = sigmoid(w.d)`` the predicted chance the
owner prefers the first. Pairs the model already orders with confidence (p near 0 or 1) and pairs
that differ only along well-known weights score low.

Pure and deterministic: the same model and options always give the same question (a large
option set is subsampled with a seed taken from its size and the number of answers).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from edge_dan.errors import UsageError
from edge_dan.values.personal import PersonalModel, features

FloatArray = npt.NDArray[np.float64]

# Pairs scored per question: all of them for up to ~200 options, a seeded sample above that.
MAX_PAIRS = 20_000


def posterior_covariance(model: PersonalModel) -> FloatArray:
    """Laplace covariance of the weights: the inverse Hessian of the fit at its optimum."""
    d = model.answers
    w = model.weights
    p = 1.0 / (1.0 + np.exp(-(d @ w))) if len(d) else np.zeros(0)
    precision = (d.T * (p * (1.0 - p))) @ d + model.regularisation * np.eye(len(w))
    out: FloatArray = np.asarray(np.linalg.inv(precision), dtype=np.float64)
    return out


def information_gain(model: PersonalModel, differences: npt.ArrayLike) -> FloatArray:
    """Expected information (nats) from asking about each row ``f(a) - f(b)``."""
    d = np.asarray(differences, dtype=np.float64).reshape(-1, len(model.weights))
    cov = posterior_covariance(model)
    p = 1.0 / (1.0 + np.exp(-(d @ model.weights)))
    spread = np.einsum("ij,jk,ik->i", d, cov, d)
    out: FloatArray = np.log1p(p * (1.0 - p) * spread)
    return out


def next_question(
    model: PersonalModel,
    option_scores: npt.ArrayLike,
    *,
    asked: Iterable[tuple[int, int]] = (),
    max_pairs: int = MAX_PAIRS,
) -> tuple[int, int] | None:
    """The indices ``(i, j)`` (i < j) of the two options to ask about next, or None when no pair
    is left that the model can tell apart. ``asked`` pairs (either order) are never asked again."""
    f = features(option_scores)
    n = len(f)
    if max_pairs < 1:
        raise UsageError("max_pairs must be at least 1")
    done = {(min(a, b), max(a, b)) for a, b in asked}
    if n * (n - 1) // 2 <= max_pairs:
        i, j = np.triu_indices(n, k=1)
    else:
        rng = np.random.default_rng([n, model.pairs])
        i = rng.integers(0, n, size=max_pairs)
        j = rng.integers(0, n, size=max_pairs)
        i, j = np.minimum(i, j), np.maximum(i, j)
        keep = i != j
        i, j = i[keep], j[keep]
    if done:
        fresh = np.array(
            [(int(a), int(b)) not in done for a, b in zip(i, j, strict=True)], dtype=bool
        )
        i, j = i[fresh], j[fresh]
    if not len(i):
        return None
    d = f[i] - f[j]
    told = np.abs(d).sum(axis=1) > 1e-9
    if not told.any():
        return None
    gain = np.where(told, information_gain(model, d), -np.inf)
    k = int(np.argmax(gain))  # first maximum: ties go to the lowest pair, deterministically
    return int(i[k]), int(j[k])
