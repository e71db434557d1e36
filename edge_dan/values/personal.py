"""The owner's personal preference model: signed value weights learned from their choices.

The value model tells how strongly an option *involves* each value, not whether it promotes or
harms it (see DESIGN, "Value model"). So the utility of an option is

    utility(option) = sum_j  w_j * involvement_j(option)

over the 10 original values, with *signed* weights ``w`` that this module learns from the owner's
feedback: each answer "I prefer A over B" is one Bradley-Terry observation,

    P(A preferred over B) = sigmoid(w . (f(A) - f(B))),

and ``w`` is the maximum a posteriori fit of all answers so far under a Gaussian prior centred on
the profile: ``w0_j = PRIOR_SCALE * 2 * (weight_j - 0.5)``, so a value the owner rates above their
own average counts for an option that involves it and one rated below counts against, and with no
feedback at all ``w = w0`` (a first guess). The L2 pull toward ``w0`` (``REGULARISATION``) keeps a
few answers from swinging everything; consistent answers move the weights as far as they need.

Everything here is pure and deterministic: the fit is Newton's method from the prior over the
answers in the order given, so the same profile and answers always give bit-identical weights
(undoing an answer and refitting restores the model exactly).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_dan.errors import UsageError
from edge_dan.values.profile import ValueProfile
from edge_dan.values.schwartz import CATEGORIES, CATEGORY_TO_VALUE, ORIGINAL_VALUES

FloatArray = npt.NDArray[np.float64]

FORMAT = 1
# w0 in [-PRIOR_SCALE, PRIOR_SCALE]: a value at weight 1 adds up to PRIOR_SCALE to the utility of
# an option that fully involves it.
PRIOR_SCALE = 2.0
# Strength of the pull toward the prior (the precision of the Gaussian prior on each weight).
# PRIOR_SCALE and REGULARISATION were chosen with simulated owners (hidden weights, a noisy
# profile, noisy choices between validation premises); `python bench/personalize.py` measures the
# result (Kendall tau on unseen texts, about 0.46 with the profile alone and 0.65 after 20
# answers; figures in bench/RESULTS.md).
REGULARISATION = 0.5
_MAX_ITER = 100
_TOL = 1e-12

_CATEGORY_INDEX = [
    [k for k, c in enumerate(CATEGORIES) if CATEGORY_TO_VALUE[c] == v] for v in ORIGINAL_VALUES
]


def _sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def _log1pexp(x: FloatArray) -> FloatArray:
    out: FloatArray = np.logaddexp(0.0, x)
    return out


def features(scores: npt.ArrayLike) -> FloatArray:
    """Value involvement (n, 10) from model scores: (n, 20) categories (folded by the maximum per
    value, as ``ValueModel.fold_values`` does) or (n, 10) values; a single row is accepted too."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 1:
        s = s[None, :]
    if s.ndim != 2 or s.shape[1] not in (len(CATEGORIES), len(ORIGINAL_VALUES)):
        raise UsageError(
            f"scores must have shape (n, {len(CATEGORIES)}) or (n, {len(ORIGINAL_VALUES)}), "
            f"got {s.shape}"
        )
    if not np.all(np.isfinite(s)) or np.any(s < 0.0) or np.any(s > 1.0):
        raise UsageError("scores must be probabilities within [0, 1]")
    if s.shape[1] == len(ORIGINAL_VALUES):
        return s.copy()
    out = np.empty((s.shape[0], len(ORIGINAL_VALUES)), dtype=np.float64)
    for j, idx in enumerate(_CATEGORY_INDEX):
        out[:, j] = s[:, idx].max(axis=1)
    return out


def prior_weights(profile: ValueProfile, *, scale: float = PRIOR_SCALE) -> FloatArray:
    """Signed prior weights from the profile: above the owner's average (0.5) is positive."""
    w = np.array([profile.weights[v] for v in ORIGINAL_VALUES], dtype=np.float64)
    out: FloatArray = scale * 2.0 * (w - 0.5)
    return out


