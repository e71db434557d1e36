"""The agenda of a negotiation (type ids 600..609): what is being decided, before any offer.

A participant needs the outcome space to judge it with its own private utility, and the mediator's
``Invite`` carries only the space's digest. The agenda carries the issues in the clear: they are
the question, not anyone's answer (no utility, weight or profile ever travels). An issue is
``(name, kind, values)``: kind 0 a list of named values, 1 free-text options, 2 an integer
range, whose ``values`` are then the two bounds written as decimal text. ``group`` names the
group whose adopted norms bind this negotiation (empty: none); each party applies the norms it
holds for that group, and the ``Invite``'s norms digest proves they all hold the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from edge_dan.wire.messages.schema import U8, Bytes, List, Message, Text, Wire, register

MAX_ISSUES = 16
MAX_VALUES = 64
MAX_VALUE_LEN = 200
MAX_TITLE_LEN = 200
KIND_DISCRETE = 0
KIND_TEXT = 1
KIND_INTEGER = 2


@register
@dataclass(frozen=True)
class Agenda(Message):
    """Sent by the mediator to each party before its ``Invite``."""

    TYPE_ID: ClassVar[int] = 600
    negotiation_id: Annotated[bytes, Wire(0, Bytes(16, min_len=16))]
    title: Annotated[str, Wire(1, Text(MAX_TITLE_LEN))]
    issue_names: Annotated[tuple[str, ...], Wire(2, List(Text(64, min_len=1), MAX_ISSUES))]
    issue_kinds: Annotated[tuple[int, ...], Wire(3, List(U8, MAX_ISSUES))]
    issue_values: Annotated[
        tuple[tuple[str, ...], ...],
        Wire(4, List(List(Text(MAX_VALUE_LEN, min_len=1), MAX_VALUES), MAX_ISSUES)),
    ]
    group: Annotated[bytes, Wire(5, Bytes(16))] = b""
