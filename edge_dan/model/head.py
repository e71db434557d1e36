"""The value head: sentence vectors to calibrated per-category probabilities, in numpy.

``head.npz`` holds (names fixed, arrays float32 or float64):

- optional ``hidden_w`` (dim, h) and ``hidden_b`` (h,): one ReLU layer (an MLP head);
- ``w`` (dim or h, k) and ``b`` (k,): the logits of the k categories;
- ``platt_a`` (k,) and ``platt_b`` (k,): Platt scaling, p = sigmoid(a * logit + b);
- ``thresholds`` (k,): a category is detected when p >= its threshold.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_dan.model.errors import ModelError

FloatArray = npt.NDArray[np.float64]


def _sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic
    return out


class ValueHead:
    def __init__(self, arrays: dict[str, npt.NDArray[Any]], *, dim: int, k: int) -> None:
        self.hidden_w = arrays.get("hidden_w")
        self.hidden_b = arrays.get("hidden_b")
        self.w = np.asarray(arrays["w"], dtype=np.float64)
        self.b = np.asarray(arrays["b"], dtype=np.float64)
        self.platt_a = np.asarray(arrays["platt_a"], dtype=np.float64)
        self.platt_b = np.asarray(arrays["platt_b"], dtype=np.float64)
        self.thresholds = np.asarray(arrays["thresholds"], dtype=np.float64)
        width = dim
        if self.hidden_w is not None:
            self.hidden_w = np.asarray(self.hidden_w, dtype=np.float64)
            self.hidden_b = np.asarray(self.hidden_b, dtype=np.float64)
            if self.hidden_w.shape[0] != dim or self.hidden_b.shape != (self.hidden_w.shape[1],):
                raise ValueError(f"hidden layer shape {self.hidden_w.shape} does not fit dim {dim}")
            width = self.hidden_w.shape[1]
        if self.w.shape != (width, k) or self.b.shape != (k,):
            raise ValueError(f"output layer shape {self.w.shape} is not ({width}, {k})")
        for name in ("platt_a", "platt_b", "thresholds"):
            if getattr(self, name).shape != (k,):
                raise ValueError(f"{name} must have shape ({k},)")

    @classmethod
    def from_bytes(cls, data: bytes, *, dim: int, k: int, name: str) -> ValueHead:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
            return cls(arrays, dim=dim, k=k)
        except (KeyError, ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise ModelError(f"value head {name} is unusable: {exc}") from exc

    def logits(self, embeddings: npt.NDArray[np.floating[Any]]) -> FloatArray:
        x = np.asarray(embeddings, dtype=np.float64)
        if self.hidden_w is not None and self.hidden_b is not None:
            x = np.maximum(x @ self.hidden_w + self.hidden_b, 0.0)
        out: FloatArray = x @ self.w + self.b
        return out

    def probabilities(self, embeddings: npt.NDArray[np.floating[Any]]) -> FloatArray:
        return _sigmoid(self.platt_a * self.logits(embeddings) + self.platt_b)
