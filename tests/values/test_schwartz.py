"""The value space: names, the 20 -> 10 fold, and name parsing."""

from __future__ import annotations

import math

import pytest
from conftest import TOUCHE
from hypothesis import given
from hypothesis import strategies as st

from edge_dan.errors import ProfileError
from edge_dan.values import (
    CATEGORIES,
    CATEGORY_TO_VALUE,
    ORIGINAL_VALUES,
    VALUE_DESCRIPTIONS,
    categories_of,
    parse_value_name,
    to_original,
)

LABELS = TOUCHE / "labels-training.tsv"  # vendored (models/data/touche23/PROVENANCE.md)

scores = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


def test_original_values_in_circumplex_order() -> None:
    assert ORIGINAL_VALUES == (
        "self-direction",
        "stimulation",
        "hedonism",
        "achievement",
        "power",
        "security",
        "conformity",
        "tradition",
        "benevolence",
        "universalism",
    )


def test_categories_match_the_touche23_label_header() -> None:
    assert LABELS.is_file(), f"the vendored Touché23 labels are missing at {LABELS}"
    header = LABELS.read_text(encoding="utf-8").splitlines()[0].split("\t")
    assert header[0] == "Argument ID"
    assert tuple(header[1:]) == CATEGORIES


def test_every_category_maps_to_exactly_one_original_value() -> None:
    assert len(CATEGORIES) == 20
    assert len(set(CATEGORIES)) == 20
    assert set(CATEGORY_TO_VALUE) == set(CATEGORIES)
    assert set(CATEGORY_TO_VALUE.values()) == set(ORIGINAL_VALUES)
    # categories_of partitions the 20 categories among the 10 values.
    parts = [c for v in ORIGINAL_VALUES for c in categories_of(v)]
    assert sorted(parts) == sorted(CATEGORIES)


def test_prefixed_categories_follow_their_prefix() -> None:
    for category, value in CATEGORY_TO_VALUE.items():
        if ":" in category:
            assert category.split(":")[0].lower() == value


def test_face_and_humility() -> None:
    assert CATEGORY_TO_VALUE["Face"] == "power"
    assert CATEGORY_TO_VALUE["Humility"] == "tradition"
    assert categories_of("Power") == ("Power: dominance", "Power: resources", "Face")
    assert categories_of("tradition") == ("Tradition", "Humility")
    assert categories_of("universalism") == tuple(c for c in CATEGORIES if "Universalism" in c)


def test_descriptions_cover_every_value() -> None:
    assert tuple(VALUE_DESCRIPTIONS) == ORIGINAL_VALUES
    assert all(text.strip() for text in VALUE_DESCRIPTIONS.values())


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Self Direction", "self-direction"),
        ("self_direction", "self-direction"),
        ("  SELF-DIRECTION ", "self-direction"),
        ("self - direction", "self-direction"),
        ("Universalism", "universalism"),
        ("power", "power"),
    ],
)
def test_parse_value_name(text: str, name: str) -> None:
    assert parse_value_name(text) == name


@pytest.mark.parametrize("text", ["", "selfdirection", "kindness", "Power: dominance", "Face"])
def test_parse_value_name_rejects_unknown_and_lists_valid_names(text: str) -> None:
    with pytest.raises(ProfileError) as info:
        parse_value_name(text)
    assert "benevolence" in str(info.value)
    assert "self-direction" in str(info.value)


def test_parse_value_name_rejects_non_text() -> None:
    with pytest.raises(ProfileError):
        parse_value_name(3)  # type: ignore[arg-type]


def test_to_original_takes_the_maximum() -> None:
    row = dict.fromkeys(CATEGORIES, 0.1)
    row["Face"] = 0.9  # power: dominance and resources stay low
    row["Universalism: objectivity"] = 0.7
    row["Universalism: nature"] = 0.4
    row["Humility"] = -0.5  # lower than Tradition: must not win
    result = to_original(row)
    assert list(result) == list(ORIGINAL_VALUES)
    assert result["power"] == 0.9
    assert result["universalism"] == 0.7
    assert result["tradition"] == 0.1
    assert result["benevolence"] == 0.1


@given(st.lists(scores, min_size=20, max_size=20))
def test_to_original_sequence_equals_mapping_and_is_max(row: list[float]) -> None:
    by_sequence = to_original(row)
    assert by_sequence == to_original(dict(zip(CATEGORIES, row, strict=True)))
    for value in ORIGINAL_VALUES:
        expected = max(
            x for c, x in zip(CATEGORIES, row, strict=True) if CATEGORY_TO_VALUE[c] == value
        )
        assert by_sequence[value] == expected


def test_to_original_accepts_ints_and_tuples() -> None:
    result = to_original(tuple(range(20)))
    assert result["universalism"] == 19.0
    assert result["self-direction"] == 1.0


@pytest.mark.parametrize(
    "bad",
    [
        [0.0] * 19,
        [0.0] * 21,
        [],
        [0.0] * 19 + [math.nan],
        [0.0] * 19 + [math.inf],
        [0.0] * 19 + [True],
        [0.0] * 19 + ["0.5"],
        [0.0] * 19 + [None],
        "x" * 20,
        42,
        None,
    ],
)
def test_to_original_rejects_bad_sequences(bad: object) -> None:
    with pytest.raises(ProfileError):
        to_original(bad)  # type: ignore[arg-type]


def test_to_original_rejects_bad_mappings() -> None:
    full = dict.fromkeys(CATEGORIES, 0.0)
    missing = dict(full)
    del missing["Face"]
    extra = {**full, "Kindness": 0.3}
    renamed = {("face" if c == "Face" else c): 0.0 for c in CATEGORIES}
    for bad in (missing, extra, renamed, {**full, "Face": math.nan}, {**full, "Face": "high"}):
        with pytest.raises(ProfileError) as info:
            to_original(bad)  # type: ignore[arg-type]
        assert "Face" in str(info.value) or "Kindness" in str(info.value)
