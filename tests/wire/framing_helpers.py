"""Shared helper of the framing tests (a plain module, imported by the test files)."""

from __future__ import annotations

import itertools
from typing import Protocol


class Deframer(Protocol):
    def feed(self, data: bytes) -> list[bytes]: ...


def feed_in_pieces(deframer: Deframer, data: bytes, cuts: list[int]) -> list[bytes]:
    """Every frame ``deframer`` returns while ``data`` arrives cut at ``cuts`` (each taken modulo
    the length of ``data``), piece by piece in order."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    pieces = [data[a:b] for a, b in itertools.pairwise(points)]
    return [frame for piece in pieces for frame in deframer.feed(piece)]
