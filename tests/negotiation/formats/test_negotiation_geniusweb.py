"""GeniusWeb JSON domains and linear additive profiles: loaded exactly, refused loudly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edge_dan.negotiation.domain.outcomes import DiscreteIssue, IntegerIssue, OutcomeSpace
from edge_dan.negotiation.formats.errors import GeniusFormatError
from edge_dan.negotiation.formats.geniusweb import load_domain, load_profile

DOMAIN: dict[str, Any] = {
    "name": "holiday",
    "issuesValues": {
        "place": {"values": ["beach", "city", "hills"]},
        "nights": {"values": ["2", "4"]},
    },
}


def profile_json(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "domain": DOMAIN,
        "name": "ann",
        "issueUtilities": {
            "place": {
                "DiscreteValueSetUtilities": {
                    "valueUtilities": {"beach": 1, "city": 0.5, "hills": 0}
                }
            },
            "nights": {"DiscreteValueSetUtilities": {"valueUtilities": {"2": 0.2, "4": 0.8}}},
        },
        "issueWeights": {"place": 0.6, "nights": 0.4},
        "reservationBid": {"issuevalues": {"place": "city", "nights": "2"}},
    }
    body.update(changes)
    return {"LinearAdditiveUtilitySpace": body}


def write(tmp_path: Path, name: str, value: Any) -> Path:
    path = tmp_path / name
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return path


def test_domain_and_profile_load_with_geniusweb_semantics(tmp_path: Path) -> None:
    space = load_domain(write(tmp_path, "d.json", DOMAIN))
    assert space.issue_names == ("place", "nights")
    assert space.issue("place") == DiscreteIssue("place", ("beach", "city", "hills"))
    profile = load_profile(write(tmp_path, "p.json", profile_json()), space)
    # No rescaling: "nights" peaks at 0.8, so the best outcome is worth 0.6 + 0.4 * 0.8.
    assert profile(("beach", "4")) == pytest.approx(0.92)
    assert profile(("hills", "2")) == pytest.approx(0.08)
    assert profile.reservation_value == pytest.approx(0.6 * 0.5 + 0.4 * 0.2)
    assert profile.name == "ann"
    assert profile.utilities().max() == pytest.approx(0.92)


def test_profile_without_reservation_and_integer_range_domain(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, "p.json", profile_json(reservationBid=None)))
    assert profile.reservation_value == 0.0
    ranged = {"name": "r", "issuesValues": {"n": {"range": {"low": 1, "high": 5, "step": 1}}}}
    assert load_domain(write(tmp_path, "r.json", ranged)) == OutcomeSpace([IntegerIssue("n", 1, 5)])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"name": "x", "name": "y", "issuesValues": {}}', "appears twice"),
        ('{"name": "x", "issuesValues": {"a": {"values": [NaN]}}}', "not a number"),
        ("[1, 2", "malformed JSON"),
        ('{"name": "x", "issuesValues": {"a": {"values": ["v", "v"]}}}', "appears twice"),
        ('{"name": "x", "issuesValues": {"a": {"values": [1]}}}', "only text values"),
        ('{"name": "x", "issuesValues": {}, "extra": 1}', "unknown keys"),
    ],
)
def test_bad_domains_are_refused_with_the_file_named(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = write(tmp_path, "bad.json", text)
    with pytest.raises(GeniusFormatError, match=problem) as caught:
        load_domain(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"issueWeights": {"place": 0.6, "nights": 0.6}}, "sum to"),
        ({"issueWeights": {"place": 1.0}}, "missing keys"),
        ({"reservationBid": {"issuevalues": {"place": "moon", "nights": "2"}}}, "reservationBid"),
        (
            {
                "issueUtilities": {
                    "place": {
                        "DiscreteValueSetUtilities": {
                            "valueUtilities": {"beach": 2, "city": 0.5, "hills": 0}
                        }
                    },
                    "nights": {
                        "DiscreteValueSetUtilities": {"valueUtilities": {"2": 0.2, "4": 0.8}}
                    },
                }
            },
            "outside 0..1",
        ),
        (
            {
                "issueUtilities": {
                    "place": {
                        "DiscreteValueSetUtilities": {"valueUtilities": {"beach": 1, "city": 0.5}}
                    },
                    "nights": {
                        "DiscreteValueSetUtilities": {"valueUtilities": {"2": 0.2, "4": 0.8}}
                    },
                }
            },
            "missing keys",
        ),
    ],
)
def test_bad_profiles_are_refused(tmp_path: Path, changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(GeniusFormatError, match=problem):
        load_profile(write(tmp_path, "p.json", profile_json(**changes)))


def test_profile_for_another_domain_is_refused(tmp_path: Path) -> None:
    other = OutcomeSpace([DiscreteIssue("place", ("beach", "city"))])
    with pytest.raises(GeniusFormatError, match="differs"):
        load_profile(write(tmp_path, "p.json", profile_json()), other)


def test_huge_integer_weight_is_a_format_error(tmp_path: Path) -> None:
    # A JSON integer too large for a float raised a bare OverflowError.
    path = write(tmp_path, "p.json", profile_json(issueWeights={"place": 10**400, "nights": 0}))
    with pytest.raises(GeniusFormatError, match=r"outside 0\.\.1"):
        load_profile(path)


def test_deeply_nested_json_is_a_format_error(tmp_path: Path) -> None:
    # json.loads recursed until a bare RecursionError.
    path = write(tmp_path, "deep.json", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(GeniusFormatError, match="nested"):
        load_domain(path)
