"""GENIUS XML loader: every vendored domain and profile, and strictness on bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import DOMAINS

from edge_dan.negotiation import DiscreteIssue, GeniusFormatError, IntegerIssue, NegotiationError
from edge_dan.negotiation.domain.analysis import Analysis
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility
from edge_dan.negotiation.formats.genius import load_domain, load_profile, load_scenario

# (issues, outcomes, profiles) of each vendored domain (tests/data/negotiation/PROVENANCE.md).
EXPECTED = {
    "anac_y2010_EnglandZimbabwe": (5, 576, 2),
    "anac_y2010_ItexvsCypress": (4, 180, 2),
    "anac_y2010_Travel": (7, 188160, 2),
    "anac_y2011_Amsterdam": (6, 3024, 2),
    "anac_y2011_Camera": (6, 3600, 2),
    "anac_y2011_Car": (6, 15625, 2),
    "anac_y2011_Energy": (8, 390625, 2),
    "anac_y2011_Grocery": (5, 1600, 2),
    "anac_y2011_Laptop": (3, 27, 2),
    "anac_y2012_BarbecueA": (5, 1440, 2),
    "anac_y2012_FiftyFiftyA": (1, 11, 2),
    "anac_y2015_group1-university": (5, 2250, 9),
    "anac_y2015_group2-dinner": (5, 1200, 3),
    "genius_partydomain": (6, 3072, 33),
    "other_laptopdomain": (3, 27, 3),
    "other_pie": (1, 1001, 2),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_vendored_scenario_loads(name: str) -> None:
    scenario = load_scenario(DOMAINS / name)
    assert scenario.profiles, name
    assert (
        len(scenario.space.issues),
        scenario.space.cardinality,
        len(scenario.profiles),
    ) == EXPECTED[name]
    for profile in scenario.profiles.values():
        utility = profile.utility
        assert isinstance(utility, LinearAdditiveUtility)
        assert float(utility.weights.sum()) == pytest.approx(1.0, abs=1e-12)
        assert (utility.weights >= 0).all()
        values = profile.utilities()
        assert values.shape == (scenario.space.cardinality,)
        assert values.min() >= 0.0 and values.max() <= 1.0 + 1e-12
        best = utility.best_outcome()
        assert utility(best) == pytest.approx(1.0)
        assert values.max() == pytest.approx(1.0)
        assert 0.0 <= profile.reservation_value <= 1.0
        assert profile.discount_factor is None or 0 < profile.discount_factor <= 1


def test_all_vendored_files_are_covered() -> None:
    assert DOMAINS.is_dir(), f"the vendored GENIUS domains are missing at {DOMAINS}"
    assert {p.name for p in DOMAINS.iterdir() if p.is_dir()} == set(EXPECTED)
    loaded = sum(profiles + 1 for _, _, profiles in EXPECTED.values())
    assert loaded == len(list(DOMAINS.glob("*/*.xml")))


def test_known_values_from_files() -> None:
    barbecue = load_scenario(DOMAINS / "anac_y2012_BarbecueA")
    profile = barbecue.profiles["Barbecue-A-prof1.xml"]
    assert profile.reservation_value == 0.25  # read on the 0-1 scale, not the 0-100 one
    assert profile.discount_factor == 0.5
    fifty = load_profile(DOMAINS / "anac_y2012_FiftyFiftyA" / "FiftyFifty-A-prof1.xml")
    assert fifty(("50_50",)) == pytest.approx(0.5)
    assert fifty(("100_0",)) == pytest.approx(1.0)
    laptop = load_scenario(DOMAINS / "other_laptopdomain")
    buyer = laptop.profiles["laptop_buyer_utility.xml"].utility
    assert isinstance(buyer, LinearAdditiveUtility)
    # raw weights sum to 1.0001 in this file; normalised here
    assert float(buyer.weights.sum()) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    ("name", "nash", "utilities"),
    [
        ("anac_y2011_Laptop", ("HP", "60 Gb", "19'' LCD"), (1.0, 0.8151)),
        ("other_pie", ("a500",), (0.5, 0.5)),
        ("anac_y2011_Grocery", ("Baguette", "Pears", "Doughnuts", "Jam", "Spinach"), (0.84, 0.895)),
    ],
)
def test_bilateral_nash_points(
    name: str, nash: tuple[str, ...], utilities: tuple[float, ...]
) -> None:
    scenario = load_scenario(DOMAINS / name)
    profiles = list(scenario.profiles.values())[:2]
    analysis = Analysis.of(
        scenario.space, [p.utility for p in profiles], [p.reservation_value for p in profiles]
    )
    assert analysis.nash_index is not None
    assert scenario.space.outcome_at(analysis.nash_index) == nash
    assert analysis.utilities[analysis.nash_index] == pytest.approx(utilities, abs=1e-4)
    assert analysis.np_ratio(analysis.nash_index) == pytest.approx(1.0)
    assert analysis.nash_index in set(analysis.frontier.tolist())


# ---------------------------------------------------------------- hand-made files

DOMAIN = """<negotiation_template>
<utility_space number_of_issues="2">
<objective index="0" name="root" type="objective" etype="objective">
<issue index="1" name="Colour" type="discrete" etype="discrete" vtype="discrete">
<item index="1" value="red"/><item index="2" value="blue"/>
</issue>
<issue index="2" name="Size" type="discrete" etype="discrete" vtype="discrete">
<item index="1" value="S"/><item index="2" value="M"/><item index="3" value="L"/>
</issue>
</objective>
</utility_space>
</negotiation_template>
"""

PROFILE = """<utility_space>
<objective index="0" name="root" type="objective" etype="objective">
<issue index="2" name="Size" type="discrete" etype="discrete" vtype="discrete">
<item index="1" value="S" evaluation="1"/><item index="2" value="M" evaluation="3"/>
<item index="3" value="L" evaluation="4"/>
</issue>
<issue index="1" name="Colour" type="discrete" etype="discrete" vtype="discrete">
<item index="1" value="red" evaluation="50"/><item index="2" value="blue" evaluation="100"/>
</issue>
<weight index="1" value="3"/>
<weight index="2" value="1"/>
</objective>
<reservation value="0.5"/>
<discount_factor value="0.9"/>
</utility_space>
"""


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def test_hand_made_domain_and_profile(tmp_path: Path) -> None:
    domain = write(tmp_path, "shirt_domain.xml", DOMAIN)
    profile_path = write(tmp_path, "shirt_a.xml", PROFILE)
    space = load_domain(domain)
    assert space.issue_names == ("Colour", "Size")
    assert space.issues[0] == DiscreteIssue("Colour", ("red", "blue"))
    profile = load_profile(profile_path, space)
    assert profile.reservation_value == 0.5 and profile.discount_factor == 0.9
    assert profile.name == "shirt_a"
    # weights 3:1 -> 0.75/0.25; colour evals /100, size evals /4
    assert profile(("blue", "L")) == pytest.approx(1.0)
    assert profile(("red", "S")) == pytest.approx(0.75 * 0.5 + 0.25 * 0.25)
    assert not profile.acceptable(("red", "S"))
    assert profile.acceptable(("red", "L"))
    scenario = load_scenario(tmp_path)
    assert scenario.domain_path == domain and list(scenario.profiles) == ["shirt_a.xml"]
    assert np.allclose(scenario.profiles["shirt_a.xml"].utilities(), profile.utilities())


def test_integer_issues_load_in_domains(tmp_path: Path) -> None:
    text = DOMAIN.replace(
        '<issue index="2" name="Size" type="discrete" etype="discrete" vtype="discrete">\n'
        '<item index="1" value="S"/><item index="2" value="M"/><item index="3" value="L"/>\n'
        "</issue>",
        '<issue index="2" name="Count" type="integer" etype="integer" vtype="integer" '
        'lowerbound="2" upperbound="5"/>',
    )
    space = load_domain(write(tmp_path, "d.xml", text))
    assert space.issues[1] == IntegerIssue("Count", 2, 5)
    assert space.cardinality == 8


BAD_CASES: dict[str, tuple[str | bytes, str]] = {
    "malformed": (PROFILE.replace("</objective>", ""), "malformed XML"),
    "doctype": ('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n' + PROFILE, "DOCTYPE"),
    "entity": ("<!ENTITY lol 'lol'>" + PROFILE, "ENTITY"),
    "missing issue": (
        PROFILE.replace(
            PROFILE[PROFILE.index('<issue index="1"') : PROFILE.index("<weight")], ""
        ).replace('<weight index="1" value="3"/>', ""),
        "missing ['Colour']",
    ),
    "unknown value": (PROFILE.replace('value="blue"', 'value="green"'), "not in the domain"),
    "missing value": (
        PROFILE.replace('<item index="2" value="blue" evaluation="100"/>', ""),
        "have no evaluation",
    ),
    "weight not numeric": (PROFILE.replace('value="3"/>', 'value="heavy"/>'), "not a number"),
    "weight missing": (PROFILE.replace('<weight index="2" value="1"/>', ""), "no <weight>"),
    "weight index unknown": (PROFILE.replace('<weight index="2"', '<weight index="7"'), "names no"),
    "negative weight": (PROFILE.replace('value="3"/>', 'value="-3"/>'), "negative"),
    "evaluation not numeric": (
        PROFILE.replace('evaluation="50"', 'evaluation="lots"'),
        "not a number",
    ),
    "negative evaluation": (PROFILE.replace('evaluation="50"', 'evaluation="-5"'), "negative"),
    "reservation on wrong scale": (PROFILE.replace('"0.5"', '"50"'), "0-1 scale"),
    "bad discount": (PROFILE.replace('"0.9"', '"1.5"'), "discount factor"),
    "negative discount": (PROFILE.replace('"0.9"', '"-0.1"'), "discount factor"),
    "wrong root": ("<profile/>", "root element"),
    "real issue": (
        PROFILE.replace('name="Size" type="discrete"', 'name="Size" type="real"'),
        "real",
    ),
    "duplicate value": (PROFILE.replace('value="M"', 'value="S"'), "twice"),
    "utf16": (PROFILE.encode("utf-16"), "wide encoding"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_profiles_name_the_file(tmp_path: Path, case: str) -> None:
    space = load_domain(write(tmp_path, "shirt_domain.xml", DOMAIN))
    text, message = BAD_CASES[case]
    path = write(tmp_path, "broken_profile.xml", text)
    with pytest.raises(GeniusFormatError) as caught:
        load_profile(path, space)
    assert isinstance(caught.value, NegotiationError)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_bad_domains_and_folders(tmp_path: Path) -> None:
    missing = tmp_path / "nope.xml"
    with pytest.raises(GeniusFormatError, match="cannot read"):
        load_domain(missing)
    no_issues = write(tmp_path, "empty.xml", "<utility_space><objective/></utility_space>")
    with pytest.raises(GeniusFormatError, match="no <issue>"):
        load_domain(no_issues)
    no_objective = write(
        tmp_path, "noobj.xml", "<negotiation_template><utility_space/></negotiation_template>"
    )
    with pytest.raises(GeniusFormatError, match="one <objective>"):
        load_domain(no_objective)
    folder = tmp_path / "two_domains"
    folder.mkdir()
    write(folder, "a.xml", DOMAIN)
    write(folder, "b.xml", DOMAIN)
    with pytest.raises(GeniusFormatError, match="expected one domain file") as caught:
        load_scenario(folder)
    assert str(folder) in str(caught.value)
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    with pytest.raises(GeniusFormatError, match=r"no \.xml files"):
        load_scenario(empty)


def test_billion_laughs_is_refused_before_parsing(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        "<utility_space>&lol2;</utility_space>"
    )
    with pytest.raises(GeniusFormatError, match="DTDs and entities are not allowed"):
        load_domain(write(tmp_path, "bomb.xml", bomb))
    lower = write(tmp_path, "lower.xml", "<!doctype utility_space>" + PROFILE)
    with pytest.raises(GeniusFormatError, match="DOCTYPE"):
        load_domain(lower)


@pytest.mark.parametrize("encoding", ["utf-7", "UTF-7", "cp037", "shift_jis", "no-such-codec"])
def test_unsupported_declared_encoding_is_a_format_error(tmp_path: Path, encoding: str) -> None:
    # Issue #14 defect 11: encoding="utf-7" raised a bare ValueError from the parser. UTF-7
    # (and EBCDIC) could also spell "<!DOCTYPE" in bytes the DTD check does not look for.
    text = f'<?xml version="1.0" encoding="{encoding}"?>\n' + DOMAIN
    path = write(tmp_path, "odd.xml", text.encode("ascii"))
    with pytest.raises(GeniusFormatError, match="encoding") as caught:
        load_domain(path)
    assert str(caught.value).startswith(str(path))


@pytest.mark.parametrize("encoding", ["UTF-8", "us-ascii", "ISO-8859-1", "windows-1252"])
def test_ascii_compatible_declared_encodings_load(tmp_path: Path, encoding: str) -> None:
    text = f'<?xml version="1.0" encoding="{encoding}"?>\n' + DOMAIN
    path = write(tmp_path, "fine.xml", text.encode("ascii"))
    assert load_domain(path).issue_names == ("Colour", "Size")
