"""The terminal chart of a value profile."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_dan.cli.chart import MAX_WIDTH, MIN_WIDTH, profile_chart
from edge_dan.errors import EdgeDanError
from edge_dan.values import ORIGINAL_VALUES, ValueProfile

ANSI = re.compile(r"\x1b\[[0-9;]*m")
BLOCKS = "█▏▎▍▌▋▊▉"

profiles = st.lists(st.floats(0.0, 1.0), min_size=10, max_size=10).map(
    lambda ws: ValueProfile(dict(zip(ORIGINAL_VALUES, ws, strict=True)))
)


def visible(text: str) -> list[str]:
    return ANSI.sub("", text).split("\n")


def bar_of(line: str, edge: str = "│") -> str:
    return line.split(edge)[1]


def test_one_line_per_value_in_order_with_weights() -> None:
    p = ValueProfile.neutral().edit({"benevolence": 0.875, "power": 0.125})
    lines = profile_chart(p, legend=False).split("\n")
    assert len(lines) == 10
    for line, value in zip(lines, ORIGINAL_VALUES, strict=True):
        assert line.startswith(value + " ")
        assert line.endswith(f" {p.weight(value):.2f}")
    legend = profile_chart(p).split("\n")
    assert len(legend) == 11
    assert "your average" in legend[-1]


def test_bar_length_is_proportional() -> None:
    p = ValueProfile.neutral().edit({"universalism": 1.0, "hedonism": 0.0, "power": 0.25})
    lines = dict(zip(ORIGINAL_VALUES, profile_chart(p, width=20).split("\n"), strict=False))
    assert bar_of(lines["universalism"]) == "█" * 20
    assert not any(c in BLOCKS for c in bar_of(lines["hedonism"]))
    assert bar_of(lines["power"]).count("█") == 5


def test_eighth_blocks_give_sub_cell_resolution() -> None:
    # 10 cells * 0.0375 = 0.375 of a cell = 3 eighths.
    p = ValueProfile.neutral().edit({"power": 0.0375, "security": 0.15})  # 1.5 cells
    lines = dict(zip(ORIGINAL_VALUES, profile_chart(p, width=10).split("\n"), strict=False))
    assert bar_of(lines["power"]).startswith("▍")
    assert bar_of(lines["security"]).startswith("█▌")


def test_average_mark_sits_at_one_half() -> None:
    p = ValueProfile.neutral().edit({"hedonism": 0.0, "universalism": 1.0})
    lines = dict(zip(ORIGINAL_VALUES, profile_chart(p, width=20).split("\n"), strict=False))
    assert bar_of(lines["hedonism"]).index("┊") == 10
    assert bar_of(lines["stimulation"]) == "█" * 10 + "┊" + " " * 9
    assert "┊" not in lines["universalism"]  # a bar past the middle hides the mark


def test_ascii_fallback() -> None:
    p = ValueProfile.neutral().edit({"universalism": 1.0, "power": 0.3})
    text = profile_chart(p, width=10, ascii=True)
    text.encode("ascii")  # raises if anything else slipped in
    lines = text.split("\n")
    assert bar_of(lines[ORIGINAL_VALUES.index("universalism")], "|") == "#" * 10
    assert bar_of(lines[ORIGINAL_VALUES.index("power")], "|") == "###  :    "


def test_color_is_opt_in() -> None:
    p = ValueProfile.neutral().edit({"universalism": 0.9, "power": 0.1})
    plain = profile_chart(p)
    colored = profile_chart(p, color=True)
    assert "\x1b" not in plain
    assert "\x1b[32m" in colored  # above average
    assert "\x1b[33m" in colored  # below average
    assert ANSI.sub("", colored) == plain


@pytest.mark.parametrize("width", [MIN_WIDTH - 1, 0, -5, MAX_WIDTH + 1, 10.0, True, "30"])
def test_bad_width(width: object) -> None:
    with pytest.raises(EdgeDanError, match="width"):
        profile_chart(ValueProfile.neutral(), width=width)  # type: ignore[arg-type]


@given(
    profiles,
    st.integers(MIN_WIDTH, MAX_WIDTH),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_chart_is_a_clean_rectangle(
    p: ValueProfile, width: int, ascii: bool, color: bool, legend: bool
) -> None:
    text = profile_chart(p, width=width, ascii=ascii, color=color, legend=legend)
    lines = visible(text)
    assert len(lines) == 10 + legend
    assert len({len(line) for line in lines}) == 1
    if ascii:
        text.encode("ascii")
    for line, value in zip(lines, ORIGINAL_VALUES, strict=False):
        assert line.endswith(f"{p.weight(value):.2f}")
