"""What every run of ``edge-dan demo`` must show, checked on its ``--json`` object and report:
shared by the CLI tests and the quick-start test."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

FETCHING = {"script": ("src",), "link": ("href",), "img": ("src", "srcset"), "iframe": ("src",)}


class _Page(HTMLParser):
    """Collects what a browser would fetch and the inline SVG elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fetches: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in FETCHING.get(tag, ()) and value:
                self.fetches.append(value)
            if name == "style" and value and "url(" in value:
                self.fetches.append(value)


def check_run(data: dict[str, Any], agents: int) -> None:
    """Agreement, verified accords, the harmful option refused by all and never agreed, red
    lines respected, everyone at or above their reservation."""
    names = [o["name"] for o in data["owners"]]
    assert len(names) == agents == len(set(names))
    assert len(data["pairings"]) == agents - 1
    for pairing in data["pairings"]:
        codes = set(pairing["codes"].values())
        assert len(codes) == 1 and len(codes.pop()) == 6  # both owners saw the same six digits
    everyday, saturday = data["decisions"]
    assert everyday["kind"] == "everyday" and saturday["kind"] == "multi-issue"
    assert everyday["refused"], "the everyday decision holds a harmful option"
    for decision in data["decisions"]:
        assert decision["agreement"] is True, decision["failure"]
        accord = decision["accord"]
        assert accord["verified"] is True
        assert [s["name"] for s in accord["signatures"]] == names
        assert all(s["valid"] for s in accord["signatures"])
        assert sorted(accord["stored_by"]) == sorted(names)
        for refusal in decision["refused"]:
            assert sorted(refusal["refused_by"]) == sorted(names)
            assert refusal["option"] not in accord["terms"].values()
        for outcome in decision["outcomes"]:
            assert outcome["acceptable"] is True
            assert outcome["utility"] >= outcome["reservation"] - 1e-9, outcome
        for line in decision["red_lines"]:
            assert line["respected"] is True
            assert accord["terms"][line["issue"]] != line["value"]
    assert saturday["red_lines"], "the multi-issue decision runs under red lines"
    assert set(saturday["accord"]["terms"]) == {"activity", "budget", "start"}


def check_report(path: Path, data: dict[str, Any]) -> str:
    """The report exists, parses, fetches nothing, names every owner and accord, and its SVG
    charts are well-formed XML; returns the page."""
    page = path.read_text(encoding="utf-8")
    parser = _Page()
    parser.feed(page)
    parser.close()
    assert parser.fetches == []
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    for owner in data["owners"]:
        assert owner["name"] in page
    for decision in data["decisions"]:
        assert decision["accord"]["id"] in page
    svgs = [page[start : page.index("</svg>", start) + 6] for start in _starts(page, "<svg")]
    # The owners' value charts, and per decision a trace and an outcome chart.
    assert len(svgs) == len(data["owners"]) + 2 * len(data["decisions"])
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert len(root) > 0
    return page


def _starts(text: str, needle: str) -> list[int]:
    found, at = [], text.find(needle)
    while at != -1:
        found.append(at)
        at = text.find(needle, at + 1)
    return found
