"""Handshake patterns (spec section 7) and the psk modifier (section 9), parsed from a small table.

Table lines read as in the spec: ``NAME: pre-messages ... messages``, arrows ``->`` (initiator to
responder) and ``<-``, messages separated by ``;``. Having the table as text keeps it easy to check
against the spec by eye; every entry is also checked byte for byte by the test vectors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edge_dan.wire.errors import UnsupportedProtocol

_TABLE = """
N:    <- s ... -> e, es
K:    -> s; <- s ... -> e, es, ss
X:    <- s ... -> e, es, s, ss
NN:   -> e; <- e, ee
NK:   <- s ... -> e, es; <- e, ee
NX:   -> e; <- e, ee, s, es
KN:   -> s ... -> e; <- e, ee, se
KK:   -> s; <- s ... -> e, es, ss; <- e, ee, se
KX:   -> s ... -> e; <- e, ee, se, s, es
XN:   -> e; <- e, ee; -> s, se
XK:   <- s ... -> e, es; <- e, ee; -> s, se
XX:   -> e; <- e, ee, s, es; -> s, se
IN:   -> e, s; <- e, ee, se
IK:   <- s ... -> e, es, s, ss; <- e, ee, se
IX:   -> e, s; <- e, ee, se, s, es
NK1:  <- s ... -> e; <- e, ee, es
NX1:  -> e; <- e, ee, s; -> es
X1N:  -> e; <- e, ee; -> s; <- se
X1K:  <- s ... -> e, es; <- e, ee; -> s; <- se
XK1:  <- s ... -> e; <- e, ee, es; -> s, se
X1K1: <- s ... -> e; <- e, ee, es; -> s; <- se
X1X:  -> e; <- e, ee, s, es; -> s; <- se
XX1:  -> e; <- e, ee, s; -> es, s, se
X1X1: -> e; <- e, ee, s; -> es, s; <- se
K1N:  -> s ... -> e; <- e, ee; -> se
K1K:  -> s; <- s ... -> e, es; <- e, ee; -> se
KK1:  -> s; <- s ... -> e; <- e, ee, se, es
K1K1: -> s; <- s ... -> e; <- e, ee, es; -> se
K1X:  -> s ... -> e; <- e, ee, s, es; -> se
KX1:  -> s ... -> e; <- e, ee, se, s; -> es
K1X1: -> s ... -> e; <- e, ee, s; -> se, es
I1N:  -> e, s; <- e, ee; -> se
I1K:  <- s ... -> e, es, s; <- e, ee; -> se
IK1:  <- s ... -> e, s; <- e, ee, se, es
I1K1: <- s ... -> e, s; <- e, ee, es; -> se
I1X:  -> e, s; <- e, ee, s, es; -> se
IX1:  -> e, s; <- e, ee, se, s; -> es
I1X1: -> e, s; <- e, ee, s; -> se, es
"""

_TOKENS = frozenset({"e", "s", "ee", "es", "se", "ss", "psk"})
_NAME = re.compile(r"([A-Z0-9]+)(.*)")
# ASCII digits without leading zeros: one spelling per modifier, as the protocol name is hashed.
_PSK = re.compile(r"psk(0|[1-9][0-9]*)")


@dataclass(frozen=True)
class Pattern:
    """A handshake pattern; message ``i`` is sent by the initiator when ``i`` is even."""

    name: str
    initiator_premessage: tuple[str, ...]
    responder_premessage: tuple[str, ...]
    messages: tuple[tuple[str, ...], ...]

    @property
    def one_way(self) -> bool:
        return len(self.messages) == 1

    @property
    def psk_count(self) -> int:
        return sum(message.count("psk") for message in self.messages)

    def sent_by(self, initiator: bool) -> tuple[tuple[str, ...], ...]:
        first = 0 if initiator else 1
        return self.messages[first::2]


def _parse_line(line: str) -> Pattern:
    name, _, body = (part.strip() for part in line.partition(":"))
    pre, _, main = body.rpartition("...")
    premessages: dict[str, tuple[str, ...]] = {"->": (), "<-": ()}
    for item in filter(None, (piece.strip() for piece in pre.split(";"))):
        premessages[item[:2]] = tuple(token.strip() for token in item[2:].split(","))
    messages = []
    for index, item in enumerate(piece.strip() for piece in main.split(";")):
        # Messages alternate, initiator first: the table must say so, not just imply it.
        assert item[:2] == ("->" if index % 2 == 0 else "<-"), (
            f"{name}: message {index} out of turn"
        )
        tokens = tuple(token.strip() for token in item[2:].split(","))
        assert _TOKENS.issuperset(tokens), f"{name}: unknown token in {tokens}"
        messages.append(tokens)
    return Pattern(name, premessages["->"], premessages["<-"], tuple(messages))


BASE_PATTERNS: dict[str, Pattern] = {
    pattern.name: pattern for pattern in map(_parse_line, filter(None, _TABLE.splitlines()))
}


def _with_psks(base: Pattern, modifiers: str) -> Pattern:
    positions: list[int] = []
    for modifier in modifiers.split("+"):
        match = _PSK.fullmatch(modifier)
        if match is None:
            raise UnsupportedProtocol(
                f"pattern modifier {modifier!r} is not supported (only psk0, psk1, ... are)"
            )
        positions.append(int(match.group(1)))
    if len(set(positions)) != len(positions):
        raise UnsupportedProtocol(f"pattern {base.name}{modifiers} repeats a psk modifier")
    messages = [list(message) for message in base.messages]
    for position in positions:
        if position > len(messages):
            raise UnsupportedProtocol(
                f"psk{position} needs a message {position} but {base.name} has {len(messages)}"
            )
        # psk0 opens the first message; pskN (N >= 1) closes message N (spec: "Pattern modifiers").
        if position == 0:
            messages[0].insert(0, "psk")
        else:
            messages[position - 1].append("psk")
    return Pattern(
        base.name + modifiers,
        base.initiator_premessage,
        base.responder_premessage,
        tuple(tuple(message) for message in messages),
    )


def pattern_from_name(name: str) -> Pattern:
    """``XX`` or ``XXpsk0+psk2`` -> Pattern; anything unknown raises ``UnsupportedProtocol``."""
    match = _NAME.fullmatch(name)
    base = BASE_PATTERNS.get(match.group(1)) if match else None
    if match is None or base is None:
        known = ", ".join(BASE_PATTERNS)
        raise UnsupportedProtocol(f"handshake pattern {name!r} is not supported (known: {known})")
    return _with_psks(base, match.group(2)) if match.group(2) else base
