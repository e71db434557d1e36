"""Ranking options with explanations, and the checks on option texts."""

from __future__ import annotations

import numpy as np
import pytest

from edge_dan.errors import UsageError
from edge_dan.values import CATEGORIES, ORIGINAL_VALUES, ValueProfile
from edge_dan.values.personal import PersonalModel
from edge_dan.values.ranking import (
    MAX_OPTION_CHARS,
    clean_option,
    clean_options,
    clean_pair,
    kendall_tau,
    order,
    rank,
)

PROFILE = ValueProfile.neutral().edit({"benevolence": 0.9, "power": 0.1, "hedonism": 0.7})


def category_row(**scores: float) -> np.ndarray:
    row = np.full(len(CATEGORIES), 0.05)
    for name, x in scores.items():
        row[CATEGORIES.index(name.replace("_", " "))] = x
    return row


OPTIONS = {
    "Visit my grandmother": category_row(**{"Benevolence: caring": 0.8}),
    "Take charge of the team": category_row(**{"Power: dominance": 0.7}),
    "Eat a big dessert": category_row(Hedonism=0.6),
}


def test_rank_orders_by_utility_and_explains_in_value_names() -> None:
    model = PersonalModel.from_profile(PROFILE)
    texts = list(OPTIONS)
    ranked = rank(np.array(list(OPTIONS.values())), model, texts=texts)
    assert [r.text for r in ranked] == [
        "Visit my grandmother",
        "Eat a big dessert",
        "Take charge of the team",
    ]
    assert [r.rank for r in ranked] == [1, 2, 3]
    assert [r.index for r in ranked] == [0, 2, 1]
    assert ranked[0].utility > ranked[1].utility > ranked[2].utility
    best, worst = ranked[0].explanation, ranked[2].explanation
    assert best.speaks_for[0].value == "benevolence"
    assert worst.speaks_against[0].value == "power"
    assert "power -" in worst.text and best.first_guess
    data = ranked[0].to_dict()
    assert data["option"] == "Visit my grandmother" and data["for"][0]["value"] == "benevolence"
    assert "option" not in ranked[0].to_dict(with_text=False)


def test_ties_keep_the_input_order() -> None:
    model = PersonalModel.from_profile(ValueProfile.neutral())
    scores = np.array(list(OPTIONS.values()))
    assert order(scores, model) == [0, 1, 2]
    assert order(scores[::-1], model) == [0, 1, 2]


def test_feedback_changes_the_ranking_and_undo_restores_it() -> None:
    model = PersonalModel.from_profile(PROFILE)
    scores = np.array(list(OPTIONS.values()))
    before = rank(scores, model)
    dessert, grandmother = scores[2], scores[0]
    taught = model
    for _ in range(4):
        taught = taught.feedback(dessert, grandmother)
    assert order(scores, taught)[0] == 2
    for _ in range(4):
        taught = taught.without(-1)
    again = rank(scores, taught)
    assert [(r.index, r.utility, r.explanation) for r in again] == [
        (r.index, r.utility, r.explanation) for r in before
    ]


def test_rank_checks_its_inputs() -> None:
    model = PersonalModel.from_profile(PROFILE)
    with pytest.raises(UsageError):
        rank(np.zeros((2, 7)), model)
    with pytest.raises(UsageError):
        rank(np.zeros((2, 20)), model, texts=["only one"])
    assert rank(np.zeros((0, len(ORIGINAL_VALUES))), model) == []


def test_option_texts_are_cleaned_and_checked() -> None:
    assert clean_option("  Cafe\u0301 with Ana \n") == "Caf\u00e9 with Ana"
    for bad in ["", "   \n\t"]:
        with pytest.raises(UsageError, match="empty"):
            clean_option(bad)
    with pytest.raises(UsageError, match="at most"):
        clean_option("x" * (MAX_OPTION_CHARS + 1))
    with pytest.raises(UsageError):
        clean_option(None)
    assert clean_options(["a", "b"]) == ["a", "b"]
    with pytest.raises(UsageError, match="options 1 and 3 are the same"):
        clean_options(["Call mum", "b", "call   MUM "])
    with pytest.raises(UsageError):
        clean_options([])
    with pytest.raises(UsageError):
        clean_options("one string")
    with pytest.raises(UsageError, match="are the same"):
        clean_pair("Go out", " go out")


def test_errors_never_repeat_the_option_text() -> None:
    secret = "meet my lawyer about the divorce"
    with pytest.raises(UsageError) as caught:
        clean_pair(secret, secret.upper())
    assert "lawyer" not in str(caught.value).lower()
    with pytest.raises(UsageError) as caught:
        clean_options([secret, secret])
    assert "lawyer" not in str(caught.value).lower()


def test_kendall_tau() -> None:
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    with pytest.raises(UsageError):
        kendall_tau([1], [1])
    with pytest.raises(UsageError):
        kendall_tau([1, 2], [1, 2, 3])
