"""The portrait questionnaire: items, PVQ-style scoring, the answers file."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_dan.errors import ProfileError
from edge_dan.values import (
    ANSWER_LABELS,
    ITEMS,
    ITEMS_BY_ID,
    ORIGINAL_VALUES,
    ValueProfile,
    load_answers,
    score,
)

IDS = [item.id for item in ITEMS]
COUNT = Counter(item.value for item in ITEMS)


def answers_where(default: int, **by_value: int) -> dict[str, int]:
    """Every item answered ``default`` except the items of the named values (underscored)."""
    chosen = {k.replace("_", "-"): v for k, v in by_value.items()}
    return {item.id: chosen.get(item.value, default) for item in ITEMS}


def test_items_cover_every_value_and_stay_short() -> None:
    assert len(ITEMS) <= 30
    assert set(COUNT) == set(ORIGINAL_VALUES)
    assert min(COUNT.values()) >= 2
    assert len(set(IDS)) == len(IDS)
    assert ITEMS_BY_ID["sd1"].value == "self-direction"
    for item in ITEMS:
        assert re.fullmatch(r"[a-z]{2}[1-9]", item.id)
        assert item.text.startswith("It matters to them ")
        assert item.text.endswith(".")


def test_items_are_gender_neutral() -> None:
    for item in ITEMS:
        assert not re.search(r"\b(he|she|his|her|him|hers|himself|herself)\b", item.text, re.I)


def test_items_are_interleaved() -> None:
    values = [item.value for item in ITEMS]
    assert all(a != b for a, b in itertools.pairwise(values))


def test_answer_labels() -> None:
    assert dict(ANSWER_LABELS) == {
        1: "Not like me at all",
        2: "Not like me",
        3: "A little like me",
        4: "Somewhat like me",
        5: "Like me",
        6: "Very much like me",
    }


def test_hand_computed_scores() -> None:
    # Self-direction items answered 6, stimulation 5, power 1; the other items all 3.
    answers = answers_where(3, self_direction=6, stimulation=5, power=1)
    sd, st_, po = COUNT["self-direction"], COUNT["stimulation"], COUNT["power"]
    rest = len(ITEMS) - sd - st_ - po
    mean = Fraction(6 * sd + 5 * st_ + 1 * po + 3 * rest, len(ITEMS))
    # With this questionnaire: 3 sd, 2 st, 3 po, 18 others -> (18 + 10 + 3 + 54) / 26 = 85/26.
    assert (sd, st_, po, len(ITEMS)) == (3, 2, 3, 26)
    assert mean == Fraction(85, 26)

    result = score(answers)
    assert result.mean == pytest.approx(85 / 26)
    assert result.raw["self-direction"] == 6.0
    assert result.raw["power"] == 1.0
    assert result.raw["benevolence"] == 3.0
    assert result.centered["self-direction"] == pytest.approx(6 - 85 / 26)  # 71/26 = 2.73
    assert result.centered["stimulation"] == pytest.approx(5 - 85 / 26)  # 45/26 = 1.73
    assert result.centered["power"] == pytest.approx(1 - 85 / 26)  # -59/26 = -2.27
    assert result.centered["tradition"] == pytest.approx(3 - 85 / 26)  # -7/26 = -0.27
    # weight = clamp(0.5 + centred / 4): self-direction and power saturate, the rest do not.
    assert result.weights["self-direction"] == 1.0
    assert result.weights["power"] == 0.0
    assert result.weights["stimulation"] == pytest.approx(0.5 + 45 / 104)
    assert result.weights["tradition"] == pytest.approx(0.5 - 7 / 104)
    assert result.profile.weights == result.weights
    assert not result.uniform


def test_mixed_items_within_a_value_are_averaged() -> None:
    answers = answers_where(4)
    answers["sd1"], answers["sd2"], answers["sd3"] = 6, 5, 1  # mean 4, same as everyone else
    result = score(answers)
    assert result.raw["self-direction"] == 4.0
    assert result.centered["self-direction"] == 0.0
    assert not result.uniform


def test_benevolence_person_gets_benevolence_on_top() -> None:
    result = score(answers_where(2, benevolence=6))
    top = max(result.weights, key=result.weights.__getitem__)
    assert top == "benevolence"
    others = [w for v, w in result.weights.items() if v != "benevolence"]
    assert result.weights["benevolence"] > max(others)
    assert result.weights["benevolence"] > 0.5 > max(others)


@pytest.mark.parametrize("level", range(1, 7))
def test_uniform_answers_give_the_neutral_profile(level: int) -> None:
    result = score(dict.fromkeys(IDS, level))
    assert result.uniform
    assert result.profile == ValueProfile.neutral()
    assert set(result.centered.values()) == {0.0}
    assert set(result.raw.values()) == {float(level)}


answer_sets = st.fixed_dictionaries({i: st.integers(1, 6) for i in IDS})


@given(answer_sets)
def test_scoring_properties(answers: dict[str, int]) -> None:
    result = score(answers)
    assert tuple(result.weights) == ORIGINAL_VALUES
    assert all(0.0 <= w <= 1.0 for w in result.weights.values())
    assert all(1.0 <= r <= 6.0 for r in result.raw.values())
    # Centring removes the owner's own mean: item-level centred answers average to zero, so the
    # value scores weighted by their item counts sum to zero.
    item_level = [answers[i] - result.mean for i in IDS]
    assert sum(item_level) / len(item_level) == pytest.approx(0.0, abs=1e-9)
    assert sum(COUNT[v] * c for v, c in result.centered.items()) == pytest.approx(0.0, abs=1e-9)
    assert result.uniform == (len(set(answers.values())) == 1)
    assert result.profile.weights == result.weights
    # Order is kept: a value centred higher never gets a lower weight.
    ranked = sorted(ORIGINAL_VALUES, key=result.centered.__getitem__)
    ws = [result.weights[v] for v in ranked]
    assert ws == sorted(ws)


def test_missing_answers_are_named() -> None:
    answers = dict.fromkeys(IDS, 3)
    del answers["tr2"], answers["un1"]
    with pytest.raises(ProfileError, match=r"unanswered items: un1, tr2"):
        score(answers)


def test_unknown_ids_are_named() -> None:
    with pytest.raises(ProfileError, match="'zz9'"):
        score({**dict.fromkeys(IDS, 3), "zz9": 3})


@pytest.mark.parametrize("bad", [0, 7, -1, True, 3.0, "3", None])
def test_out_of_range_or_wrong_type_answers_are_named(bad: object) -> None:
    answers: dict[str, object] = dict.fromkeys(IDS, 3)
    answers["po2"] = bad
    with pytest.raises(ProfileError, match="po2"):
        score(answers)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [None, [3] * 26, "answers"])
def test_non_mapping_answers(bad: object) -> None:
    with pytest.raises(ProfileError):
        score(bad)  # type: ignore[arg-type]


# --- load_answers ------------------------------------------------------------------------------


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "answers.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_load_plain_and_wrapped(tmp_path: Path) -> None:
    answers = answers_where(3, benevolence=6)
    assert load_answers(write(tmp_path, json.dumps(answers))) == answers
    wrapped = write(tmp_path, json.dumps({"answers": answers, "version": 1}))
    assert load_answers(str(wrapped)) == answers
    assert score(load_answers(wrapped)).weights["benevolence"] == 1.0


def test_load_keeps_range_checks_for_score(tmp_path: Path) -> None:
    # Partial or out-of-range answers load (a caller may ask for the rest) and score names them.
    loaded = load_answers(write(tmp_path, '{"sd1": 9}'))
    assert loaded == {"sd1": 9}
    with pytest.raises(ProfileError, match="sd1"):
        score(loaded)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('{"sd1": 5', "invalid JSON at line 1"),
        ("", "invalid JSON"),
        ("[5, 5]", "got array"),
        ('"sd1"', "got string"),
        ('{"answers": [5]}', "got array"),
        ('{"sd1": "5"}', "'sd1' must be a whole number, got string"),
        ('{"sd1": 5.0}', "'sd1' must be a whole number"),
        ('{"sd1": true}', "'sd1' must be a whole number, got boolean"),
        ('{"sd1": null}', "got null"),
        ('{"sd1": NaN}', "'sd1'"),
        ('{"sd1": 5, "sd1": 6}', "'sd1' appears twice"),
        (b"\xff\xfe{}", "not UTF-8"),
        ("[" * 100_000, "larger than"),
    ],
)
def test_load_rejects_malformed_files(tmp_path: Path, content: str | bytes, why: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ProfileError) as info:
        load_answers(path)
    assert str(path) in str(info.value)
    assert why in str(info.value)


def test_load_deeply_nested_json(tmp_path: Path) -> None:
    path = write(
        tmp_path, "[" * 30_000 + "]" * 30_000
    )  # small enough to be read, too deep to parse
    with pytest.raises(ProfileError) as info:
        load_answers(path)
    assert str(path) in str(info.value)
    assert "nested too deeply" in str(info.value)


def test_load_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(ProfileError, match=r"nope\.json"):
        load_answers(path)
    with pytest.raises(ProfileError, match="cannot read"):
        load_answers(tmp_path)  # a directory
