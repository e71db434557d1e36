"""The owner's answers: keep, refit, list, undo, survive reopening, stay secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge_dan.errors import UsageError
from edge_dan.model import ValueModel
from edge_dan.owner import SCHEMA, Owner, UnknownAnswer
from edge_dan.store import KdfParams
from edge_dan.store.schema import version
from edge_dan.values import CATEGORIES, ORIGINAL_VALUES, ValueProfile
from edge_dan.values.personal import PersonalModel
from edge_dan.values.ranking import order, rank

CARING = [
    "Cook dinner for my sick neighbour",
    "Spend the weekend looking after my little brother",
    "Listen to a friend who is going through a hard time",
    "Offer to drive my elderly aunt to the doctor",
]
DOMINANT = [
    "Make the team do it my way because I am the boss",
    "Demand that my staff work the weekend",
    "Take over the committee and decide everything myself",
    "Threaten to fire anyone who disagrees with me",
]
HELD_OUT = ["Bring soup to a friend who has the flu", "Order my employees to cancel their holidays"]
POWER_LOVER = {"power": 1.0, "achievement": 0.9, "benevolence": 0.0}


@pytest.fixture(scope="module")
def model() -> ValueModel:
    return ValueModel.load()


@pytest.fixture(scope="module")
def scores(model: ValueModel) -> dict[str, np.ndarray]:
    texts = CARING + DOMINANT + HELD_OUT
    return dict(zip(texts, model.effects(texts), strict=True))


def row(k: int) -> np.ndarray:
    """Synthetic signed value effects, different for every k."""
    rng = np.random.default_rng(k)
    return rng.uniform(-1.0, 1.0, len(ORIGINAL_VALUES))


def teach(owner: Owner, scores: dict[str, np.ndarray], k: int) -> None:
    owner.feedback.add(
        CARING[k], DOMINANT[k], scores[CARING[k]], scores[DOMINANT[k]], tier="minilm-int8"
    )


def test_migration_adds_the_tables(owner: Owner) -> None:
    assert version(owner.store.conn) == SCHEMA.latest >= 3
    tables = {r[0] for r in owner.store.conn.execute("SELECT name FROM sqlite_master")}
    assert {"feedback", "personal_model", "feedback_history"} <= tables
    assert owner.feedback.list() == [] and owner.feedback.stored_state() is None
    assert owner.feedback.model() == PersonalModel.from_profile(ValueProfile.neutral())


def test_consistent_answers_flip_a_held_out_pair(
    owner: Owner, scores: dict[str, np.ndarray]
) -> None:
    owner.profile.edit(POWER_LOVER)
    held = np.array([scores[t] for t in HELD_OUT])
    assert order(held, owner.feedback.model()) == [1, 0]  # the profile's first guess: power
    flipped_after = None
    for k in range(len(CARING)):
        teach(owner, scores, k)
        if flipped_after is None and order(held, owner.feedback.model()) == [0, 1]:
            flipped_after = k + 1
    assert flipped_after is not None
    assert order(held, owner.feedback.model()) == [0, 1]
    explanation = rank(held, owner.feedback.model())[0].explanation
    assert not explanation.first_guess and "first guess" not in explanation.text


def test_undo_restores_the_previous_ranking_exactly(
    owner: Owner, scores: dict[str, np.ndarray]
) -> None:
    owner.profile.edit(POWER_LOVER)
    held = np.array([scores[t] for t in HELD_OUT + CARING + DOMINANT])
    teach(owner, scores, 0)
    before = rank(held, owner.feedback.model())
    state_before = owner.feedback.stored_state()
    teach(owner, scores, 1)
    teach(owner, scores, 2)
    assert owner.feedback.model().pairs == 3
    undone = owner.feedback.undo()
    assert undone.answer.preferred == CARING[2] and undone.after.pairs == 2
    owner.feedback.undo()
    after = rank(held, owner.feedback.model())
    assert [(r.index, r.utility, r.explanation) for r in after] == [
        (r.index, r.utility, r.explanation) for r in before
    ]
    state_after = owner.feedback.stored_state()
    assert state_before is not None and state_after is not None
    assert state_after["weights"] == state_before["weights"]


def test_undo_a_given_answer_and_refuse_unknown_ones(owner: Owner) -> None:
    ids = [
        owner.feedback.add(f"option {k}", f"other {k}", row(k), row(k + 100), tier="t").answer.id
        for k in range(3)
    ]
    out = owner.feedback.undo(ids[1])
    assert out.answer.id == ids[1] and [a.id for a in owner.feedback.list()] == [ids[0], ids[2]]
    expected = PersonalModel.from_profile(
        ValueProfile.neutral(), [(row(0), row(100)), (row(2), row(102))]
    )
    assert np.array_equal(owner.feedback.model().weights, expected.weights)
    with pytest.raises(UnknownAnswer, match="no answer") as refused:
        owner.feedback.undo(ids[1])
    assert isinstance(refused.value, UsageError) and "edge-dan" not in str(refused.value)
    # Numbers are never reused: a new answer does not take the undone one's number.
    new = owner.feedback.add("x", "y", row(5), row(6), tier="t").answer
    assert new.id > ids[2]
    for _ in range(3):
        owner.feedback.undo()
    with pytest.raises(UsageError, match="no answer to undo"):
        owner.feedback.undo()


def test_history_logs_adds_and_undos_without_texts(owner: Owner) -> None:
    first = owner.feedback.add("see the sea", "stay home", row(1), row(2), tier="t")
    owner.feedback.undo()
    history = owner.feedback.history()
    assert [(h.action, h.feedback_id) for h in history] == [
        ("add", first.answer.id),
        ("undo", first.answer.id),
    ]
    assert all(h.change.source == "feedback" for h in history)
    assert history[0].change.changes == first.change.changes
    # Undoing the only answer moves every weight back where it was.
    assert {v: (b, a) for v, (a, b) in history[0].change.changes.items()} == dict(
        history[1].change.changes
    )
    dumped = repr(history) + str([h.to_dict() for h in history])
    assert "sea" not in dumped and "home" not in dumped
    assert "sea" not in repr(first.answer)


def test_answers_are_checked(owner: Owner) -> None:
    with pytest.raises(UsageError, match="empty"):
        owner.feedback.add("  ", "b", row(1), row(2), tier="t")
    with pytest.raises(UsageError, match="same"):
        owner.feedback.add("Go out", "go out ", row(1), row(2), tier="t")
    with pytest.raises(UsageError):
        owner.feedback.add("a", "b", row(1)[:7], row(2), tier="t")
    with pytest.raises(UsageError):
        owner.feedback.add("a", "b", row(1) * 2 + 1.5, row(2), tier="t")
    with pytest.raises(UsageError):
        owner.feedback.add("a", "b", row(1) * np.nan, row(2), tier="t")
    assert owner.feedback.list() == [] and owner.feedback.history() == []


def test_answers_survive_reopening_and_stay_encrypted(tmp_path: Path, fast_kdf: KdfParams) -> None:
    home = tmp_path / "h"
    secret = "Tell my sister about the inheritance"
    with Owner.create(home, "pw pw pw", kdf=fast_kdf) as owner:
        owner.profile.update(ValueProfile.neutral().edit({"benevolence": 0.8}), source="edit")
        owner.feedback.add(secret, "Keep quiet about it", row(1), row(2), tier="minilm-int8")
        weights = owner.feedback.model().weights.copy()
    with Owner.open(home, "pw pw pw") as owner:
        answers = owner.feedback.list()
        assert [(a.preferred, a.rejected, a.tier) for a in answers] == [
            (secret, "Keep quiet about it", "minilm-int8")
        ]
        assert np.allclose(answers[0].preferred_scores, row(1), rtol=0, atol=1e-15)
        assert np.array_equal(owner.feedback.model().weights, weights)
        state = owner.feedback.stored_state()
        assert state is not None and state["pairs"] == 1
    for path in home.iterdir():
        if path.is_file():
            assert b"inheritance" not in path.read_bytes(), path.name


def test_answers_kept_before_signed_effects_still_count(owner: Owner) -> None:
    # An older store holds 20 category probabilities per answer; they are folded to 10 values.
    old = np.linspace(0.0, 1.0, len(CATEGORIES))
    owner.feedback.add("a", "b", old, old[::-1], tier="minilm-int8")
    assert (
        owner.feedback.model().pairs == 1 and len(owner.feedback.list()[0].preferred_scores) == 20
    )


def test_a_new_profile_moves_the_prior_under_the_same_answers(owner: Owner) -> None:
    owner.feedback.add("a", "b", row(1), row(2), tier="t")
    neutral = owner.feedback.model()
    owner.profile.edit({"hedonism": 0.9})
    moved = owner.feedback.model()
    assert moved.pairs == 1 and moved.weights[2] > neutral.weights[2]


@pytest.fixture
def two_handles(tmp_path: Path, fast_kdf: KdfParams) -> Iterator[tuple[Owner, Owner]]:
    home = tmp_path / "h2"
    with Owner.create(home, "pw pw pw", kdf=fast_kdf) as a, Owner.open(home, "pw pw pw") as b:
        yield a, b


def test_another_process_sees_the_answers(two_handles: tuple[Owner, Owner]) -> None:
    a, b = two_handles
    a.feedback.add("a", "b", row(1), row(2), tier="t")
    assert len(b.feedback.list()) == 1
    b.feedback.undo()
    assert a.feedback.list() == []
