"""The owner's personal preference model: signed value weights learned from their choices.

The value model tells, for each option, which values it *serves* (effect > 0) or *goes against*
(effect < 0), as signed effects in [-1, 1] (``ValueModel.judge``). The utility of an option is

    utility(option) = sum_j  w_j * effect_j(option)

over the 10 original values, with weights ``w`` that this module learns from the owner's
feedback: each answer "I prefer A over B" is one Bradley-Terry observation,

    P(A preferred over B) = sigmoid(w . (f(A) - f(B))),

and ``w`` is the maximum a posteriori fit of all answers so far under a Gaussian prior centred on
the profile: ``w0_j = NEUTRAL_WEIGHT + PRIOR_SCALE * 2 * (weight_j - 0.5)``. Every value counts a
little for an option that serves it (``NEUTRAL_WEIGHT``: serving a value is good, all else equal,
so a neutral profile ranks options by the values they serve less those they go against); a value
the owner rates above their own average counts more, one rated far below can count against.

**One answer counts.** A plain MAP fit can leave an answer unexplained when the prior is strong
(after "call my mother over punch a stranger", punching could still rank first). So every answer
is a constraint: an answer the fit gets wrong, or right by less than ``MARGIN``, is weighted up
and the model refitted, a few times at most, newest answers first when two cannot both hold.
Options that look like the preferred one (similar effects) move with it. Where two options have
the same effects (the model cannot tell them apart), the ranking itself keeps the owner's order
(``ranking.rank(..., preferences=...)``).

Everything here is pure and deterministic: the fit is Newton's method from the prior over the
answers in the order given, so the same profile and answers always give bit-identical weights
(undoing an answer and refitting restores the model exactly). Score rows of 20 category
probabilities (stores written before signed effects) are still read, folded to 10 values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_dan.errors import UsageError
from edge_dan.values.judgement import PLAIN_SERVES
from edge_dan.values.profile import ValueProfile
from edge_dan.values.schwartz import CATEGORIES, CATEGORY_TO_VALUE, ORIGINAL_VALUES

FloatArray = npt.NDArray[np.float64]

FORMAT = 1
# w0 in NEUTRAL_WEIGHT + [-PRIOR_SCALE, PRIOR_SCALE]: a value at weight 1 adds up to
# NEUTRAL_WEIGHT + PRIOR_SCALE to the utility of an option that fully serves it.
PRIOR_SCALE = 2.0
NEUTRAL_WEIGHT = 0.5
# An answer is respected when the fitted utility difference reaches this margin.
MARGIN = 0.25
_ENFORCE_ROUNDS = 8
_BOOST = 4.0
# Strength of the pull toward the prior (the precision of the Gaussian prior on each weight).
# REGULARISATION was swept with simulated owners (hidden weights, a noisy profile, noisy choices
# between everyday options judged by the shipped model; `python bench/personalize.py`): 0.5 / 0.2
# / 0.1 / 0.05 gave Kendall tau 0.55 / 0.58 / 0.58 / 0.58 after 20 answers from a neutral start
# and 0.62 / 0.64 / 0.63 / 0.61 from a noisy profile; 0.2 kept. Holding each answer (MARGIN)
# changed tau by less than 0.01 either way and keeps 95 % of the owner's own answers.
REGULARISATION = 0.2
# An explanation names a value only when the model is fairly sure which way the option bears on
# it: |P(serves) - P(goes against)| >= 0.3. Weaker readings still count in the utility. On the
# everyday dev split (shipped model of the first judgement build) this took options explained as
# serving a value their labels say they violate from 19 % to 9 %, with 1 % of options left with
# no value named (0.5 would give 5 % and 8 %).
EXPLAIN_EFFECT_FLOOR = 0.3
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
    """Value features (n, 10): signed effects (n, 10) in [-1, 1] as they are, or 20 category
    probabilities (n, 20) folded by the maximum per value (older stores); one row is accepted."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 1:
        s = s[None, :]
    if s.ndim != 2 or s.shape[1] not in (len(CATEGORIES), len(ORIGINAL_VALUES)):
        raise UsageError(
            f"scores must have shape (n, {len(CATEGORIES)}) or (n, {len(ORIGINAL_VALUES)}), "
            f"got {s.shape}"
        )
    if not np.all(np.isfinite(s)):
        raise UsageError("scores must be finite")
    if s.shape[1] == len(ORIGINAL_VALUES):
        if np.any(s < -1.0) or np.any(s > 1.0):
            raise UsageError("value effects must lie within [-1, 1]")
        return s.copy()
    if np.any(s < 0.0) or np.any(s > 1.0):
        raise UsageError("category scores must be probabilities within [0, 1]")
    out = np.empty((s.shape[0], len(ORIGINAL_VALUES)), dtype=np.float64)
    for j, idx in enumerate(_CATEGORY_INDEX):
        out[:, j] = s[:, idx].max(axis=1)
    return out


