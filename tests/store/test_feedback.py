"""The owner's answers in the store: keep, refit, list, undo, survive reopening, stay secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge_dan.errors import UsageError
from edge_dan.model import ValueModel
from edge_dan.store import KdfParams, Store, schema
from edge_dan.store.feedback import (
    add_feedback,
    feedback_history,
    list_feedback,
    personal_model,
    stored_state,
    undo_feedback,
)
from edge_dan.store.profiles import edit_profile, update_profile
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


def teach(store: Store, scores: dict[str, np.ndarray], k: int) -> None:
    add_feedback(
        store, CARING[k], DOMINANT[k], scores[CARING[k]], scores[DOMINANT[k]], tier="minilm-int8"
    )


def test_migration_adds_the_tables(store: Store) -> None:
    assert schema.version(store.conn) == schema.LATEST >= 3
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master")}
    assert {"feedback", "personal_model", "feedback_history"} <= tables
    assert list_feedback(store) == [] and stored_state(store) is None
    assert personal_model(store) == PersonalModel.from_profile(ValueProfile.neutral())


def test_consistent_answers_flip_a_held_out_pair(
    store: Store, scores: dict[str, np.ndarray]
) -> None:
    edit_profile(store, POWER_LOVER)
    held = np.array([scores[t] for t in HELD_OUT])
    assert order(held, personal_model(store)) == [1, 0]  # the profile's first guess: power
    flipped_after = None
    for k in range(len(CARING)):
        teach(store, scores, k)
        if flipped_after is None and order(held, personal_model(store)) == [0, 1]:
            flipped_after = k + 1
    assert flipped_after is not None
    assert order(held, personal_model(store)) == [0, 1]
    explanation = rank(held, personal_model(store))[0].explanation
    assert not explanation.first_guess and "first guess" not in explanation.text


def test_undo_restores_the_previous_ranking_exactly(
    store: Store, scores: dict[str, np.ndarray]
) -> None:
    edit_profile(store, POWER_LOVER)
    held = np.array([scores[t] for t in HELD_OUT + CARING + DOMINANT])
    teach(store, scores, 0)
    before = rank(held, personal_model(store))
    state_before = stored_state(store)
    teach(store, scores, 1)
    teach(store, scores, 2)
    assert personal_model(store).pairs == 3
    undone = undo_feedback(store)
    assert undone.feedback.preferred == CARING[2] and undone.after.pairs == 2
    undo_feedback(store)
    after = rank(held, personal_model(store))
    assert [(r.index, r.utility, r.explanation) for r in after] == [
        (r.index, r.utility, r.explanation) for r in before
    ]
    state_after = stored_state(store)
    assert state_before is not None and state_after is not None
    assert state_after["weights"] == state_before["weights"]


def test_undo_a_given_answer_and_refuse_unknown_ones(store: Store) -> None:
    ids = [
        add_feedback(store, f"option {k}", f"other {k}", row(k), row(k + 100), tier="t").feedback.id
        for k in range(3)
    ]
    out = undo_feedback(store, ids[1])
    assert out.feedback.id == ids[1] and [a.id for a in list_feedback(store)] == [ids[0], ids[2]]
    expected = PersonalModel.from_profile(
        ValueProfile.neutral(), [(row(0), row(100)), (row(2), row(102))]
    )
    assert np.array_equal(personal_model(store).weights, expected.weights)
    with pytest.raises(UsageError, match="no answer"):
        undo_feedback(store, ids[1])
    # Numbers are never reused: a new answer does not take the undone one's number.
    new = add_feedback(store, "x", "y", row(5), row(6), tier="t").feedback
    assert new.id > ids[2]
    for _ in range(3):
        undo_feedback(store)
    with pytest.raises(UsageError, match="no answer to undo"):
        undo_feedback(store)


def test_history_logs_adds_and_undos_without_texts(store: Store) -> None:
    first = add_feedback(store, "see the sea", "stay home", row(1), row(2), tier="t")
    undo_feedback(store)
    history = feedback_history(store)
    assert [(h.action, h.feedback_id) for h in history] == [
        ("add", first.feedback.id),
        ("undo", first.feedback.id),
    ]
    assert all(h.change.source == "feedback" for h in history)
    assert history[0].change.changes == first.change.changes
    # Undoing the only answer moves every weight back where it was.
    assert {v: (b, a) for v, (a, b) in history[0].change.changes.items()} == dict(
        history[1].change.changes
    )
    dumped = repr(history) + str([h.to_dict() for h in history])
    assert "sea" not in dumped and "home" not in dumped
    assert "sea" not in repr(first.feedback)


def test_answers_are_checked(store: Store) -> None:
    with pytest.raises(UsageError, match="empty"):
        add_feedback(store, "  ", "b", row(1), row(2), tier="t")
    with pytest.raises(UsageError, match="same"):
        add_feedback(store, "Go out", "go out ", row(1), row(2), tier="t")
    with pytest.raises(UsageError):
        add_feedback(store, "a", "b", row(1)[:7], row(2), tier="t")
    with pytest.raises(UsageError):
        add_feedback(store, "a", "b", row(1) * 2 + 1.5, row(2), tier="t")
    with pytest.raises(UsageError):
        add_feedback(store, "a", "b", row(1) * np.nan, row(2), tier="t")
    assert list_feedback(store) == [] and feedback_history(store) == []


def test_answers_survive_reopening_and_stay_encrypted(tmp_path: Path, fast_kdf: KdfParams) -> None:
    home = tmp_path / "h"
    secret = "Tell my sister about the inheritance"
    with Store.create(home, "pw pw pw", kdf=fast_kdf) as store:
        update_profile(store, ValueProfile.neutral().edit({"benevolence": 0.8}), source="edit")
        add_feedback(store, secret, "Keep quiet about it", row(1), row(2), tier="minilm-int8")
        weights = personal_model(store).weights.copy()
    with Store.open(home, "pw pw pw") as store:
        answers = list_feedback(store)
        assert [(a.preferred, a.rejected, a.tier) for a in answers] == [
            (secret, "Keep quiet about it", "minilm-int8")
        ]
        assert np.allclose(answers[0].preferred_scores, row(1), rtol=0, atol=1e-15)
        assert np.array_equal(personal_model(store).weights, weights)
        state = stored_state(store)
        assert state is not None and state["pairs"] == 1
    for path in home.iterdir():
        if path.is_file():
            assert b"inheritance" not in path.read_bytes(), path.name


def test_answers_kept_before_signed_effects_still_count(store: Store) -> None:
    # An older store holds 20 category probabilities per answer; they are folded to 10 values.
    old = np.linspace(0.0, 1.0, len(CATEGORIES))
    add_feedback(store, "a", "b", old, old[::-1], tier="minilm-int8")
    assert personal_model(store).pairs == 1 and len(list_feedback(store)[0].preferred_scores) == 20


def test_a_new_profile_moves_the_prior_under_the_same_answers(store: Store) -> None:
    add_feedback(store, "a", "b", row(1), row(2), tier="t")
    neutral = personal_model(store)
    edit_profile(store, {"hedonism": 0.9})
    moved = personal_model(store)
    assert moved.pairs == 1 and moved.weights[2] > neutral.weights[2]


@pytest.fixture
def two_handles(tmp_path: Path, fast_kdf: KdfParams) -> Iterator[tuple[Store, Store]]:
    home = tmp_path / "h2"
    with Store.create(home, "pw pw pw", kdf=fast_kdf) as a, Store.open(home, "pw pw pw") as b:
        yield a, b


def test_another_process_sees_the_answers(two_handles: tuple[Store, Store]) -> None:
    a, b = two_handles
    add_feedback(a, "a", "b", row(1), row(2), tier="t")
    assert len(list_feedback(b)) == 1
    undo_feedback(b)
    assert list_feedback(a) == []
