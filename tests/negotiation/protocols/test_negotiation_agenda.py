"""The agenda: outcome spaces to the wire and back, strictly (an agenda comes from a peer)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from edge_dan.negotiation.domain.outcomes import (
    DiscreteIssue,
    IntegerIssue,
    OutcomeSpace,
    TextIssue,
)
from edge_dan.negotiation.protocols.agenda import BadAgenda, agenda_for, space_of
from edge_dan.wire.messages import decode, encode
from edge_dan.wire.messages.agenda import Agenda

SPACE = OutcomeSpace(
    [
        TextIssue("activity", ("Visit grandma", "Picnic in the park")),
        DiscreteIssue("budget", ("0", "20", "50")),
        IntegerIssue("setpoint", -5, 240),
    ]
)
NID = bytes(range(16))


def test_a_space_survives_the_wire() -> None:
    agenda = agenda_for(NID, "Saturday", SPACE, group=bytes(16))
    again = decode(encode(agenda))
    assert again == agenda and isinstance(again, Agenda)
    space = space_of(again)
    assert space.issues == SPACE.issues and space.name == "Saturday"
    assert isinstance(space.issues[0], TextIssue) and isinstance(space.issues[1], DiscreteIssue)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"issue_kinds": (1, 0)}, "each issue once"),
        ({"issue_kinds": (1, 0, 7)}, "unknown kind"),
        ({"issue_values": (("a",), ("0",), ("1",))}, "two decimal bounds"),
        ({"issue_values": (("a",), ("0",), ("9", "x1"))}, "two decimal bounds"),
        ({"issue_values": (("a",), ("0",), ("9", "1"))}, "usable outcome space"),  # low > high
        ({"issue_values": (("a", "a"), ("0",), ("1", "2"))}, "usable outcome space"),
        ({"issue_names": ("x", "x", "y")}, "usable outcome space"),
        ({"issue_values": (("a",), ("0",), ("0", "999999999"))}, "usable outcome space"),
        ({"issue_names": (), "issue_kinds": (), "issue_values": ()}, "each issue once"),
    ],
)
def test_a_bad_agenda_is_refused_with_a_reason(change: dict[str, object], why: str) -> None:
    good = agenda_for(NID, "Saturday", SPACE)
    with pytest.raises(BadAgenda, match=why):
        space_of(replace(good, **change))  # type: ignore[arg-type]


def test_a_group_id_must_be_16_bytes() -> None:
    with pytest.raises(BadAgenda, match="16 bytes"):
        agenda_for(NID, "Saturday", SPACE, group=b"short")
