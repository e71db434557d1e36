"""The judgement head: sentence vectors to signed value effects and harm, in numpy.

``judge.npz`` holds (names fixed; logits are ``v @ w + b`` on the L2-normalised sentence vector):

- ``effects_w`` (dim, 30), ``effects_b`` (30,): per value, logits of (violates, leaves alone,
  promotes), value-major in ``ORIGINAL_VALUES`` order; ``effects_t`` (): the calibration
  temperature (logits are divided by it before the softmax);
- ``harm_w`` (dim, 1), ``harm_b`` (1,), ``harm_t`` (): harm logit and its temperature;
  ``harm_threshold`` (): an option is harmful when its calibrated probability reaches it;
- ``primary_w`` (dim, 10), ``primary_b`` (10,): which value is most at stake;
- ``kind_w`` (dim, 11), ``kind_b`` (11,): which harm (``HARM_KINDS`` order);
- ``target_w`` (dim, 4), ``target_b`` (4,): who is harmed (``HARM_TARGETS`` order);
- optional, a memory of labelled options: ``memory`` (m, dim) int8, their unit vectors times 127,
  ``memory_harm`` (m,) 0/1 and ``memory_vote`` (2,): sharpness, weight. The harm probability
  is then ``(1 - weight) * head + weight * vote``, where ``vote`` is the share of harmful options
  among all remembered ones, each weighted by ``exp(sharpness * cosine)`` (a kernel estimate of
  P(harm | text)). Why: the linear head underrates blatant cases that sit right next to labelled
  harmful options ("kick the neighbour's dog" among four labelled kicks of animals), and the
  vote ranks harm better on the dev split. A soft vote over every row, not the k nearest, so the
  probability moves smoothly with the vector: a top-k set flips when two neighbours swap under
  another CPU's rounding (measured: 0.10 of harm probability under emulated Haswell).

Each option is judged from its own vector only, so a judgement never depends on the other
options it is judged with.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_dan.model.errors import ModelError
from edge_dan.values.judgement import HARM_KINDS, HARM_TARGETS, Harm, Judgement
from edge_dan.values.schwartz import ORIGINAL_VALUES

FloatArray = npt.NDArray[np.float64]
_K = len(ORIGINAL_VALUES)
_SHAPES = {
    "effects_w": ("dim", 3 * _K),
    "effects_b": (3 * _K,),
    "primary_w": ("dim", _K),
    "primary_b": (_K,),
    "harm_w": ("dim", 1),
    "harm_b": (1,),
    "kind_w": ("dim", len(HARM_KINDS)),
    "kind_b": (len(HARM_KINDS),),
    "target_w": ("dim", len(HARM_TARGETS)),
    "target_b": (len(HARM_TARGETS),),
    "effects_t": (),
    "harm_t": (),
    "harm_threshold": (),
}


def _softmax(x: FloatArray) -> FloatArray:
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: FloatArray = e / e.sum(axis=-1, keepdims=True)
    return out


class JudgeHead:
    def __init__(self, arrays: dict[str, npt.NDArray[Any]], *, dim: int) -> None:
        arrays = dict(arrays)
        for name, shape in _SHAPES.items():
            if name not in arrays:
                raise ValueError(f"missing array {name!r}")
            want = tuple(dim if s == "dim" else s for s in shape)
            if not want and arrays[name].size == 1:  # a scalar may be stored as shape (1,)
                arrays[name] = arrays[name].reshape(())
            if arrays[name].shape != want:
                raise ValueError(f"{name} has shape {arrays[name].shape}, expected {want}")
            if not np.all(np.isfinite(arrays[name])):
                raise ValueError(f"{name} holds non-finite values")
        self._a = {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items() if k in _SHAPES}
        if float(self._a["effects_t"]) <= 0 or float(self._a["harm_t"]) <= 0:
            raise ValueError("temperatures must be positive")
        self.harm_threshold = float(self._a["harm_threshold"])
        self._memory: npt.NDArray[np.float32] | None = None
        if "memory" in arrays:
            memory = np.asarray(arrays["memory"])
            labels = np.asarray(arrays.get("memory_harm", np.zeros(0)))
            vote = np.asarray(arrays.get("memory_vote", np.zeros(0)), dtype=np.float64)
            if memory.dtype != np.int8 or memory.ndim != 2 or memory.shape[1] != dim:
                raise ValueError(f"memory must be int8 of shape (m, {dim})")
            if labels.shape != (memory.shape[0],) or vote.shape != (2,) or len(labels) == 0:
                raise ValueError("memory_harm must label every row, memory_vote hold 2 numbers")
            if not (np.all(np.isfinite(vote)) and vote[0] > 0 and 0 <= vote[1] <= 1):
                raise ValueError(f"memory_vote {vote.tolist()} is out of range")
            self._memory = memory.astype(np.float32) / 127.0
            self._memory_harm = labels.astype(np.float64)
            self._sharp, self._mix = float(vote[0]), float(vote[1])

    @classmethod
    def from_bytes(cls, data: bytes, *, dim: int, name: str) -> JudgeHead:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
            return cls(arrays, dim=dim)
        except (KeyError, ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise ModelError(f"judgement head {name} is unusable: {exc}") from exc

    def _logits(self, x: FloatArray, name: str) -> FloatArray:
        out: FloatArray = x @ self._a[f"{name}_w"] + self._a[f"{name}_b"]
        return out

    def effect_probabilities(self, embeddings: npt.NDArray[Any]) -> FloatArray:
        """(n, 10, 3): P(violates), P(leaves alone), P(promotes) per value."""
        x = np.asarray(embeddings, dtype=np.float64)
        logits = self._logits(x, "effects").reshape(-1, _K, 3) / float(self._a["effects_t"])
        return _softmax(logits)

    def harm_probability(self, embeddings: npt.NDArray[Any]) -> FloatArray:
        x = np.asarray(embeddings, dtype=np.float64)
        z = self._logits(x, "harm")[:, 0] / float(self._a["harm_t"])
        out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
        if self._memory is not None:
            out = (1.0 - self._mix) * out + self._mix * self._neighbours(x)
        return out

    def _neighbours(self, x: FloatArray) -> FloatArray:
        """Share of harmful remembered options, weighted by exp(sharpness * cosine); each row
        of ``x`` on its own, so batch-independent."""
        assert self._memory is not None
        sim = (x.astype(np.float32) @ self._memory.T).astype(np.float64)
        w = np.exp(self._sharp * (sim - sim.max(axis=1, keepdims=True)))
        out: FloatArray = (w @ self._memory_harm) / w.sum(axis=1)
        return out

    def judge(self, embeddings: npt.NDArray[Any]) -> list[Judgement]:
        x = np.asarray(embeddings, dtype=np.float64)
        p = self.effect_probabilities(x)
        signed = np.clip(p[..., 2] - p[..., 0], -1.0, 1.0)
        # How much each value is at stake: P(not "leaves alone") averaged with the primary-value
        # softmax (the build measured each alone ranking the labelled primary value worse).
        primary = _softmax(self._logits(x, "primary"))
        salience = np.clip(0.5 * (1.0 - p[..., 1]) + 0.5 * primary, 0.0, 1.0)
        harm = self.harm_probability(x)
        kinds = self._logits(x, "kind").argmax(axis=1)
        targets = self._logits(x, "target").argmax(axis=1)
        out = []
        for i in range(len(x)):
            decided = None
            if harm[i] >= self.harm_threshold:
                decided = Harm(
                    kind=HARM_KINDS[int(kinds[i])],
                    target=HARM_TARGETS[int(targets[i])],
                    probability=float(harm[i]),
                )
            out.append(
                Judgement(
                    effects=tuple(float(v) for v in signed[i]),
                    salience=tuple(float(v) for v in salience[i]),
                    harm_probability=float(harm[i]),
                    harm=decided,
                )
            )
        return out
