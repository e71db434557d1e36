"""The pace of the mediated protocol: the schedule, the cap it announces, the message count."""

from __future__ import annotations

import pytest
from conftest import DOMAINS
from negotiation_runner import run
from test_negotiation_protocol import setup, two_profiles

from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.formats.genius import load_scenario
from edge_dan.negotiation.protocols.mediated.pace import PaceSchedule
from edge_dan.wire.messages import Message
from edge_dan.wire.messages.negotiation import (
    Answer,
    Bids,
    Concluded,
    Invite,
    OpenRound,
    Propose,
)


def test_default_schedule_opens_wider_and_looks_further_for_larger_groups() -> None:
    two = PaceSchedule.plan(40, 20, 2)
    eight = PaceSchedule.plan(40, 20, 8)
    assert two.per_round == eight.per_round == 2  # 40 levels over 20 rounds
    assert two.opening < eight.opening
    assert two.lookahead < eight.lookahead
    assert eight.most_per_round == max(eight.opening, eight.per_round, eight.lookahead)


def test_schedule_fits_the_levels_and_a_short_round_limit() -> None:
    short = PaceSchedule.plan(40, 4, 2)  # four rounds: ten levels a round
    assert short.per_round == 10
    assert short.opening <= 40 and short.most_per_round <= 40
    tiny = PaceSchedule.plan(3, 20, 8, lookahead=10, opening=10)
    assert (tiny.opening, tiny.lookahead) == (3, 3)
    with pytest.raises(NegotiationError):
        PaceSchedule.plan(0, 20, 2)


def _kinds(transcript: list[tuple[bytes, bytes, Message]]) -> list[type]:
    return [type(message) for _, _, message in transcript]


def test_bilateral_flow_has_no_join() -> None:
    a, b = two_profiles()
    ids, mediator, participants = setup([a, b])
    result = run(mediator, participants)
    assert result.accord_of(ids[1].public_key) == result.accord_of(ids[0].public_key) is not None
    kinds = _kinds(result.transcript)
    rounds = result.rounds
    # Invite and Bids open round 1; each later round is OpenRound + Bids; then the proposal.
    tail = [Propose, Answer, Concluded]
    assert kinds == [Invite, Bids] + [OpenRound, Bids] * (rounds - 1) + tail
    assert result.total_messages == 2 * rounds + 3


def test_every_round_asks_within_the_invitations_cap() -> None:
    scenario = load_scenario(DOMAINS / "genius_partydomain")
    profiles = list(scenario.profiles.values())[:4]
    ids, mediator, participants = setup(profiles)
    result = run(mediator, participants)
    assert result.accord_of(ids[0].public_key) is not None
    messages = [message for _, _, message in result.transcript]
    (invite, *_) = (m for m in messages if isinstance(m, Invite))
    asked = [invite.opening_levels] + [m.levels for m in messages if isinstance(m, OpenRound)]
    assert all(1 <= k <= invite.levels_per_round for k in asked)
    assert len(set(asked)) > 1  # opening, steady pace and look-ahead differ here
    assert sum(isinstance(m, Concluded) for m in messages) == len(profiles) - 1
    n = len(profiles)
    assert result.total_messages == (n - 1) * (2 * result.rounds + 3)
