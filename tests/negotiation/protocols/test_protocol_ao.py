"""The stacked alternating-offers protocol, end to end over its in-process runner."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cbor2
import pytest
from conftest import DOMAINS, REPO
from negotiation_runner import run
from test_negotiation_protocol import (
    NID,
    nothing_acceptable_ends_without_agreement,
    red_line_and_reservations_hold,
    stalled_until_its_deadline_at_50,
)
from test_negotiation_protocol import two_profiles as opposed  # home late vs cafe early

from edge_dan.identity import Identity
from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.domain.utility import Profile
from edge_dan.negotiation.formats.genius import load_scenario
from edge_dan.negotiation.protocols.ao import AoInitiator, AoParty, AoResponder
from edge_dan.negotiation.protocols.core import ApprovalNeeded, Failed, Ignored, State
from edge_dan.negotiation.strategy import AlternatingOffers, LittleDan, Mode, Policy
from edge_dan.wire.core import Incoming, Outgoing
from edge_dan.wire.errors import MessageError
from edge_dan.wire.messages import Message, decode, encode
from edge_dan.wire.messages.negotiation import (
    Invite,
    Join,
    NegotiationProtocol,
    Withdraw,
    WithdrawCode,
)
from edge_dan.wire.messages.negotiation_ao import Accept, Offer
from edge_dan.wire.messages.pairing import PairConfirm

ID_HEX = "50" + NID.hex()


def setup(
    profiles: list[Profile],
    policies: list[Policy] | None = None,
    *,
    max_rounds: int = 20,
    deadline: float | None = None,
) -> tuple[list[Identity], AoInitiator, list[AoResponder]]:
    ids = [Identity.generate() for _ in profiles]
    policies = policies or [Policy()] * len(profiles)
    initiator = AoInitiator(
        ids[0],
        LittleDan(profiles[0], policy=policies[0]),
        [i.public_key for i in ids[1:]],
        negotiation_id=NID,
        max_rounds=max_rounds,
        deadline=deadline,
    )
    responders = [
        AoResponder(i, LittleDan(p, policy=pol))
        for i, p, pol in zip(ids[1:], profiles[1:], policies[1:], strict=True)
    ]
    return ids, initiator, responders


def moves(outs: list[Outgoing]) -> list[Message]:
    """The distinct messages of one broadcast (one per recipient, all equal)."""
    return list(dict.fromkeys(out.message for out in outs))


# -- agreement --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "n"),
    [("anac_y2011_Laptop", 2), ("other_pie", 2), ("genius_partydomain", 4)],
)
def test_shared_domain_agreement_binds_every_party_above_reservation(domain: str, n: int) -> None:
    scenario = load_scenario(DOMAINS / domain)
    profiles = list(scenario.profiles.values())[:n]
    ids, initiator, responders = setup(profiles)
    result = run(initiator, responders)
    accord = result.accord_of(ids[0].public_key)
    assert accord is not None
    accord.verify()
    assert all(result.accord_of(i.public_key) == accord for i in ids)
    assert [accord.to_bytes()] * n == [
        p.accord.to_bytes() for p in (initiator, *responders) if p.accord
    ]
    outcome = scenario.space.from_dict(accord.terms)
    for p in profiles:
        assert p(outcome) >= p.reservation_value
    assert 1 < result.rounds <= 20


def test_nobody_is_committed_below_reservation_or_across_a_red_line() -> None:
    red_line_and_reservations_hold(setup)


def test_nothing_acceptable_to_all_ends_without_agreement_for_everyone() -> None:
    nothing_acceptable_ends_without_agreement(
        setup, (WithdrawCode.DEADLINE, WithdrawCode.NO_AGREEMENT, WithdrawCode.PEER_WITHDREW)
    )


@pytest.mark.parametrize("n", [2, 4])
def test_agreement_on_the_opening_offer_takes_n_plus_one_turns(n: int) -> None:
    # Everyone has the same profile: the opening offer is everyone's best.
    a, _ = opposed()
    ids, initiator, responders = setup([a] * n)
    result = run(initiator, responders)
    assert result.accord_of(ids[-1].public_key) is not None
    assert initiator.turn == n + 1
    assert result.total_messages == (n + 3) * (n - 1)  # the module doc's count
    kinds = [type(message).__name__ for _, _, message in result.transcript]
    assert kinds.count("Offer") == n - 1 and kinds.count("Accept") == n * (n - 1)


def test_no_message_carries_utilities_weights_or_profiles() -> None:
    scenario = load_scenario(DOMAINS / "anac_y2010_EnglandZimbabwe")
    ids, initiator, responders = setup(list(scenario.profiles.values()))
    result = run(initiator, responders)
    assert result.accord_of(ids[0].public_key) is not None

    def atoms(value: object) -> list[object]:
        if isinstance(value, list):
            return [a for item in value for a in atoms(item)]
        if isinstance(value, dict):
            return [a for pair in value.items() for item in pair for a in atoms(item)]
        return [value]

    for _, _, message in result.transcript:
        raw = cbor2.loads(encode(message))
        assert 512 <= raw[1] <= 1023
        found = atoms(raw)
        assert not any(isinstance(a, float | str) for a in found)
        if isinstance(message, Offer):
            assert message.outcome < scenario.space.cardinality


# -- owner control ----------------------------------------------------------------------------


def test_ask_mode_a_no_means_no_signature_and_a_later_yes_agrees() -> None:
    a, b = opposed()
    ids, initiator, responders = setup([a, b], [Policy(), Policy(mode=Mode.ASK)])
    asked: list[ApprovalNeeded] = []

    def owner(party: bytes, request: ApprovalNeeded) -> bool:
        assert party == ids[1].public_key
        asked.append(request)
        return len(asked) > 1  # refuse the first, accept the next

    result = run(initiator, responders, owner=owner)
    accord = result.accord_of(ids[0].public_key)
    assert len(asked) == 2 and asked[0].outcome != asked[1].outcome
    assert accord is not None and b.space.from_dict(accord.terms) == asked[1].outcome
    # The refused outcome is never offered again (at most once: before its closing question).
    refused = b.space.index(asked[0].outcome)
    offered = [
        message.outcome
        for sender, _, message in result.transcript
        if sender == ids[1].public_key and isinstance(message, Offer)
    ]
    assert offered.count(refused) <= 1


def test_ask_mode_the_offerer_is_asked_before_its_closing_signature() -> None:
    a, _ = opposed()
    ids, initiator, responders = setup([a, a], [Policy(mode=Mode.ASK), Policy()])
    asked: list[bytes] = []

    def owner(party: bytes, request: ApprovalNeeded) -> bool:
        asked.append(party)
        return True

    result = run(initiator, responders, owner=owner)
    assert asked == [ids[0].public_key]  # once: before closing its own accepted offer
    assert result.accord_of(ids[1].public_key) is not None


def test_ask_mode_owner_always_no_never_agrees_and_never_signs() -> None:
    a, b = opposed()
    ids, initiator, responders = setup([a, b], [Policy(mode=Mode.ASK), Policy()], max_rounds=6)
    result = run(initiator, responders, owner=lambda party, request: False)
    assert result.accord_of(ids[0].public_key) is None
    assert result.accord_of(ids[1].public_key) is None
    assert initiator.state is State.FAILED and responders[0].state is State.FAILED
    assert not any(
        isinstance(message, Accept)
        for sender, _, message in result.transcript
        if sender == ids[0].public_key
    )


def test_decide_without_a_pending_question_is_refused() -> None:
    a, b = opposed()
    _, initiator, _ = setup([a, b])
    with pytest.raises(NegotiationError):
        initiator.decide(True, 0)


# -- stepping by hand -------------------------------------------------------------------------


def started(
    profiles: list[Profile], deadline: float | None = None
) -> tuple[list[Identity], AoInitiator, list[AoResponder], list[Outgoing]]:
    """Invitations and joins delivered; returns the initiator's opening broadcast."""
    ids, initiator, responders = setup(profiles, deadline=deadline)
    initiator.start(0)
    for out in initiator.take_outgoing():
        responder = next(r for r in responders if r.public_key == out.recipient)
        responder.receive(Incoming(ids[0].public_key, out.message), 1)
        (join,) = responder.take_outgoing()
        initiator.receive(Incoming(responder.public_key, join.message), 2)
    return ids, initiator, responders, initiator.take_outgoing()


