"""Ranking options with explanations, refusing harm first, keeping the owner's answers, and the
checks on option texts."""

from __future__ import annotations

import numpy as np
import pytest

from edge_dan.errors import UsageError
from edge_dan.values import ORIGINAL_VALUES, ValueProfile
from edge_dan.values.judgement import Harm, Judgement, option_key
from edge_dan.values.personal import PersonalModel
from edge_dan.values.ranking import (
    MAX_OPTION_CHARS,
    clean_option,
    clean_options,
    clean_pair,
    kendall_tau,
    order,
    rank,
    rank_judged,
)

PROFILE = ValueProfile.neutral().edit({"benevolence": 0.9, "power": 0.1, "hedonism": 0.7})


def effects(**values: float) -> np.ndarray:
    row = np.zeros(len(ORIGINAL_VALUES))
    for name, x in values.items():
        row[ORIGINAL_VALUES.index(name.replace("_", "-"))] = x
    return row


OPTIONS = {
    "Visit my grandmother": effects(benevolence=0.8),
    "Take charge of the team": effects(power=0.7),
    "Eat a big dessert": effects(hedonism=0.6),
}


def judged(row: np.ndarray, harm: Harm | None = None) -> Judgement:
    return Judgement(
        effects=tuple(float(x) for x in row),
        salience=tuple(float(abs(x)) for x in row),
        harm_probability=0.0 if harm is None else harm.probability,
        harm=harm,
    )


PUNCH = Harm("violence", "other", 0.97)


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
    assert "serves power (status, control and wealth) -" in worst.text and best.first_guess
    data = ranked[0].to_dict()
    assert data["option"] == "Visit my grandmother" and data["for"][0]["value"] == "benevolence"
    assert "option" not in ranked[0].to_dict(with_text=False)


def test_ties_keep_the_input_order() -> None:
    model = PersonalModel.from_profile(ValueProfile.neutral())
    scores = np.array([effects(benevolence=0.5), effects(power=0.5), effects(hedonism=0.5)])
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


def test_harm_is_refused_whatever_the_profile() -> None:
    texts = ["call my mother", "punch a stranger who insulted me", "steal from my employer"]
    rows = [effects(benevolence=0.9), effects(power=0.9, stimulation=0.8), effects(hedonism=0.9)]
    js = [judged(rows[0]), judged(rows[1], PUNCH), judged(rows[2], Harm("theft", "other", 0.9))]
    profiles = [
        {"benevolence": 0.9, "universalism": 0.8, "power": 0.1},
        {"power": 1.0, "stimulation": 1.0, "benevolence": 0.0},
        {"hedonism": 1.0, "conformity": 0.0},
        {},
    ]
    for weights in profiles:
        model = PersonalModel.from_profile(ValueProfile.neutral().edit(weights))
        # even an owner who taught Little Dan to prefer the harmful option
        model = model.feedback(rows[1], rows[0])
        result = rank_judged(js, model, texts=texts, preferences=[(texts[1], texts[0])])
        assert [r.index for r in result.ranked] == [0]
        assert [(f.index, f.harm.reason) for f in result.refused] == [
            (1, "harms another person: violence"),
            (2, "harms another person: theft"),
        ]
        out = result.to_dict()
        assert [e["option"] for e in out["ranking"]] == ["call my mother"]
        assert out["refused"][0]["reason"] == "harms another person: violence"


def test_a_contest_applies_to_that_exact_text_only() -> None:
    texts = ["kill the lights before bed", "kill the neighbour's cat", "read a book"]
    rows = [effects(security=0.3), effects(power=0.4), effects(hedonism=0.5)]
    js = [
        judged(rows[0], Harm("violence", "other", 0.6)),
        judged(rows[1], Harm("cruelty", "animal", 0.99)),
        judged(rows[2]),
    ]
    model = PersonalModel.from_profile(ValueProfile.neutral())
    contested = {option_key("Kill the lights  before bed")}
    result = rank_judged(js, model, texts=texts, contested=contested)
    assert sorted(r.index for r in result.ranked) == [0, 2]
    assert [f.index for f in result.refused] == [1]
    assert result.refused[0].harm.reason == "harms an animal: cruelty"


def test_the_owners_answer_holds_even_where_the_model_sees_no_difference() -> None:
    same = effects(hedonism=0.5)
    texts = ["watch a film", "read a novel", "go for a walk"]
    rows = np.array([same, same, effects(hedonism=0.6)])
    model = PersonalModel.from_profile(ValueProfile.neutral())
    assert order(rows, model) == [2, 0, 1]
    kept = rank(rows, model, texts=texts, preferences=[("read a novel", "watch a film")])
    assert [r.index for r in kept] == [2, 1, 0]
    # the owner changes their mind: the newest answer wins, even through a cycle
    answers = [
        ("read a novel", "watch a film"),
        ("watch a film", "go for a walk"),
        ("go for a walk", "read a novel"),
    ]
    kept = rank(rows, model, texts=texts, preferences=answers)
    position = {r.index: r.rank for r in kept}
    assert position[2] < position[1] and position[0] < position[2]


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
