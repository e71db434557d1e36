"""Training the value head: logistic regression (or a one-layer MLP), Platt scaling, thresholds.

Everything here is seeded and deterministic. Thresholds maximise the official F1 (harmonic mean
of macro precision and macro recall); because that F1 couples the categories, they are tuned by
coordinate ascent, a category at a time, for a few passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from data import official_f1

SEED = 20230501
MIN_PRED_FRACTION = 0.25
Array = npt.NDArray[Any]


@dataclass
class Head:
    w: Array
    b: Array
    hidden_w: Array | None = None
    hidden_b: Array | None = None
    platt_a: Array = field(default_factory=lambda: np.ones(0))
    platt_b: Array = field(default_factory=lambda: np.zeros(0))
    thresholds: Array = field(default_factory=lambda: np.zeros(0))

    def logits(self, x: Array) -> Array:
        h = np.asarray(x, dtype=np.float64)
        if self.hidden_w is not None and self.hidden_b is not None:
            h = np.maximum(h @ self.hidden_w + self.hidden_b, 0.0)
        out: Array = h @ self.w + self.b
        return out

    def probabilities(self, x: Array) -> Array:
        return sigmoid(self.platt_a * self.logits(x) + self.platt_b)

    def arrays(self) -> dict[str, Array]:
        out = {
            "w": self.w.astype(np.float32),
            "b": self.b.astype(np.float32),
            "platt_a": self.platt_a.astype(np.float64),
            "platt_b": self.platt_b.astype(np.float64),
            "thresholds": self.thresholds.astype(np.float64),
        }
        if self.hidden_w is not None and self.hidden_b is not None:
            out["hidden_w"] = self.hidden_w.astype(np.float32)
            out["hidden_b"] = self.hidden_b.astype(np.float32)
        return out


def sigmoid(x: Array) -> Array:
    out: Array = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def fit_logistic(x: Array, y: Array, *, c: float, balanced: bool) -> Head:
    """L2-regularised logistic regression for every category at once (scipy L-BFGS).

    Objective per category, as scikit-learn's: C * sum_i weight_i * logloss_i + ||w||^2 / 2
    (intercept not penalised). ``balanced`` weighs positives and negatives of each category
    n / (2 * count). Features are standardised for fast convergence and the scaling is folded
    back into the weights, so the shipped head reads raw sentence vectors.
    """
    from scipy.optimize import minimize

    n, d = x.shape
    k = y.shape[1]
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-8
    z = np.hstack([(x - mean) / scale, np.ones((n, 1))])
    yf = y.astype(np.float64)
    if balanced:
        npos = yf.sum(axis=0).clip(1, None)
        weight = np.where(yf > 0, n / (2 * npos), n / (2 * (n - npos).clip(1, None)))
    else:
        weight = np.ones_like(yf)
    reg = np.ones((d + 1, 1))
    reg[-1] = 0.0

    def objective(flat: Array) -> tuple[float, Array]:
        wb = flat.reshape(d + 1, k)
        s = z @ wb
        # log(1 + exp(-t)) for the signed margin t, computed stably
        sign = 2 * yf - 1
        loss = np.logaddexp(0.0, -sign * s)
        p = sigmoid(s)
        f = c * float((weight * loss).sum()) + 0.5 * float((reg * wb * wb).sum())
        grad = c * (z.T @ (weight * (p - yf))) + reg * wb
        return f, grad.ravel()

    start = np.zeros((d + 1) * k)
    result = minimize(
        objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 3000, "gtol": 1e-6}
    )
    wb = result.x.reshape(d + 1, k)
    w = wb[:d] / scale[:, None]
    b = wb[d] - (mean / scale) @ wb[:d]
    return Head(w=w, b=b)


def fit_mlp(x: Array, y: Array, *, hidden: int, alpha: float, epochs: int, balanced: bool) -> Head:
    """A one-hidden-layer ReLU network with 20 sigmoid outputs, trained with numpy Adam.

    Written in numpy (not torch) so the build stays light and bit-for-bit reproducible.
    """
    rng = np.random.default_rng(SEED)
    n, d = x.shape
    k = y.shape[1]
    yf = y.astype(np.float64)
    pos = yf.mean(axis=0).clip(1e-3, 1 - 1e-3)
    # balanced: weigh positives so each category's positives and negatives count alike
    wpos = (1 - pos) / pos if balanced else np.ones(k)
    wpos = np.sqrt(wpos) if balanced else wpos
    params = {
        "w1": rng.normal(0, np.sqrt(2.0 / d), (d, hidden)),
        "b1": np.zeros(hidden),
        "w2": rng.normal(0, np.sqrt(1.0 / hidden), (hidden, k)),
        "b2": np.log(pos / (1 - pos)),
    }
    m = {key: np.zeros_like(v) for key, v in params.items()}
    v = {key: np.zeros_like(val) for key, val in params.items()}
    lr, beta1, beta2, eps, batch = 1e-3, 0.9, 0.999, 1e-8, 64
    step = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            xb, yb = x[idx], yf[idx]
            h_pre = xb @ params["w1"] + params["b1"]
            h = np.maximum(h_pre, 0.0)
            z = h @ params["w2"] + params["b2"]
            p = sigmoid(z)
            weight = yb * wpos + (1 - yb)
            dz = weight * (p - yb) / len(idx)
            grads = {
                "w2": h.T @ dz + alpha * params["w2"],
                "b2": dz.sum(axis=0),
            }
            dh = (dz @ params["w2"].T) * (h_pre > 0)
            grads["w1"] = xb.T @ dh + alpha * params["w1"]
            grads["b1"] = dh.sum(axis=0)
            step += 1
            for key, g in grads.items():
                m[key] = beta1 * m[key] + (1 - beta1) * g
                v[key] = beta2 * v[key] + (1 - beta2) * g * g
                mhat = m[key] / (1 - beta1**step)
                vhat = v[key] / (1 - beta2**step)
                params[key] = params[key] - lr * mhat / (np.sqrt(vhat) + eps)
    return Head(w=params["w2"], b=params["b2"], hidden_w=params["w1"], hidden_b=params["b1"])


def fit_platt(logits: Array, y: Array) -> tuple[Array, Array]:
    """Per-category Platt scaling p = sigmoid(a * logit + b), fitted by Newton's method."""
    k = logits.shape[1]
    a_out = np.ones(k)
    b_out = np.zeros(k)
    for j in range(k):
        s = logits[:, j]
        t = y[:, j].astype(np.float64)
        # Platt's smoothed targets keep the fit finite on separable data.
        npos, nneg = t.sum(), len(t) - t.sum()
        t = np.where(t > 0, (npos + 1) / (npos + 2), 1 / (nneg + 2))
        a, b = 1.0, 0.0
        for _ in range(100):
            p = sigmoid(a * s + b)
            g = np.array([((p - t) * s).sum(), (p - t).sum()])
            wgt = p * (1 - p) + 1e-12
            hess = np.array(
                [[(wgt * s * s).sum() + 1e-9, (wgt * s).sum()], [(wgt * s).sum(), wgt.sum() + 1e-9]]
            )
            delta = np.linalg.solve(hess, g)
            a, b = a - delta[0], b - delta[1]
            if np.abs(delta).max() < 1e-10:
                break
        a_out[j], b_out[j] = a, b
    return a_out, b_out