def _objective(w: FloatArray, d: FloatArray, w0: FloatArray, lam: float) -> float:
    margins = d @ w
    return float(np.sum(_log1pexp(-margins)) + 0.5 * lam * float(np.sum((w - w0) ** 2)))


def fit_weights(
    differences: FloatArray, prior: FloatArray, *, regularisation: float = REGULARISATION
) -> tuple[FloatArray, FloatArray]:
    """MAP Bradley-Terry weights for rows ``f(preferred) - f(rejected)`` under N(prior, 1/lam).

    Returns the weights and the Laplace standard deviation of each (sqrt of the diagonal of the
    inverse Hessian at the optimum): how sure the fit is about every weight.
    """
    d = np.asarray(differences, dtype=np.float64).reshape(-1, len(prior))
    w0 = np.asarray(prior, dtype=np.float64)
    lam = float(regularisation)
    w = w0.copy()
    eye = np.eye(len(w0))
    hessian = lam * eye
    if len(d):
        value = _objective(w, d, w0, lam)
        for _ in range(_MAX_ITER):
            p = _sigmoid(-(d @ w))  # probability the fit currently gets each answer wrong
            grad = -(d.T @ p) + lam * (w - w0)
            if float(np.max(np.abs(grad))) < _TOL:
                break
            hessian = (d.T * (p * (1.0 - p))) @ d + lam * eye
            step = np.linalg.solve(hessian, grad)
            t = 1.0
            slack = 1e-12 * max(1.0, abs(value))  # rounding noise near the optimum
            while True:  # damped Newton: never let the objective go up
                candidate = w - t * step
                new_value = _objective(candidate, d, w0, lam)
                if new_value <= value + slack or t < 1e-8:
                    break
                t *= 0.5
            w, value = candidate, new_value
            if float(np.max(np.abs(t * step))) < _TOL:
                break
        p = _sigmoid(-(d @ w))
        hessian = (d.T * (p * (1.0 - p))) @ d + lam * eye
    sd: FloatArray = np.sqrt(np.diag(np.linalg.inv(hessian)))
    return w, sd


@dataclass(frozen=True)
class Contribution:
    """What one value adds to an option's utility: ``weight * involvement``."""

    value: str
    contribution: float
    involvement: float
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "contribution": self.contribution,
            "involvement": self.involvement,
            "weight": self.weight,
        }


@dataclass(frozen=True)
class Explanation:
    """Why an option scores what it does: the values that speak for and against it."""

    utility: float
    speaks_for: tuple[Contribution, ...]
    speaks_against: tuple[Contribution, ...]
    first_guess: bool  # no feedback yet: the weights are the profile's guess at direction

    @property
    def text(self) -> str:
        """Plain words, e.g. ``for: benevolence +0.21; against: power -0.08``."""

        def fmt(items: tuple[Contribution, ...]) -> str:
            return ", ".join(f"{c.value} {c.contribution:+.2f}" for c in items)

        parts = []
        if self.speaks_for:
            parts.append(f"for: {fmt(self.speaks_for)}")
        if self.speaks_against:
            parts.append(f"against: {fmt(self.speaks_against)}")
        text = "; ".join(parts) if parts else "no value speaks for or against it"
        if self.first_guess:
            text += " (first guess from your profile; no feedback yet)"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "utility": self.utility,
            "for": [c.to_dict() for c in self.speaks_for],
            "against": [c.to_dict() for c in self.speaks_against],
            "first_guess": self.first_guess,
            "text": self.text,
        }


