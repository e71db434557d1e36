"""The owner's answers ("I prefer A over B") as the evidence the personal model is fitted to.

An answer keeps the value-model scores both options had when the owner answered, so the model can
be refitted from the answers alone: the personal model is always the profile's prior refined by
every answer kept, oldest first (``fit``). Because that fit is deterministic, forgetting an answer
and refitting restores the model, and every ranking made with it, exactly as it was before that
answer. How the learned weights moved is told on the profile's [0, 1] scale (``learned_change``),
like any other change of the profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from edge_dan.errors import UsageError
from edge_dan.values.personal import PersonalModel
from edge_dan.values.profile import ProfileChange, ValueProfile
from edge_dan.values.schwartz import CATEGORIES, ORIGINAL_VALUES

Scores = tuple[float, ...]


class ScoredAnswer(Protocol):
    """One answer: the scores of the preferred option and of the rejected one."""

    @property
    def preferred_scores(self) -> Sequence[float]: ...

    @property
    def rejected_scores(self) -> Sequence[float]: ...


def check_scores(what: str, scores: npt.ArrayLike) -> Scores:
    """One option's scores, checked: its 10 signed value effects in [-1, 1] (or, from older tiers,
    its 20 category probabilities in [0, 1]); ``UsageError`` naming ``what`` otherwise."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if s.shape not in ((len(ORIGINAL_VALUES),), (len(CATEGORIES),)):
        raise UsageError(f"{what} must be the {len(ORIGINAL_VALUES)} value effects of one option")
    low = -1.0 if len(s) == len(ORIGINAL_VALUES) else 0.0
    if not np.all(np.isfinite(s)) or np.any(s < low) or np.any(s > 1.0):
        raise UsageError(f"{what} must lie within [{low:g}, 1]")
    return tuple(float(x) for x in s)


def fit(profile: ValueProfile, answers: Iterable[ScoredAnswer]) -> PersonalModel:
    """The personal model: ``profile``'s prior refined by ``answers``, oldest first."""
    return PersonalModel.from_profile(
        profile, [(a.preferred_scores, a.rejected_scores) for a in answers]
    )


def learned_change(
    before: PersonalModel, after: PersonalModel, *, at: datetime, note: str
) -> ProfileChange:
    """How the learned weights moved from ``before`` to ``after``, read on the profile's scale
    (``PersonalModel.implied_profile``); only the values that moved are named."""
    old, new = before.implied_profile(), after.implied_profile()
    moved = {v: (old[v], new[v]) for v in old if old[v] != new[v]}
    return ProfileChange(at, "feedback", moved, note)
