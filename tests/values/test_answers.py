"""The owner's answers as evidence: checked scores, a deterministic fit, the change it made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pytest

from edge_dan.errors import UsageError
from edge_dan.values import CATEGORIES, ORIGINAL_VALUES, ValueProfile
from edge_dan.values.answers import check_scores, fit, learned_change
from edge_dan.values.personal import PersonalModel


@dataclass(frozen=True)
class Pair:
    preferred_scores: tuple[float, ...]
    rejected_scores: tuple[float, ...]


def row(k: int) -> tuple[float, ...]:
    rng = np.random.default_rng(k)
    return tuple(float(x) for x in rng.uniform(-1.0, 1.0, len(ORIGINAL_VALUES)))


def test_scores_are_ten_effects_or_twenty_older_category_scores() -> None:
    assert check_scores("x", row(1)) == row(1)
    assert len(check_scores("x", np.linspace(0.0, 1.0, len(CATEGORIES)))) == len(CATEGORIES)
    with pytest.raises(UsageError, match="the preferred option's scores must be the 10"):
        check_scores("the preferred option's scores", row(1)[:7])
    with pytest.raises(UsageError, match=r"within \[-1, 1\]"):
        check_scores("x", np.array(row(1)) * 2 + 1.5)
    with pytest.raises(UsageError, match=r"within \[0, 1\]"):  # categories are probabilities
        check_scores("x", -np.linspace(0.0, 1.0, len(CATEGORIES)))
    with pytest.raises(UsageError):
        check_scores("x", np.array(row(1)) * np.nan)


def test_fit_is_the_profile_prior_refined_by_the_answers_in_order() -> None:
    profile = ValueProfile.neutral().edit({"power": 0.9})
    answers = [Pair(row(1), row(2)), Pair(row(3), row(4))]
    model = fit(profile, answers)
    assert model == PersonalModel.from_profile(profile, [(row(1), row(2)), (row(3), row(4))])
    # Forgetting an answer and refitting is the model that never had it.
    assert np.array_equal(
        fit(profile, answers[:1]).weights, fit(profile, answers).without(1).weights
    )
    assert fit(profile, []) == PersonalModel.from_profile(profile)


def test_learned_change_names_only_the_values_that_moved() -> None:
    before = fit(ValueProfile.neutral(), [])
    after = before.feedback(row(1), row(2))
    at = datetime(2024, 5, 17, tzinfo=UTC)
    change = learned_change(before, after, at=at, note="answer 1 added")
    old, new = before.implied_profile(), after.implied_profile()
    assert change.source == "feedback" and change.at == at and change.note == "answer 1 added"
    assert dict(change.changes) == {v: (old[v], new[v]) for v in old if old[v] != new[v]}
    assert learned_change(after, after, at=at, note="").changes == {}