def prior_weights(
    profile: ValueProfile, *, scale: float = PRIOR_SCALE, neutral: float = NEUTRAL_WEIGHT
) -> FloatArray:
    """Prior weights from the profile: ``neutral`` for a value at the owner's average (0.5),
    more above it, less (down to negative) below it."""
    w = np.array([profile.weights[v] for v in ORIGINAL_VALUES], dtype=np.float64)
    out: FloatArray = neutral + scale * 2.0 * (w - 0.5)
    return out


def _objective(w: FloatArray, d: FloatArray, w0: FloatArray, lam: float, c: FloatArray) -> float:
    margins = d @ w
    return float(np.sum(c * _log1pexp(-margins)) + 0.5 * lam * float(np.sum((w - w0) ** 2)))


def fit_weights(
    differences: FloatArray,
    prior: FloatArray,
    *,
    regularisation: float = REGULARISATION,
    answer_weights: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """MAP Bradley-Terry weights for rows ``f(preferred) - f(rejected)`` under N(prior, 1/lam),
    each answer's log-likelihood counted ``answer_weights`` times (1 each by default).

    Returns the weights and the Laplace standard deviation of each (sqrt of the diagonal of the
    inverse Hessian at the optimum): how sure the fit is about every weight.
    """
    d = np.asarray(differences, dtype=np.float64).reshape(-1, len(prior))
    w0 = np.asarray(prior, dtype=np.float64)
    lam = float(regularisation)
    c = np.ones(len(d)) if answer_weights is None else np.asarray(answer_weights, np.float64)
    w = w0.copy()
    eye = np.eye(len(w0))
    hessian = lam * eye
    if len(d):
        value = _objective(w, d, w0, lam, c)
        for _ in range(_MAX_ITER):
            p = _sigmoid(-(d @ w))  # probability the fit currently gets each answer wrong
            grad = -(d.T @ (c * p)) + lam * (w - w0)
            if float(np.max(np.abs(grad))) < _TOL:
                break
            hessian = (d.T * (c * p * (1.0 - p))) @ d + lam * eye
            step = np.linalg.solve(hessian, grad)
            t = 1.0
            slack = 1e-12 * max(1.0, abs(value))  # rounding noise near the optimum
            while True:  # damped Newton: never let the objective go up
                candidate = w - t * step
                new_value = _objective(candidate, d, w0, lam, c)
                if new_value <= value + slack or t < 1e-8:
                    break
                t *= 0.5
            w, value = candidate, new_value
            if float(np.max(np.abs(t * step))) < _TOL:
                break
        p = _sigmoid(-(d @ w))
        hessian = (d.T * (c * p * (1.0 - p))) @ d + lam * eye
    sd: FloatArray = np.sqrt(np.diag(np.linalg.inv(hessian)))
    return w, sd


def fit_answers(
    differences: FloatArray,
    prior: FloatArray,
    *,
    regularisation: float = REGULARISATION,
    margin: float = MARGIN,
) -> tuple[FloatArray, FloatArray]:
    """``fit_weights`` with every answer held as a constraint (see the module docstring).

    Answers the fit gets wrong by the margin are counted ``_BOOST`` times more and the model
    refitted, up to ``_ENFORCE_ROUNDS`` times. Newest first: an answer is boosted only if no newer
    answer points the opposite way (their differences have a negative dot product and the newer
    one is already respected), so when the owner changes their mind the newer answer wins.
    An answer whose two options have the same features cannot be met by weights; it is left to
    the ranking's own ordering.
    """
    d = np.asarray(differences, dtype=np.float64).reshape(-1, len(prior))
    c = np.ones(len(d))
    w, sd = fit_weights(d, prior, regularisation=regularisation, answer_weights=c)
    if not len(d):
        return w, sd
    norms = np.sqrt((d * d).sum(axis=1))
    for _ in range(_ENFORCE_ROUNDS):
        short = (d @ w < margin * np.minimum(norms, 1.0)) & (norms > 1e-6)
        if not short.any():
            break
        boosted = False
        for k in range(len(d) - 1, -1, -1):  # newest first
            if not short[k]:
                continue
            newer = d[k + 1 :]
            if len(newer) and np.any((newer @ d[k] < 0) & ~short[k + 1 :]):
                continue  # a newer answer that holds says otherwise: it wins
            c[k] *= _BOOST
            boosted = True
        if not boosted:
            break
        w, sd = fit_weights(d, prior, regularisation=regularisation, answer_weights=c)
    return w, sd


@dataclass(frozen=True)
class Contribution:
    """What one value adds to an option's utility: ``weight * effect``.

    ``effect`` > 0: the option serves the value; < 0: it goes against it. The contribution's sign
    says whether that counts for the option (for this owner) or against it."""

    value: str
    contribution: float
    effect: float
    weight: float

    @property
    def words(self) -> str:
        """``serves benevolence (caring for the people close to you)`` or ``goes against ...``;
        never a value named as served by an option that goes against it."""
        verb = "serves" if self.effect > 0 else "goes against"
        text = f"{verb} {self.value} ({PLAIN_SERVES[self.value]})"
        if self.effect < 0 and self.contribution > 0:
            text += ", which matters little to you"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "direction": "serves" if self.effect > 0 else "goes against",
            "contribution": self.contribution,
            "effect": self.effect,
            "weight": self.weight,
            "words": self.words,
        }