def deliver(outs: list[Outgoing], sender: bytes, to: AoParty, now: float) -> None:
    for out in outs:
        if out.recipient == to.public_key:
            to.receive(Incoming(sender, out.message), now)


def invited(
    a: Profile, b: Profile
) -> tuple[list[Identity], AoInitiator, list[AoResponder], Invite]:
    """A started two-party negotiation and the one invitation its initiator sent."""
    ids, initiator, responders = setup([a, b])
    initiator.start(0)
    (out,) = initiator.take_outgoing()
    assert isinstance(out.message, Invite)
    return ids, initiator, responders, out.message


def test_invitation_names_the_protocol_and_the_initiator_opens() -> None:
    a, b = opposed()
    ids, initiator, responders, message = invited(a, b)
    assert message.protocol == NegotiationProtocol.ALTERNATING_OFFERS
    assert message.parties == (ids[0].public_key, ids[1].public_key)
    responders[0].receive(Incoming(ids[0].public_key, message), 1)
    assert moves(responders[0].take_outgoing()) == [Join(NID)]
    initiator.receive(Incoming(ids[1].public_key, Join(NID)), 2)
    (opening,) = moves(initiator.take_outgoing())
    assert isinstance(opening, Offer) and opening.turn == 0
    assert a(a.space.outcome_at(opening.outcome)) == max(a.utilities())


