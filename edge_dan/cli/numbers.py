"""Numbers typed on the command line: plain ASCII digits only, checked against their range.

Python's ``int`` and ``float`` accept more than a person means by a number: ``1_0``, Arabic-Indic
or full-width digits, ``nan``, ``inf``, and integers too large for SQLite. Each of those either
does something surprising or fails deep inside as an internal error, so options take numbers
through these parsers, which refuse them with a one-line usage error (argparse exits 2).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

# Digits are spelled [0-9] (not \\d, which matches every script's digits).
_WHOLE = re.compile(r"[0-9]+")  # after an optional sign
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_MAX_DIGITS = 30  # far beyond any range below; int() is never asked to read a huge string

LARGEST_ID = 2**63 - 1  # SQLite's largest INTEGER: row ids and LIMITs live below it


def whole(text: str, *, minimum: int, maximum: int) -> int:
    """``text`` as a whole number in [minimum, maximum]; ``ValueError`` saying why not."""
    digits = text[1:] if text[:1] in ("-", "+") else text
    if not _WHOLE.fullmatch(digits):
        raise ValueError(f"expected a whole number (digits 0-9), got {text!r}")
    value = (
        int(text) if len(digits) <= _MAX_DIGITS else (-1 if text[0] == "-" else 1) * 10**_MAX_DIGITS
    )
    if value < minimum:
        raise ValueError(f"expected a whole number, {minimum} or more, got {text}")
    if value > maximum:
        raise ValueError(f"{text} is too large (at most {maximum})")
    return value


def decimal(text: str) -> float:
    """``text`` as a plain decimal number (``0.8``, ``.5``, ``1``); ``ValueError`` otherwise."""
    if not _DECIMAL.fullmatch(text) or len(text) > _MAX_DIGITS:
        raise ValueError(f"expected a plain decimal number such as 0.8, got {text!r}")
    return float(text)


def whole_option(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse ``type`` for a whole number in [minimum, maximum]."""

    def parse(text: str) -> int:
        try:
            return whole(text, minimum=minimum, maximum=maximum)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def seconds_option(minimum_exclusive: float, maximum: float) -> Callable[[str], float]:
    """An argparse ``type`` for a duration in seconds, above ``minimum_exclusive``."""

    def parse(text: str) -> float:
        try:
            value = decimal(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        if not minimum_exclusive < value <= maximum:
            raise argparse.ArgumentTypeError(
                f"expected seconds above {minimum_exclusive:g} and at most {maximum:g}, got {text}"
            )
        return value

    return parse
