"""Numbers on the command line: a bad one is a usage error (exit 2) on one line, never exit 70.

Python's int() and float() read "1_0", "٣" (Arabic-Indic) and "３" (full-width) as numbers, float()
reads "nan" and "inf", and SQLite cannot bind an int above 2**63 - 1: each of these once reached a
command, or crashed it with an internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math

import pytest
from conftest import Cli
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_dan.cli.main import build_parser

FAST = ("--unlock-time", "0.05")
HUGE = "99999999999999999999"
# Whole numbers a person does not mean, each refused by every option that takes a count.
BAD_COUNTS = (HUGE, "-5", "٣", "３", "1_0", "", " ")


def _parser_actions() -> list[tuple[tuple[str, ...], argparse.Action]]:
    """(command words, action) for every option and argument of every command."""
    found: list[tuple[tuple[str, ...], argparse.Action]] = []

    def walk(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, (*words, name))
            else:
                found.append((words, action))

    walk(build_parser(), ())
    return found


# Every option whose value argparse converts (it has a type): found by walking the parser, so an
# option added later is covered without being listed here.
TYPED = {
    (words, action.option_strings[0]): action
    for words, action in _parser_actions()
    if action.type is not None and action.option_strings
}
NUMERIC = sorted(TYPED)
# Options whose range starts at 0 itself: a share of the owner's best (0: the reservation rules).
FROM_ZERO = {(("run",), "--min-utility")}
# Options that take a number as text and check it in the command (before any passphrase).
NUMBER_TEXT: list[tuple[tuple[str, ...], str]] = [
    (("feedback",), "--undo"),
    (("contest",), "--withdraw"),
]


def test_the_walk_finds_the_number_options() -> None:
    names = {option for _, option in NUMERIC}
    assert {"--limit", "--top", "--rounds", "--time", "--unlock-time"} <= names


@pytest.fixture
def ready(cli: Cli) -> Cli:
    assert cli("init", *FAST).code == 0
    return cli


def _refused(result_code: int, err: str, option: str) -> None:
    assert result_code == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert option in err, err
    assert err.startswith("edge-dan: error: ") and err.count("\n") == 1, err


@pytest.mark.parametrize("value", BAD_COUNTS)
def test_history_limit_out_of_range_is_a_usage_error(cli: Cli, value: str) -> None:
    # No store is needed: the number is refused first (a store would answer "no store", exit 1).
    result = cli("profile", "history", "--limit", value)
    _refused(result.code, result.err, "--limit")


def test_history_limit_largest_sqlite_integer_works(ready: Cli) -> None:
    result = ready("profile", "history", "--json", "--limit", str(2**63 - 1))
    assert result.code == 0, result.err
    assert len(json.loads(result.out)["history"]) == 1


@pytest.mark.parametrize(
    ("words", "option"),
    NUMERIC + NUMBER_TEXT,
    ids=[" ".join((*w, o)) for w, o in NUMERIC + NUMBER_TEXT],
)
@pytest.mark.parametrize("value", [HUGE, "٣"])
def test_every_number_option_refuses_huge_and_non_ascii_values(
    cli: Cli, words: tuple[str, ...], option: str, value: str
) -> None:
    # Without a store: a number that got through would reach "no store" (exit 1), not exit 2.
    result = cli(*words, f"{option}={value}")
    _refused(result.code, result.err, option)


def test_profile_set_refuses_what_is_not_a_plain_decimal(ready: Cli) -> None:
    before = ready("profile", "history", "--json").out
    for weight in ("0_5", "٠.٥", "０.５", "nan", "inf", "-inf", "1e-1", "0x1"):
        result = ready("profile", "set", f"power={weight}")
        assert result.code == 2, (weight, result.err)
        assert "not a number between 0 and 1" in result.err
    assert ready("profile", "history", "--json").out == before


def test_profile_set_takes_plain_decimals(ready: Cli) -> None:
    result = ready("profile", "set", "power=0.25", "hedonism=.75", "security=1", "tradition=0")
    assert result.code == 0, result.err
    weights = json.loads(ready("profile", "show", "--json").out)["weights"]
    assert weights["power"] == pytest.approx(0.25) and weights["hedonism"] == pytest.approx(0.75)
    assert weights["security"] == pytest.approx(1) and weights["tradition"] == pytest.approx(0)


# Text that looks numeric in many ways: ASCII and other scripts' digits, separators, signs,
# exponents, the words float() knows, and integers of any size.
_NUMBERISH = st.one_of(
    st.text(alphabet="0123456789٠١٢٣٤٥٦٧٨٩０１２３_.+-eEnaifINF x", max_size=25),
    st.integers().map(str),
    st.floats().map(str),
)


@settings(max_examples=300, deadline=None)
@given(choice=st.sampled_from(NUMERIC), text=_NUMBERISH)
def test_number_options_give_a_finite_number_in_range_or_exit_2(
    choice: tuple[tuple[str, ...], str], text: str
) -> None:
    """The property behind the cases above, over the parser alone (no command runs)."""
    words, option = choice
    convert = TYPED[choice].type
    assert callable(convert)
    err = io.StringIO()
    try:
        value = convert(text)
    except (argparse.ArgumentTypeError, ValueError, TypeError):
        # The real parser turns this into one usage line and exit 2.
        with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exited:
            build_parser().parse_args([*words, f"{option}={text}"])
        assert exited.value.code == 2
        return
    assert text.strip("+").isascii() and "_" not in text
    assert isinstance(value, int | float) and math.isfinite(value)
    assert value >= 0 if choice in FROM_ZERO else value > 0
    assert value <= 2**63 - 1