@pytest.mark.parametrize(
    "invite_change",
    [
        {"protocol": NegotiationProtocol.MEDIATED},
        {"space_digest": bytes(32)},
        {"norms_digest": b"\x01" * 32},
        {"max_rounds": 1},
    ],
)
def test_unsuitable_invitations_are_declined(invite_change: dict[str, object]) -> None:
    a, b = opposed()
    ids, _, responders, invite = invited(a, b)
    changed = dataclasses.replace(invite, **invite_change)  # type: ignore[arg-type]
    responders[0].receive(Incoming(ids[0].public_key, changed), 1)
    assert responders[0].state is State.FAILED
    assert moves(responders[0].take_outgoing()) == [Withdraw(NID, WithdrawCode.DECLINED)]


def _bad_moves(ids: list[Identity], cardinality: int) -> dict[str, Message]:
    """Messages from party 1 to the initiator at turn 1 (its turn), each broken one way."""
    stranger_signature = Identity.generate().sign(b"not an accord")
    return {
        "garbage": PairConfirm(True),  # well-formed on the wire, but no negotiation message
        "out_of_space": Offer(NID, 1, cardinality, 5),
        "out_of_turn": Offer(NID, 0, 0, 5),  # turn 0 was the initiator's
        "skipped_turn": Offer(NID, 4, 0, 5),  # party 1's next turn but one
        "past_round_limit": Offer(NID, 3 * 20 + 1, 0, 5),  # 20 rounds of 3 turns
        "foreign_negotiation": Offer(b"another-nego-id!", 1, 0, 5),
        "bad_signature": Accept(NID, 1, stranger_signature),
        "repeated_join": Join(NID),
        "second_invite": Invite(
            NID, (ids[1].public_key, ids[0].public_key), bytes(32), 5, 0, 1, 1, bytes(32)
        ),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "garbage",
        "out_of_space",
        "out_of_turn",
        "skipped_turn",
        "past_round_limit",
        "foreign_negotiation",
        "bad_signature",
        "repeated_join",
        "second_invite",
    ],
)
def test_a_broken_move_ends_the_negotiation_cleanly(kind: str) -> None:
    a, b = opposed()
    c = b
    ids, initiator, responders, opening = started([a, b, c])
    for responder in responders:
        deliver(opening, ids[0].public_key, responder, 3)
    bad = _bad_moves(ids, a.space.cardinality)[kind]
    initiator.receive(Incoming(ids[1].public_key, bad), 4)
    assert initiator.state is State.FAILED
    (event,) = [e for e in initiator.take_events() if isinstance(e, Failed)]
    assert event.code is WithdrawCode.PROTOCOL_ERROR
    notices = initiator.take_outgoing()
    assert {o.recipient for o in notices} == {ids[1].public_key, ids[2].public_key}
    assert moves(notices) == [Withdraw(NID, WithdrawCode.PROTOCOL_ERROR)]
    deliver(notices, ids[0].public_key, responders[1], 5)
    assert responders[1].state is State.FAILED and responders[1].accord is None