NEUTRAL_NOTE = (
    "your profile is neutral: options rank by the values they serve, less those they go against"
)


@dataclass(frozen=True)
class Explanation:
    """Why an option scores what it does: the values that speak for and against it."""

    utility: float
    speaks_for: tuple[Contribution, ...]
    speaks_against: tuple[Contribution, ...]
    first_guess: bool  # no feedback yet: the weights are the profile's guess
    neutral: bool = False  # no feedback and a neutral profile

    @property
    def text(self) -> str:
        """Plain words, e.g. ``for: serves benevolence (caring for the people close to you)
        +0.91; against: goes against hedonism (enjoying life) -0.12``."""

        def fmt(items: tuple[Contribution, ...]) -> str:
            return ", ".join(f"{c.words} {c.contribution:+.2f}" for c in items)

        parts = []
        if self.speaks_for:
            parts.append(f"for: {fmt(self.speaks_for)}")
        if self.speaks_against:
            parts.append(f"against: {fmt(self.speaks_against)}")
        text = "; ".join(parts) if parts else "no value speaks for or against it"
        if self.neutral:
            text += f" ({NEUTRAL_NOTE})"
        elif self.first_guess:
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
        self._w, self._sd = fit_answers(d, w0, regularisation=self.regularisation)
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
    def answers(self) -> FloatArray:
        """The answers as rows ``f(preferred) - f(rejected)``, oldest first (read-only)."""
        return self._d

    @property
    def pairs(self) -> int:
        """How many answers the model has learned from."""
        return len(self._d)

    @property
    def first_guess(self) -> bool:
        return self.pairs == 0

    def implied_profile(self, *, prior_scale: float = PRIOR_SCALE) -> dict[str, float]:
        """The learned weights read back on the profile's [0, 1] scale (clipped), for people."""
        w = np.clip(0.5 + (self._w - NEUTRAL_WEIGHT) / (2.0 * prior_scale), 0.0, 1.0)
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

    def explain(
        self,
        scores: npt.ArrayLike,
        *,
        top: int = 3,
        floor: float = 0.005,
        effect_floor: float = EXPLAIN_EFFECT_FLOOR,
    ) -> Explanation:
        """The ``top`` values for and against one option; contributions below ``floor`` in size
        are left out as noise, and so are values whose effect is weaker than ``effect_floor``
        (signed effects only: category scores carry no direction to be unsure of)."""
        f = features(scores)
        if f.shape[0] != 1:
            raise UsageError("explain takes the scores of one option")
        signed = np.asarray(scores, dtype=np.float64).reshape(1, -1).shape[1] == len(
            ORIGINAL_VALUES
        )
        least = effect_floor if signed else 0.0
        contrib = f[0] * self._w
        items = [
            Contribution(v, float(c), float(x), float(w))
            for v, c, x, w in zip(ORIGINAL_VALUES, contrib, f[0], self._w, strict=True)
            if x != 0.0 and abs(x) >= least
        ]
        # Ties broken by circumplex order, so explanations never depend on float noise in sorting.
        pos = sorted((c for c in items if c.contribution >= floor), key=lambda c: -c.contribution)
        neg = sorted((c for c in items if c.contribution <= -floor), key=lambda c: c.contribution)
        return Explanation(
            utility=float(contrib.sum()),
            speaks_for=tuple(pos[:top]),
            speaks_against=tuple(neg[:top]),
            first_guess=self.first_guess,
            neutral=self.first_guess and bool(np.all(self._w0 == self._w0[0])),
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