def _vector(name: str, data: object) -> FloatArray:
    if isinstance(data, Mapping):
        if set(data) != set(ORIGINAL_VALUES):
            raise UsageError(f"{name} must name exactly the 10 values")
        items: list[object] = [data[v] for v in ORIGINAL_VALUES]
    elif isinstance(data, list | tuple):
        items = list(data)
    else:
        raise UsageError(f"{name} must be a mapping of the 10 values")
    if len(items) != len(ORIGINAL_VALUES) or not all(
        isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in items
    ):
        raise UsageError(f"{name} must hold 10 finite numbers")
    return np.array(items, dtype=np.float64)


class PersonalModel:
    """Signed value weights: the profile's prior, refined by the owner's answers. Immutable."""

    __slots__ = ("_d", "_sd", "_w", "_w0", "regularisation")

    def __init__(
        self,
        prior: FloatArray,
        differences: FloatArray | None = None,
        *,
        regularisation: float = REGULARISATION,
    ) -> None:
        w0 = np.array(prior, dtype=np.float64).reshape(len(ORIGINAL_VALUES))
        d = (
            np.zeros((0, len(ORIGINAL_VALUES)))
            if differences is None
            else np.array(differences, dtype=np.float64).reshape(-1, len(ORIGINAL_VALUES))
        )
        if not (np.all(np.isfinite(w0)) and np.all(np.isfinite(d))):
            raise UsageError("prior and answers must be finite")
        if not (math.isfinite(regularisation) and regularisation > 0):
            raise UsageError("regularisation must be a positive number")
        self.regularisation = float(regularisation)
        self._w0 = w0
        self._d = d
        self._w, self._sd = fit_weights(d, w0, regularisation=self.regularisation)
        for a in (self._w0, self._d, self._w, self._sd):
            a.setflags(write=False)

    # ----- construction --------------------------------------------------------------------------
    @classmethod
    def from_profile(
        cls,
        profile: ValueProfile,
        pairs: Iterable[tuple[npt.ArrayLike, npt.ArrayLike]] = (),
        *,
        prior_scale: float = PRIOR_SCALE,
        regularisation: float = REGULARISATION,
    ) -> PersonalModel:
        """The model for ``profile`` after the answers ``pairs`` of (preferred, rejected) scores."""
        d = differences(list(pairs))
        return cls(prior_weights(profile, scale=prior_scale), d, regularisation=regularisation)

    def feedback(self, preferred: npt.ArrayLike, rejected: npt.ArrayLike) -> PersonalModel:
        """A new model that also knows the owner preferred ``preferred`` over ``rejected``
        (score rows of the two options: 20 categories or 10 values)."""
        d = features(preferred)[0] - features(rejected)[0]
        return PersonalModel(
            self._w0, np.vstack([self._d, d[None, :]]), regularisation=self.regularisation
        )

    def without(self, index: int) -> PersonalModel:
        """A new model without answer number ``index`` (0-based, negative counts from the end)."""
        n = len(self._d)
        if not -n <= index < n:
            raise UsageError(f"no answer {index}; the model has {n}")
        keep = np.delete(self._d, index % n, axis=0)
        return PersonalModel(self._w0, keep, regularisation=self.regularisation)

    def with_prior(
        self, profile: ValueProfile, *, prior_scale: float = PRIOR_SCALE
    ) -> PersonalModel:
        """The same answers under the prior of another profile (after a quiz or an edit)."""
        return PersonalModel(
            prior_weights(profile, scale=prior_scale), self._d, regularisation=self.regularisation
        )

    # ----- inspection ----------------------------------------------------------------------------
    @property
    def weights(self) -> FloatArray:
        """The fitted signed weights, in ``ORIGINAL_VALUES`` order (read-only)."""
        return self._w

    @property
    def prior(self) -> FloatArray:
        return self._w0

    @property
    def uncertainty(self) -> FloatArray:
        """Laplace standard deviation of each weight."""
        return self._sd

    @property
    def pairs(self) -> int:
        """How many answers the model has learned from."""
        return len(self._d)

    @property
    def first_guess(self) -> bool:
        return self.pairs == 0

    def implied_profile(self, *, prior_scale: float = PRIOR_SCALE) -> dict[str, float]:
        """The learned weights read back on the profile's [0, 1] scale (clipped), for people."""
        w = np.clip(0.5 + self._w / (2.0 * prior_scale), 0.0, 1.0)
        return {v: float(x) for v, x in zip(ORIGINAL_VALUES, w, strict=True)}

    # ----- use -----------------------------------------------------------------------------------
    def contributions(self, scores: npt.ArrayLike) -> FloatArray:
        """Per-value contributions (n, 10) to the utility of each option."""
        out: FloatArray = features(scores) * self._w
        return out

    def utility(self, scores: npt.ArrayLike) -> FloatArray:
        """Utility of each option (n,): higher is better for this owner."""
        out: FloatArray = self.contributions(scores).sum(axis=1)
        return out

    def prefer_probability(self, a: npt.ArrayLike, b: npt.ArrayLike) -> float:
        """The model's probability that the owner prefers option ``a`` over option ``b``."""
        d = features(a)[0] - features(b)[0]
        return float(_sigmoid(np.array([d @ self._w]))[0])

    def explain(self, scores: npt.ArrayLike, *, top: int = 3, floor: float = 0.005) -> Explanation:
        """The ``top`` values for and against one option; contributions below ``floor`` in size
        are left out as noise."""
        f = features(scores)
        if f.shape[0] != 1:
            raise UsageError("explain takes the scores of one option")
        contrib = f[0] * self._w
        items = [
            Contribution(v, float(c), float(x), float(w))
            for v, c, x, w in zip(ORIGINAL_VALUES, contrib, f[0], self._w, strict=True)
        ]
        # Ties broken by circumplex order, so explanations never depend on float noise in sorting.
        pos = sorted((c for c in items if c.contribution >= floor), key=lambda c: -c.contribution)
        neg = sorted((c for c in items if c.contribution <= -floor), key=lambda c: c.contribution)
        return Explanation(
            utility=float(contrib.sum()),
            speaks_for=tuple(pos[:top]),
            speaks_against=tuple(neg[:top]),
            first_guess=self.first_guess,
        )

    # ----- state ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The fitted state, for keeping and inspecting (the answers themselves are kept apart)."""
        return {
            "format": FORMAT,
            "weights": {v: float(x) for v, x in zip(ORIGINAL_VALUES, self._w, strict=True)},
            "prior": {v: float(x) for v, x in zip(ORIGINAL_VALUES, self._w0, strict=True)},
            "uncertainty": {v: float(x) for v, x in zip(ORIGINAL_VALUES, self._sd, strict=True)},
            "pairs": self.pairs,
            "regularisation": self.regularisation,
        }

    @staticmethod
    def weights_from_dict(data: object) -> FloatArray:
        """The weights of a state written by ``to_dict`` (checked)."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise UsageError("not a personal model state this edge-dan reads")
        return _vector("weights", data.get("weights"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PersonalModel):
            return NotImplemented
        return (
            self.regularisation == other.regularisation
            and np.array_equal(self._w0, other._w0)
            and np.array_equal(self._d, other._d)
        )

    def __hash__(self) -> int:
        return hash((self.regularisation, self._w0.tobytes(), self._d.tobytes()))

    def __repr__(self) -> str:
        top = ", ".join(
            f"{v} {w:+.2f}" for v, w in zip(ORIGINAL_VALUES, self._w, strict=True) if abs(w) >= 0.01
        )
        return f"PersonalModel(pairs={self.pairs}, weights={{{top}}})"


def differences(pairs: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]]) -> FloatArray:
    """Rows ``f(preferred) - f(rejected)`` of answer pairs."""
    out: FloatArray = np.array(
        [features(a)[0] - features(b)[0] for a, b in pairs], dtype=np.float64
    ).reshape(-1, len(ORIGINAL_VALUES))
    return out