def test_accept_with_nothing_standing_and_repeated_moves_end_cleanly() -> None:
    a, b = opposed()
    ids, initiator, (responder,), opening = started([a, b])
    # An Accept on turn 0 has nothing to accept: only the initiator may move then, but a
    # responder that sees one from the initiator before any offer must refuse it.
    signature = initiator.identity.sign(b"x")
    responder.receive(Incoming(ids[0].public_key, Accept(NID, 0, signature)), 3)
    assert responder.state is State.FAILED

    ids, initiator, (responder,), opening = started([a, b])
    deliver(opening, ids[0].public_key, responder, 3)
    deliver(opening, ids[0].public_key, responder, 4)  # the same offer again
    assert responder.state is State.FAILED
    assert [e.code for e in responder.take_events() if isinstance(e, Failed)] == [
        WithdrawCode.PROTOCOL_ERROR
    ]


def test_a_late_message_after_the_deadline_ends_it() -> None:
    a, b = opposed()
    ids, _, (responder,), opening = started([a, b], deadline=100.0)
    deliver(opening, ids[0].public_key, responder, 100.0)
    assert responder.state is State.FAILED
    assert [e.code for e in responder.take_events() if isinstance(e, Failed)] == [
        WithdrawCode.DEADLINE
    ]
    assert moves(responder.take_outgoing()) == [Withdraw(NID, WithdrawCode.DEADLINE)]


def test_a_move_that_overtakes_the_one_it_answers_is_held_for_its_turn() -> None:
    # Links to different peers may reorder: party 2 hears party 1's turn before the opening.
    a, b = opposed()
    ids, _, responders, opening = started([a, b, b])
    deliver(opening, ids[0].public_key, responders[0], 3)
    turn1 = responders[0].take_outgoing()
    deliver(turn1, ids[1].public_key, responders[1], 4)  # early: held
    assert responders[1].state is State.BIDDING and responders[1].turn == 0
    assert responders[1].take_outgoing() == []
    deliver(opening, ids[0].public_key, responders[1], 5)  # now both play, then it moves
    assert responders[1].turn == 3
    (move,) = moves(responders[1].take_outgoing())
    assert isinstance(move, Offer | Accept) and move.turn == 2


def test_only_one_early_move_per_sender_is_held() -> None:
    a, b = opposed()
    ids, _, responders, opening = started([a, b, b])
    deliver(opening, ids[0].public_key, responders[0], 3)
    turn1 = responders[0].take_outgoing()
    held = responders[1]
    states = []
    for now in (4, 5):  # the second time, the same early move again
        deliver(turn1, ids[1].public_key, held, now)
        states.append(held.state)
    assert states == [State.BIDDING, State.FAILED] and held.turn == 0
    assert moves(held.take_outgoing()) == [Withdraw(NID, WithdrawCode.PROTOCOL_ERROR)]


