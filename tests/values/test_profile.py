"""ValueProfile and ProfileChange: validation, immutability, serialisation."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_dan.errors import ProfileError
from edge_dan.values import ORIGINAL_VALUES, ProfileChange, ValueProfile

weights = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
profiles = st.lists(weights, min_size=10, max_size=10).map(
    lambda ws: ValueProfile(dict(zip(ORIGINAL_VALUES, ws, strict=True)))
)


def test_neutral_profile() -> None:
    p = ValueProfile.neutral()
    assert tuple(p.weights) == ORIGINAL_VALUES
    assert set(p.weights.values()) == {0.5}
    assert p.weight("Self Direction") == 0.5


def test_profile_is_immutable() -> None:
    p = ValueProfile.neutral()
    with pytest.raises(TypeError):
        p.weights["power"] = 1.0  # type: ignore[index]
    with pytest.raises(AttributeError):
        p._weights = (1.0,) * 10
    assert p == ValueProfile.neutral()


def test_edit_returns_a_new_profile() -> None:
    p = ValueProfile.neutral()
    q = p.edit({"Benevolence": 0.9, "power": 0, "self_direction": 1})
    assert p == ValueProfile.neutral()
    assert q.weight("benevolence") == 0.9
    assert q.weight("power") == 0.0
    assert q.weight("self-direction") == 1.0
    assert isinstance(q.weight("power"), float)
    assert p.diff(q) == {
        "self-direction": (0.5, 1.0),
        "power": (0.5, 0.0),
        "benevolence": (0.5, 0.9),
    }
    assert list(p.diff(q)) == ["self-direction", "power", "benevolence"]  # circumplex order
    assert q.diff(q) == {}
    assert p.edit({}) == p


@pytest.mark.parametrize("bad", [-0.01, 1.01, math.nan, math.inf, -math.inf, "0.5", None, True])
def test_edit_rejects_bad_weights_naming_value_and_range(bad: object) -> None:
    with pytest.raises(ProfileError) as info:
        ValueProfile.neutral().edit({"power": bad})  # type: ignore[dict-item]
    assert "power" in str(info.value)
    assert "[0, 1]" in str(info.value)


def test_edit_rejects_unknown_and_duplicate_names() -> None:
    p = ValueProfile.neutral()
    with pytest.raises(ProfileError, match="valid names"):
        p.edit({"kindness": 0.5})
    with pytest.raises(ProfileError, match="both name self-direction"):
        p.edit({"Self Direction": 0.2, "self-direction": 0.9})
    with pytest.raises(ProfileError):
        p.edit({3: 0.5})  # type: ignore[dict-item]
    with pytest.raises(ProfileError):
        p.edit([("power", 0.5)])  # type: ignore[arg-type]


def test_constructor_needs_every_value() -> None:
    partial = dict.fromkeys(ORIGINAL_VALUES[:9], 0.5)
    with pytest.raises(ProfileError, match="universalism"):
        ValueProfile(partial)


def test_equality_and_hash() -> None:
    a = ValueProfile.neutral().edit({"power": 0.25})
    b = ValueProfile.neutral().edit({"Power": 0.25})
    assert a == b
    assert hash(a) == hash(b)
    assert a != ValueProfile.neutral()
    assert a != a.to_dict()


@given(profiles)
def test_dict_round_trip(p: ValueProfile) -> None:
    data = p.to_dict()
    assert list(data) == list(ORIGINAL_VALUES)
    assert ValueProfile.from_dict(json.loads(json.dumps(data))) == p
    assert ValueProfile.from_dict(data) == p


def test_from_dict_accepts_integral_json_numbers() -> None:
    data = dict.fromkeys(ORIGINAL_VALUES, 1)
    assert ValueProfile.from_dict(data).weight("power") == 1.0


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("power"),
        lambda d: d.update(kindness=0.5),
        lambda d: d.update({"Self Direction": d.pop("self-direction")}),  # strict: canonical only
        lambda d: d.update(power="0.5"),
        lambda d: d.update(power=True),
        lambda d: d.update(power=None),
        lambda d: d.update(power=2),
        lambda d: d.update(power=math.nan),
        lambda d: d.update({1: 0.5}),
    ],
)
def test_from_dict_is_strict(mutate: object) -> None:
    data: dict[object, object] = dict.fromkeys(ORIGINAL_VALUES, 0.5)
    mutate(data)  # type: ignore[operator]
    with pytest.raises(ProfileError):
        ValueProfile.from_dict(data)


@pytest.mark.parametrize("bad", [None, [], "profile", 0.5])
def test_from_dict_rejects_non_objects(bad: object) -> None:
    with pytest.raises(ProfileError):
        ValueProfile.from_dict(bad)


# --- ProfileChange -----------------------------------------------------------------------------

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_change_between_profiles_round_trips_through_json() -> None:
    before = ValueProfile.neutral()
    after = before.edit({"universalism": 0.8, "power": 0.2})
    change = ProfileChange.between(before, after, source="edit", note="owner said so", at=T0)
    assert change.changes == {"power": (0.5, 0.2), "universalism": (0.5, 0.8)}
    data = json.loads(json.dumps(change.to_dict()))
    assert data["at"] == "2026-03-01T12:00:00+00:00"
    again = ProfileChange.from_dict(data)
    assert again == change
    assert hash(again) == hash(change)
    assert again.at.tzinfo is not None


def test_change_defaults_to_now_in_utc() -> None:
    change = ProfileChange.between(
        ValueProfile.neutral(), ValueProfile.neutral(), source="init", at=None
    )
    assert change.at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - change.at) < timedelta(minutes=1)
    assert change.changes == {}
    assert change.note == ""


def test_change_time_is_normalised_to_utc() -> None:
    local = datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    change = ProfileChange(local, "quiz", {}, "")
    assert change.at == T0
    assert change.at.utcoffset() == timedelta(0)
    assert ProfileChange.from_dict({**change.to_dict(), "at": "2026-03-01T12:00:00Z"}) == change


@pytest.mark.parametrize(
    ("args", "word"),
    [
        ((datetime(2026, 3, 1), "quiz", {}, ""), "timezone"),
        (("2026-03-01T12:00:00+00:00", "quiz", {}, ""), "timezone"),
        ((T0, "guess", {}, ""), "source"),
        ((T0, "quiz", {"kindness": (0.5, 0.6)}, ""), "kindness"),
        ((T0, "quiz", {"power": (0.5, 1.5)}, ""), "power"),
        ((T0, "quiz", {"power": (0.5,)}, ""), "pair"),
        ((T0, "quiz", {"power": "0.5,0.6"}, ""), "pair"),
        ((T0, "quiz", [("power", (0.5, 0.6))], ""), "mapping"),
        ((T0, "quiz", {}, None), "note"),
    ],
)
def test_change_validation(args: tuple[object, ...], word: str) -> None:
    with pytest.raises(ProfileError, match=word):
        ProfileChange(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"at": "2026-03-01T12:00:00+00:00", "source": "quiz", "changes": {}},
        {"at": "2026-03-01T12:00:00+00:00", "source": "quiz", "changes": {}, "note": "", "x": 1},
        {"at": "yesterday", "source": "quiz", "changes": {}, "note": ""},
        {"at": 1700000000, "source": "quiz", "changes": {}, "note": ""},
        {"at": "2026-03-01T12:00:00", "source": "quiz", "changes": {}, "note": ""},
        {"at": "2026-03-01T12:00:00Z", "source": "quiz", "changes": {"power": [1, 2]}, "note": ""},
        {"at": "2026-03-01T12:00:00Z", "source": 3, "changes": {}, "note": ""},
        {1: "x", "at": "2026-03-01T12:00:00Z", "source": "quiz", "changes": {}, "note": ""},
    ],
)
def test_change_from_dict_rejects_malformed(data: object) -> None:
    with pytest.raises(ProfileError):
        ProfileChange.from_dict(data)
