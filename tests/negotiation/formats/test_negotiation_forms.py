"""The forms real GENIUS and GeniusWeb files take (issue #14, "Real negotiation files").

One fixture folder per form, written for these tests (``tests/data/negotiation/forms/``):
integer issues with linear evaluators (slope/offset and parameter0/parameter1, bounds as
attributes or a ``<range>``) and a discount factor of 0, real issues, nested objectives, and a
GeniusWeb folder with number ranges, ``NumberValueSetUtilities`` and a reservation bid.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA

from edge_dan.negotiation import DiscreteIssue, GeniusFormatError, IntegerIssue
from edge_dan.negotiation.domain.outcomes import real_issue
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility
from edge_dan.negotiation.formats import genius, geniusweb
from edge_dan.negotiation.formats.folders import load_folder

FORMS = DATA / "negotiation" / "forms"


def test_integer_issues_with_linear_evaluators_and_zero_discount() -> None:
    scenario = genius.load_scenario(FORMS / "genius_integer_linear")
    assert scenario.space.issues[0] == IntegerIssue("Months", 6, 12)
    landlord = scenario.profiles["rent_landlord.xml"]
    # slope/offset, relative to the lower bound (GENIUS's EvaluatorInteger): 0.4 + 0.1 * (v - 6)
    assert landlord((12, "no")) == pytest.approx(1.0)
    assert landlord((6, "yes")) == pytest.approx(0.6 * 0.4 + 0.4 * 0.2)
    assert landlord((9, "no")) == pytest.approx(0.6 * 0.7 + 0.4)
    assert landlord.discount_factor is None  # 0.0 is GENIUS's "no discount"
    assert landlord.reservation_value == pytest.approx(0.3)
    tenant = scenario.profiles["rent_tenant.xml"]  # <range> bounds, parameter0/parameter1
    assert tenant((6, "yes")) == pytest.approx(1.0)
    assert tenant((12, "no")) == pytest.approx(0.5 * 0.25 + 0.5 * 0.25)
    assert tenant.discount_factor == pytest.approx(0.8)


def test_linear_evaluators_are_clipped_and_not_rescaled(tmp_path: Path) -> None:
    text = (FORMS / "genius_integer_linear" / "rent_landlord.xml").read_text()
    # 0.1 + 0.05 * (v - 6) peaks at 0.4: kept as given, as GENIUS does (no division by the max)
    low = text.replace('offset="0.4" slope="0.1"', 'offset="0.1" slope="0.05"')
    path = tmp_path / "low.xml"
    path.write_text(low)
    profile = genius.load_profile(path)
    assert profile((12, "no")) == pytest.approx(0.6 * 0.4 + 0.4)
    steep = text.replace('offset="0.4" slope="0.1"', 'offset="-1" slope="0.5"')
    path.write_text(steep)
    profile = genius.load_profile(path)
    assert profile((6, "no")) == pytest.approx(0.4)  # -1 clipped to 0
    assert profile((12, "no")) == pytest.approx(1.0)  # 2 clipped to 1


def test_real_issues_become_a_grid_of_decimal_points() -> None:
    scenario = genius.load_scenario(FORMS / "genius_real")
    price = scenario.space.issue("Price")
    assert price == real_issue("Price", Decimal("0.10"), Decimal("0.30"))
    assert isinstance(price, DiscreteIssue)
    assert price.values[:3] == ("0.1", "0.12", "0.14") and price.values[-1] == "0.3"
    assert scenario.space.cardinality == 11 * 2
    buyer = scenario.profiles["energy_buyer.xml"]  # 1.5 - 5x on the raw number
    assert buyer(("0.1", "fixed")) == pytest.approx(1.0)
    assert buyer(("0.2", "dynamic")) == pytest.approx(0.7 * 0.5 + 0.3 / 3)
    seller = scenario.profiles["energy_seller.xml"]  # bounds as attributes this time
    assert seller(("0.3", "dynamic")) == pytest.approx(1.0)
    assert seller(("0.1", "fixed")) == pytest.approx(0.2 * 0.5)
    finer = genius.load_scenario(FORMS / "genius_real", real_points=21)
    assert len(finer.space.issue("Price").values) == 21


def test_nested_objectives_use_the_issues_own_weights() -> None:
    scenario = genius.load_scenario(FORMS / "genius_nested")
    assert scenario.space.issue_names == ("Hotel", "Nights", "Travel")
    ann = scenario.profiles["trip_ann.xml"]
    assert isinstance(ann.utility, LinearAdditiveUtility)
    assert ann.utility.weight("Hotel") == pytest.approx(0.4)
    assert ann.utility.weight("Travel") == pytest.approx(0.4)
    assert ann(("resort", "4", "train")) == pytest.approx(1.0)
    assert ann(("hostel", "2", "car")) == pytest.approx(0.4 * 0.25 + 0.2 * 0.5 + 0.4 * 0.2)


def test_geniusweb_folder_with_number_ranges() -> None:
    scenario = load_folder(FORMS / "geniusweb_numbers")
    space = scenario.space
    assert space.issue("hours") == IntegerIssue("hours", 1, 4)
    assert space.issue("budget") == DiscreteIssue("budget", ("100", "125", "150", "175", "200"))
    assert space.issue("rate") == DiscreteIssue("rate", ("0", "0.05", "0.1", "0.15", "0.2"))
    assert sorted(scenario.profiles) == ["profileA.json", "profileB.json"]
    organiser = scenario.profiles["profileA.json"]
    # numberutils: interpolated between (lowValue, lowUtility) and (highValue, highUtility)
    expected = 0.4 * 0.6 + 0.3 * 0.5 + 0.2 * (0.2 + 0.8 / 3) + 0.1 * 0.5
    assert organiser.reservation_value == pytest.approx(expected)
    assert organiser(("city", "150", 2, "0.1")) == pytest.approx(expected)
    assert organiser(("online", "100", 4, "0.2")) == pytest.approx(1.0)
    venue = scenario.profiles["profileB.json"]
    assert venue.reservation_value == 0.0
    assert venue(("hills", "200", 1, "0")) == pytest.approx(1.0)


def test_load_folder_picks_the_format(tmp_path: Path) -> None:
    xml = load_folder(FORMS / "genius_nested")
    assert xml.domain_path.name == "trip_domain.xml"
    mixed = tmp_path / "mixed"
    shutil.copytree(FORMS / "geniusweb_numbers", mixed)
    shutil.copy(FORMS / "genius_nested" / "trip_domain.xml", mixed)
    with pytest.raises(GeniusFormatError, match="both"):
        load_folder(mixed)
    stray = tmp_path / "stray"
    shutil.copytree(FORMS / "geniusweb_numbers", stray)
    (stray / "notes.json").write_text('{"todo": 1}')
    with pytest.raises(GeniusFormatError, match=r"notes\.json"):
        load_folder(stray)


# ------------------------------------------------------------------ still strict

XML_BAD: dict[str, tuple[str, str, str, str]] = {
    # name: (folder, file, replace this, with this) -> message
    "unknown ftype": (
        "genius_integer_linear",
        "rent_landlord.xml",
        'ftype="linear"',
        'ftype="triangular"',
    ),
    "missing slope": ("genius_integer_linear", "rent_landlord.xml", ' slope="0.1"', ""),
    "infinite offset": ("genius_integer_linear", "rent_landlord.xml", '"0.4"', '"inf"'),
    "nan slope": ("genius_integer_linear", "rent_tenant.xml", '"-0.125"', '"nan"'),
    "no bounds": (
        "genius_real",
        "energy_domain.xml",
        '<range lowerbound="0.10" upperbound="0.30"/>',
        "",
    ),
    "bounds reversed": (
        "genius_real",
        "energy_domain.xml",
        'upperbound="0.30"',
        'upperbound="0.01"',
    ),
    "huge bound": (
        "genius_real",
        "energy_domain.xml",
        'upperbound="0.30"',
        'upperbound="1e999999"',
    ),
    "nan bound": ("genius_real", "energy_domain.xml", 'upperbound="0.30"', 'upperbound="NaN"'),
    "unknown type": (
        "genius_real",
        "energy_domain.xml",
        'type="real" etype="real" vtype="real"',
        'type="complex" etype="complex" vtype="complex"',
    ),
    "objective weight not numeric": (
        "genius_nested",
        "trip_ann.xml",
        '<weight index="1" value="0.6"/>',
        '<weight index="1" value="x"/>',
    ),
    "issue weight missing": (
        "genius_nested",
        "trip_ann.xml",
        '<weight index="3" value="0.2"/>',
        "",
    ),
    "two evaluators": (
        "genius_integer_linear",
        "rent_landlord.xml",
        '<evaluator ftype="linear" offset="0.4" slope="0.1"/>',
        '<evaluator ftype="linear" offset="0.4" slope="0.1"/>'
        '<evaluator ftype="constant" parameter0="1"/>',
    ),
    "wide integer table": (
        "genius_integer_linear",
        "rent_landlord.xml",
        'upperbound="12"',
        'upperbound="9999999"',
    ),
}
XML_MESSAGES = {
    "unknown ftype": "triangular",
    "missing slope": "slope is missing",
    "infinite offset": "not finite",
    "nan slope": "not finite",
    "no bounds": "lowerbound and upperbound",
    "bounds reversed": "low > high",
    "huge bound": "too large",
    "nan bound": "not finite",
    "unknown type": "complex",
    "objective weight not numeric": "weight of objective 1",
    "issue weight missing": "no <weight>",
    "two evaluators": "2 <evaluator>s",
    "wide integer table": "above 100000",
}


@pytest.mark.parametrize("case", sorted(XML_BAD))
def test_malformed_genius_forms_are_format_errors(tmp_path: Path, case: str) -> None:
    folder, name, old, new = XML_BAD[case]
    copy = tmp_path / folder
    shutil.copytree(FORMS / folder, copy)
    target = copy / name
    text = target.read_text()
    assert old in text, case
    target.write_text(text.replace(old, new, 1))
    with pytest.raises(GeniusFormatError) as caught:
        genius.load_scenario(copy)
    assert XML_MESSAGES[case] in str(caught.value)
    assert str(copy) in str(caught.value)


def _profile(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FORMS / "geniusweb_numbers" / name).read_text())
    return data


JSON_BAD: dict[str, tuple[list[str | int], Any, str]] = {
    # name: (path into profileA's LinearAdditiveUtilitySpace, new value) -> message
    "low utility above 1": (
        ["issueUtilities", "budget", "NumberValueSetUtilities", "lowUtility"],
        1.5,
        "outside 0..1",
    ),
    "lowValue off the range": (
        ["issueUtilities", "budget", "NumberValueSetUtilities", "lowValue"],
        90,
        "is not the range 100..200",
    ),
    "highValue not above lowValue": (
        ["issueUtilities", "hours", "NumberValueSetUtilities", "highValue"],
        1,
        "highValue must be above",
    ),
    "discrete utilities for a range": (
        ["issueUtilities", "hours"],
        {"DiscreteValueSetUtilities": {"valueUtilities": {"1": 1}}},
        "NumberValueSetUtilities",
    ),
    "reservation number off the grid": (
        ["reservationBid", "issuevalues", "rate"],
        0.07,
        "reservationBid",
    ),
    "reservation text for an integer": (
        ["reservationBid", "issuevalues", "hours"],
        "2",
        "expected an integer",
    ),
    "weights off by more than the tolerance": (["issueWeights", "place"], 0.41, "sum to"),
    "zero increment": (["domain", "issuesValues", "rate", "range", "incr"], 0, "incr > 0"),
    "too many points": (
        ["domain", "issuesValues", "rate", "range", "incr"],
        1e-9,
        "grid points",
    ),
    "string bound": (["domain", "issuesValues", "rate", "range", "high"], "0.2", "a number"),
}


@pytest.mark.parametrize("case", sorted(JSON_BAD))
def test_malformed_geniusweb_forms_are_format_errors(tmp_path: Path, case: str) -> None:
    keys, value, message = JSON_BAD[case]
    data = _profile("profileA.json")
    node = data["LinearAdditiveUtilitySpace"]
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    path = tmp_path / "profileA.json"
    path.write_text(json.dumps(data))
    with pytest.raises(GeniusFormatError, match=message) as caught:
        geniusweb.load_profile(path)
    assert str(caught.value).startswith(str(path))


def test_weights_within_the_tolerance_load(tmp_path: Path) -> None:
    data = _profile("profileA.json")
    weights = data["LinearAdditiveUtilitySpace"]["issueWeights"]
    weights["place"] += geniusweb.WEIGHT_TOLERANCE / 2
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    assert geniusweb.load_profile(path).reservation_value > 0.5


def test_integer_ranges_are_matched_by_bounds_not_by_listing(tmp_path: Path) -> None:
    # A domain may declare a huge integer range (loaded lazily); matching a profile against it
    # must compare the bounds, not build a set of every value (a billion-value domain would).
    copy = tmp_path / "rent"
    shutil.copytree(FORMS / "genius_integer_linear", copy)
    domain = copy / "rent_domain.xml"
    domain.write_text(domain.read_text().replace('upperbound="12"', 'upperbound="1000000000"'))
    assert genius.load_domain(domain).cardinality == 2 * (1_000_000_000 - 6 + 1)
    with pytest.raises(GeniusFormatError, match=r"6\.\.12, the domain's 6\.\.1000000000"):
        genius.load_scenario(copy)


def test_number_utilities_span_the_declared_range(tmp_path: Path) -> None:
    data = _profile("profileA.json")
    body = data["LinearAdditiveUtilitySpace"]
    body["domain"]["issuesValues"]["rate"]["range"] = {"low": 0, "high": 0.21, "incr": 0.05}
    rate = body["issueUtilities"]["rate"]["NumberValueSetUtilities"]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    with pytest.raises(GeniusFormatError, match=r"not the range 0\.\.0\.21"):
        geniusweb.load_profile(path)  # highValue 0.2 is the last point, not the range's high
    rate["highValue"] = 0.21
    path.write_text(json.dumps(data))
    profile = geniusweb.load_profile(path)
    assert profile.space.issue("rate") == DiscreteIssue("rate", ("0", "0.05", "0.1", "0.15", "0.2"))
    # 0.2 of a 0..0.21 range: utility 0.2 / 0.21 of the way from 0 to 1
    assert profile(("online", "100", 4, "0.2")) == pytest.approx(0.9 + 0.1 * 0.2 / 0.21)


def test_wide_integer_ranges_load_lazily_in_domains(tmp_path: Path) -> None:
    domain = json.loads((FORMS / "geniusweb_numbers" / "workshop.json").read_text())
    domain["issuesValues"]["hours"]["range"] = {"low": 0, "high": 10**12, "incr": 1}
    path = tmp_path / "d.json"
    path.write_text(json.dumps(domain))
    assert geniusweb.load_domain(path).issue("hours") == IntegerIssue("hours", 0, 10**12)
    data = _profile("profileA.json")
    body = data["LinearAdditiveUtilitySpace"]
    body["domain"] = domain
    body["issueUtilities"]["hours"]["NumberValueSetUtilities"].update(lowValue=0, highValue=10**12)
    path.write_text(json.dumps(data))
    with pytest.raises(GeniusFormatError, match="above 100000"):
        geniusweb.load_profile(path)  # tabulating a trillion utilities is refused, not tried


def test_integral_float_in_a_reservation_bid_is_the_integer(tmp_path: Path) -> None:
    data = _profile("profileA.json")
    data["LinearAdditiveUtilitySpace"]["reservationBid"]["issuevalues"]["hours"] = 2.0
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    expected = geniusweb.load_profile(FORMS / "geniusweb_numbers" / "profileA.json")
    assert geniusweb.load_profile(path).reservation_value == pytest.approx(
        expected.reservation_value
    )