def test_strangers_are_ignored_and_cannot_end_a_negotiation() -> None:
    a, b = opposed()
    _, initiator, (responder,), _ = started([a, b])
    stranger = Identity.generate().public_key
    initiator.receive(Incoming(stranger, Withdraw(NID, 0)), 3)
    responder.receive(Incoming(stranger, Withdraw(NID, 0)), 3)
    assert initiator.state is State.BIDDING and responder.state is State.BIDDING
    assert any(isinstance(e, Ignored) for e in initiator.take_events())
    assert any(isinstance(e, Ignored) for e in responder.take_events())


@pytest.mark.parametrize("moment", ["before_joining", "mid_negotiation"])
def test_any_party_can_walk_away_at_any_time(moment: str) -> None:
    a, b = opposed()
    ids, initiator, responders = setup([a, b, b])
    initiator.start(0)
    invites = initiator.take_outgoing()
    leaver, bystander = responders
    if moment == "before_joining":
        deliver(invites, ids[0].public_key, leaver, 1)
        leaver.take_outgoing()  # its Join is lost: it leaves first
    else:
        for responder in responders:
            deliver(invites, ids[0].public_key, responder, 1)
            (join,) = responder.take_outgoing()
            initiator.receive(Incoming(responder.public_key, join.message), 2)
        opening = initiator.take_outgoing()
        for responder in responders:
            deliver(opening, ids[0].public_key, responder, 3)
        leaver.take_outgoing()  # its move at turn 1 is not delivered yet
    leaver.withdraw(4)
    notices = leaver.take_outgoing()
    assert {o.recipient for o in notices} == {ids[0].public_key, ids[2].public_key}
    assert moves(notices) == [Withdraw(NID, WithdrawCode.WALK_AWAY)]
    assert leaver.state is State.FAILED
    others = [initiator] if moment == "before_joining" else [initiator, bystander]
    for other in others:
        deliver(notices, leaver.public_key, other, 5)
        assert other.state is State.FAILED
        failures = [e for e in other.take_events() if isinstance(e, Failed)]
        assert [f.code for f in failures] == [WithdrawCode.PEER_WITHDREW]
    # Nothing moves after the end, and later messages are dropped.
    initiator.receive(Incoming(ids[2].public_key, Offer(NID, 1, 0, 6)), 6)
    assert any(isinstance(e, Ignored) for e in initiator.take_events())


def test_walking_away_while_the_owner_decides() -> None:
    a, _ = opposed()
    ids, initiator, (responder,) = setup([a, a], [Policy(), Policy(mode=Mode.ASK)])
    initiator.start(0)
    deliver(initiator.take_outgoing(), ids[0].public_key, responder, 1)
    (join,) = responder.take_outgoing()
    initiator.receive(Incoming(ids[1].public_key, join.message), 2)
    deliver(initiator.take_outgoing(), ids[0].public_key, responder, 3)
    assert responder.state is State.DECIDING
    assert [type(e) for e in responder.take_events()] == [ApprovalNeeded]
    assert responder.take_outgoing() == []  # nothing signed while the owner thinks
    responder.withdraw(4)
    assert moves(responder.take_outgoing()) == [Withdraw(NID, WithdrawCode.WALK_AWAY)]
    with pytest.raises(NegotiationError):
        responder.decide(True, 5)


def test_round_limit_ends_it_for_everyone_with_one_withdraw() -> None:
    a, b = opposed(rv=0.8)
    ids, initiator, responders = setup([a, b], max_rounds=3)
    result = run(initiator, responders)
    assert all(result.accord_of(i.public_key) is None for i in ids)
    codes = [failure.code for i in ids if (failure := result.failure_of(i.public_key))]
    assert codes == [WithdrawCode.DEADLINE, WithdrawCode.DEADLINE]
    assert result.rounds <= 3
    withdraws = [m for _, _, m in result.transcript if isinstance(m, Withdraw)]
    assert len(withdraws) == 1  # whoever first sees no offer can be agreed in time says so


def test_time_deadline_ends_a_stalled_negotiation() -> None:
    a, b = opposed()
    _, initiator, _ = setup([a, b], deadline=50.0)
    stalled_until_its_deadline_at_50(initiator)