def tune_thresholds(prob: Array, y: Array, *, passes: int = 3) -> Array:
    """Per-category thresholds on ``prob`` that maximise the official F1 on (prob, y)."""
    n, k = prob.shape
    yb = y.astype(bool)
    thr = np.full(k, 0.5)
    # Per category: candidate thresholds and the precision/recall each gives, from sorted scores.
    cand: list[tuple[Array, Array, Array]] = []
    for j in range(k):
        order = np.argsort(-prob[:, j], kind="stable")
        s = prob[order, j]
        hits = np.cumsum(yb[order, j])
        npred = np.arange(1, n + 1)
        last = np.r_[s[1:] != s[:-1], True]  # only cut between distinct scores
        total = max(int(yb[:, j].sum()), 1)
        # A threshold that keeps only a handful of top scores reaches precision 1 on the data it
        # is tuned on and nothing on new data (macro precision rewards that); require at least
        # a quarter as many predictions as true positives.
        enough = npred >= max(3.0, MIN_PRED_FRACTION * total)
        keep = last & enough
        ts, ps, rs = s[keep], (hits / npred)[keep], (hits / total)[keep]
        cand.append((ts, ps, rs))
    prec = np.zeros(k)
    rec = np.zeros(k)
    for j in range(k):
        pred = prob[:, j] >= thr[j]
        tp = (pred & yb[:, j]).sum()
        prec[j] = tp / pred.sum() if pred.sum() else 0.0
        rec[j] = tp / max(yb[:, j].sum(), 1)
    for _ in range(passes):
        for j in range(k):
            ts, ps, rs = cand[j]
            mp = (prec.sum() - prec[j] + ps) / k
            mr = (rec.sum() - rec[j] + rs) / k
            f = np.where(mp + mr > 0, 2 * mp * mr / np.maximum(mp + mr, 1e-12), 0.0)
            best = int(np.argmax(f))
            thr[j], prec[j], rec[j] = ts[best], ps[best], rs[best]
    return thr


def calibrate(head: Head, logits: Array, y: Array) -> Head:
    head.platt_a, head.platt_b = fit_platt(logits, y)
    prob = sigmoid(head.platt_a * logits + head.platt_b)
    head.thresholds = tune_thresholds(prob, y)
    return head


def crossfit_f1(logits: Array, y: Array, *, folds: int = 5) -> dict[str, float]:
    """Honest validation F1: Platt and thresholds fitted on the other folds of validation."""
    rng = np.random.default_rng(SEED)
    fold = rng.permutation(len(y)) % folds
    pred = np.zeros(y.shape, dtype=bool)
    for f in range(folds):
        fit, hold = fold != f, fold == f
        a, b = fit_platt(logits[fit], y[fit])
        thr = tune_thresholds(sigmoid(a * logits[fit] + b), y[fit])
        pred[hold] = sigmoid(a * logits[hold] + b) >= thr
    return official_f1(y, pred)


def brier(prob: Array, y: Array) -> float:
    return float(((prob - y) ** 2).mean())


def ece(prob: Array, y: Array, bins: int = 10) -> float:
    """Expected calibration error over all (text, category) pairs."""
    p = prob.ravel()
    t = y.ravel().astype(np.float64)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            total += sel.mean() * abs(p[sel].mean() - t[sel].mean())
    return float(total)
