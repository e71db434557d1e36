"""Little Dan's questions: the pair whose answer teaches the personal model most."""

from __future__ import annotations

import numpy as np
import pytest

from edge_dan.errors import UsageError
from edge_dan.values.personal import PersonalModel
from edge_dan.values.profile import ValueProfile
from edge_dan.values.questions import information_gain, next_question
from edge_dan.values.ranking import kendall_tau


def _options(n: int, seed: int) -> np.ndarray:
    """Signed effects like the value model's: 1 to 3 values at stake per option."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 10))
    for row in out:
        at_stake = rng.choice(10, size=rng.integers(1, 4), replace=False)
        row[at_stake] = rng.uniform(-1, 1, size=len(at_stake))
    return out


def test_no_question_without_two_options_it_can_tell_apart() -> None:
    model = PersonalModel.from_profile(ValueProfile.neutral())
    assert next_question(model, np.zeros((1, 10))) is None
    assert next_question(model, np.zeros((3, 10))) is None  # all alike
    with pytest.raises(UsageError):
        next_question(model, np.zeros((3, 10)), max_pairs=0)


def test_questions_are_deterministic_and_never_repeat() -> None:
    model = PersonalModel.from_profile(ValueProfile.neutral())
    options = _options(12, 0)
    asked: list[tuple[int, int]] = []
    for _ in range(66):  # every pair of 12 options once
        q = next_question(model, options, asked=asked)
        assert q is not None and q == next_question(model, options, asked=asked)
        assert q not in asked and q[0] < q[1]
        asked.append(q)
    assert next_question(model, options, asked=asked) is None
    # reversed pairs count as asked too
    assert next_question(model, options, asked=[(j, i) for i, j in asked]) is None


def test_a_pair_it_is_sure_about_is_worth_less_than_an_open_one() -> None:
    # after many answers that benevolence beats power, that contrast teaches little; the
    # untouched values (stimulation against tradition) are still open
    sure = np.zeros(10)
    sure[8], sure[4] = 1.0, -1.0
    model = PersonalModel.from_profile(ValueProfile.neutral(), [(sure, -sure)] * 8)
    open_ = np.zeros(10)
    open_[1], open_[7] = 1.0, -1.0
    gain = information_gain(model, np.array([sure, open_]))
    assert gain[1] > 2 * gain[0] > 0


def test_chosen_questions_teach_more_than_random_ones() -> None:
    """Over 30 simulated owners (hidden weights N(0, 1), noiseless answers), 20 chosen questions
    rank 200 unseen options closer to the owner's own order than 20 random ones. Measured with
    these seeds: mean tau 0.79 chosen against 0.67 random; the bound asks for half that gap (a
    mean over 30 owners, not one float compared exactly)."""
    pool, unseen = _options(100, 1), _options(200, 2)
    chosen_taus, random_taus = [], []
    for k in range(30):
        rng = np.random.default_rng(k)
        hidden = rng.normal(size=10)
        truth = (unseen @ hidden).tolist()

        def answer(a: int, b: int, hidden: np.ndarray = hidden) -> tuple[np.ndarray, np.ndarray]:
            return (pool[a], pool[b]) if (pool[a] - pool[b]) @ hidden >= 0 else (pool[b], pool[a])

        model = PersonalModel.from_profile(ValueProfile.neutral())
        asked: list[tuple[int, int]] = []
        for _ in range(20):
            q = next_question(model, pool, asked=asked)
            assert q is not None
            asked.append(q)
            model = model.feedback(*answer(*q))
        chosen_taus.append(kendall_tau(model.utility(unseen).tolist(), truth))
        pairs = [answer(*rng.choice(len(pool), size=2, replace=False)) for _ in range(20)]
        passive = PersonalModel.from_profile(ValueProfile.neutral(), pairs)
        random_taus.append(kendall_tau(passive.utility(unseen).tolist(), truth))
    assert np.mean(chosen_taus) > np.mean(random_taus) + 0.06