def test_initiator_rejects_bad_configuration() -> None:
    a, _ = opposed()
    me = Identity.generate()
    others = [Identity.generate().public_key for _ in range(10)]
    with pytest.raises(NegotiationError):
        AoInitiator(me, LittleDan(a), [], negotiation_id=NID)
    with pytest.raises(NegotiationError):
        AoInitiator(me, LittleDan(a), others, negotiation_id=NID)  # 11 parties
    with pytest.raises(NegotiationError):
        AoInitiator(me, LittleDan(a), others[:1], negotiation_id=NID, max_rounds=1)
    initiator = AoInitiator(me, LittleDan(a), others[:1], negotiation_id=NID, deadline=10.0)
    with pytest.raises(NegotiationError):
        initiator.start(10)


# -- wire -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "golden"),
    [
        # [1, 520, {0: id, 1: turn 3, 2: outcome 700, 3: time 1000}]
        (Offer(NID, 3, 700, 1000), "8301190208a400" + ID_HEX + "0103021902bc031903e8"),
        # [1, 521, {0: id, 1: turn 3, 2: 64-byte signature}]
        (Accept(NID, 3, b"\x07" * 64), "8301190209a300" + ID_HEX + "0103025840" + "07" * 64),
    ],
)
def test_golden_encodings(message: Message, golden: str) -> None:
    assert encode(message).hex() == golden
    assert decode(bytes.fromhex(golden)) == message


def test_an_accept_always_carries_a_whole_signature() -> None:
    with pytest.raises(MessageError):
        encode(Accept(NID, 1, b""))
    with pytest.raises(MessageError):
        decode(bytes.fromhex("8301190209a300" + ID_HEX + "0103025820" + "07" * 32))


# -- the alternating-offers strategy core ------------------------------------------------------


def test_offers_follow_the_aspiration_down_when_the_opponent_model_is_silent() -> None:
    # The pie: one issue, zero-sum. A tit-for-tat opponent concedes only as much as it sees, so
    # Little Dan's offers must show its concession (they used to stay at its best outcomes).
    scenario = load_scenario(DOMAINS / "other_pie")
    mine, theirs = scenario.profiles.values()
    core = AlternatingOffers(LittleDan(mine))
    step = 1 / (scenario.space.cardinality - 1)
    their_best = scenario.space.outcome_at(int(theirs.utilities().argmax()))
    for time in (0.0, 0.5, 0.8, 0.9, 0.95, 1.0):
        core.observe(their_best)  # says nothing about what they would accept
        offer = core.propose(time)
        assert offer is not None
        assert core.aspiration(time) - 1e-9 <= mine(offer) <= core.aspiration(time) + step + 1e-9


def test_a_forbidden_outcome_is_never_offered_or_accepted_again() -> None:
    a, _ = opposed()
    core = AlternatingOffers(LittleDan(a))
    best = core.propose(0.0)
    assert best is not None and core.respond(best, 0.0)
    core.forbid(best)
    assert not core.respond(best, 1.0)
    offers = {core.propose(t / 10) for t in range(11)}
    assert best not in offers and None not in offers
    assert LittleDan(a).acceptable_mask().all()  # the shared mask is untouched


def test_bench_runs_self_play_over_alternating_offers(tmp_path: Path) -> None:
    folder = tmp_path / "domains"
    shutil.copytree(DOMAINS / "anac_y2011_Laptop", folder / "laptop")
    out = tmp_path / "records.jsonl"
    bench = REPO / "bench" / "negotiation.py"
    command = [sys.executable, str(bench), "--domains", str(folder), "--protocol", "ao"]
    done = subprocess.run(
        [*command, "--json", str(out)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records and {r["protocol"] for r in records} == {"little-dan-ao"}
    for record in records:
        assert record["agreement"] is True and record["pareto_distance"] <= 0.05
        assert 1 < record["rounds"] <= 20 and record["messages"] > 0 and record["bytes"] > 0
    assert "little-dan-ao" in done.stdout
