"""What an app does with the owner through the public API alone: the questionnaire kept and read
back (``owner.profile.take_quiz`` / ``quiz_answers``) and options judged for the owner
(``owner.rank``: harm refused whatever the profile, the owner's answers and contests kept)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_dan import QUESTIONNAIRE, Owner, Ranking, ValueModel
from edge_dan.errors import ProfileError, StoreCorrupt
from edge_dan.store import KdfParams

CALL = "Call my mother tonight"
PUNCH = "Punch the stranger who insulted me at the bar"
SALSA = "Go to a salsa night with friends and dance till late"


def answers_that_put_benevolence_first() -> dict[str, int]:
    return {i.id: 6 if i.value == "benevolence" else 3 for i in QUESTIONNAIRE.items}


def test_quiz_answers_are_kept_with_their_profile_and_read_back(
    tmp_path: Path, fast_kdf: KdfParams
) -> None:
    answers = answers_that_put_benevolence_first()
    with Owner.create(tmp_path / "home", "pass phrase", kdf=fast_kdf) as owner:
        assert owner.profile.quiz_answers() is None  # never taken
        result = owner.profile.take_quiz(answers)
        assert result.profile == owner.profile.current()
        weights = owner.profile.current().weights
        assert max(weights, key=lambda v: weights[v]) == "benevolence"
        assert owner.profile.history()[-1].source == "quiz"
    with Owner.open(tmp_path / "home", "pass phrase") as owner:
        assert owner.profile.quiz_answers() == answers  # from the encrypted store, reopened
        changed = {**answers, QUESTIONNAIRE.items[0].id: 1}
        owner.profile.take_quiz(changed)
        assert owner.profile.quiz_answers() == changed  # the newest answers


def test_an_incomplete_or_out_of_range_quiz_changes_nothing(owner: Owner) -> None:
    answers = answers_that_put_benevolence_first()
    before = owner.profile.current()
    missing = dict(list(answers.items())[1:])
    with pytest.raises(ProfileError, match="unanswered"):
        owner.profile.take_quiz(missing)
    with pytest.raises(ProfileError, match="whole numbers"):
        owner.profile.take_quiz({**answers, QUESTIONNAIRE.items[0].id: 7})
    assert owner.profile.quiz_answers() is None
    assert owner.profile.current() == before and owner.profile.history() == []
    assert QUESTIONNAIRE.score(answers).profile.weights["benevolence"] == 1.0  # scored, not kept
    assert owner.profile.quiz_answers() is None


@pytest.mark.parametrize("stored", ['{"zz9": 4}', '{"sd1": 9}', '{"sd1": true}', "[4]", "{"])
def test_damaged_stored_answers_are_store_corrupt_not_a_crash(owner: Owner, stored: str) -> None:
    with owner.store.transaction() as conn:
        conn.execute(
            "INSERT INTO quiz_responses (at, answers, result) VALUES ('now', ?, '{}')", (stored,)
        )
    with pytest.raises(StoreCorrupt, match="questionnaire answers"):
        owner.profile.quiz_answers()


@pytest.fixture(scope="module")
def model() -> ValueModel:
    return ValueModel.load()  # onnxruntime where installed, else the numpy runtime


def test_rank_refuses_harm_whatever_the_profile_and_ranks_the_rest(
    owner: Owner, model: ValueModel
) -> None:
    owner.profile.edit({"power": 1.0, "benevolence": 0.0, "universalism": 0.0})
    ranking = owner.rank([CALL, PUNCH, SALSA], model)
    assert isinstance(ranking, Ranking)
    assert [r.text for r in ranking.refused] == [PUNCH]
    assert "violence" in ranking.refused[0].harm.reason
    assert {r.text for r in ranking.ranked} == {CALL, SALSA}
    assert [r.rank for r in ranking.ranked] == [1, 2]
    assert {r.index for r in ranking.ranked} == {0, 2}  # positions in the input


def test_rank_keeps_the_owners_answer_and_contest(owner: Owner, model: ValueModel) -> None:
    first = owner.rank([CALL, SALSA], model).ranked
    low, high = first[-1].text, first[0].text
    assert low is not None and high is not None
    scores = model.effects([low, high])
    owner.feedback.add(low, high, scores[0], scores[1], tier=model.tier)
    assert [r.text for r in owner.rank([CALL, SALSA], model).ranked] == [low, high]
    owner.contests.add(PUNCH, reason="a stage fight in our play")
    contested = owner.rank([PUNCH, CALL], model)
    assert contested.refused == [] and PUNCH in [r.text for r in contested.ranked]
    assert owner.rank(["Punch the stranger who insulted me"], model).refused  # that text only
