"""Agents on a private LAN negotiate over real sessions: agenda, mediated rounds (or, for two,
alternating offers), signatures; each keeps the same fully signed accord in its own encrypted
store (``Owner.accords``); a partner can decline."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from netns import Lab
from test_agent_netns import Device, pair

from edge_dan.agent.negotiations import AgendaHandler, NegotiationResult
from edge_dan.negotiation.accords.norms import Norm
from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.domain.outcomes import DiscreteIssue, IntegerIssue, OutcomeSpace, Value
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility, Profile, RedLine
from edge_dan.negotiation.protocols.agenda import agenda_for
from edge_dan.negotiation.protocols.mediated import Mediator
from edge_dan.negotiation.strategy import LittleDan
from edge_dan.owner.peers import Peer
from edge_dan.wire.messages.negotiation import Bids, NegotiationProtocol, Withdraw, WithdrawCode

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("lab", [3], indirect=True)]
SPACE = OutcomeSpace(
    [
        DiscreteIssue("dinner", ("pizza", "curry", "salad", "sushi")),
        IntegerIssue("start", 17, 21),
    ]
)
TASTES: dict[str, dict[Value, float]] = {
    "ana": {"pizza": 3, "curry": 4, "salad": 1, "sushi": 2},
    "ben": {"pizza": 4, "curry": 1, "salad": 2, "sushi": 3},
    "caro": {"pizza": 1, "curry": 3, "salad": 4, "sushi": 2},
}


def profile_of(who: str, space: OutcomeSpace) -> Profile:
    late = who == "ben"
    hours: dict[Value, float] = {h: float(h - 16 if late else 22 - h) for h in range(17, 22)}
    utility = LinearAdditiveUtility(
        space, {"dinner": 0.6, "start": 0.4}, {"dinner": TASTES[who], "start": hours}
    )
    red_lines: tuple[RedLine, ...] = ()
    if who == "caro":  # Caro never agrees to eat after 20:00
        red_lines = (RedLine.when(lambda o: int(o[1]) > 20, "not after 20:00"),)
    return Profile(space, utility, reservation_value=0.3, red_lines=red_lines)


def takes_part_as(who: str) -> AgendaHandler:
    """An agenda handler that takes part in every negotiation, for ``who``'s profile."""

    def on_agenda(peer: Peer, title: str, space: OutcomeSpace) -> LittleDan | None:
        return LittleDan(profile_of(who, space))

    return on_agenda


def test_three_agents_reach_one_signed_accord_that_harms_nobody(lab: Lab, tmp_path: Path) -> None:
    names = ("ana", "ben", "caro")
    devices = {
        n: Device(lab.loop(node), tmp_path / n) for n, node in zip(names, lab.nodes, strict=True)
    }
    for a, b in (("ana", "ben"), ("ana", "caro"), ("ben", "caro")):
        pair(devices[a], devices[b])
    declined: list[str] = []

    def judge(who: str):  # type: ignore[no-untyped-def]
        def on_agenda(peer: Peer, title: str, space: OutcomeSpace) -> LittleDan | None:
            if title != "Friday dinner":
                declined.append(who)
                return None
            return LittleDan(profile_of(who, space))

        return on_agenda

    try:
        agents = {n: devices[n].start(on_agenda=judge(n)) for n in names}
        keys = {n: agents[n].identity.public_key for n in names}

        async def mediate(title: str):  # type: ignore[no-untyped-def]
            for other in ("ben", "caro"):
                await agents["ana"].wait_for_partner(keys[other], timeout=15)
            return await agents["ana"].negotiate(
                [keys["ben"], keys["caro"]],
                title,
                SPACE,
                LittleDan(profile_of("ana", SPACE)),
                timeout=20,
            )

        result = devices["ana"].loop.run(mediate("Friday dinner"), timeout=60)
        assert result.failure is None and result.accord is not None
        result.accord.verify()
        outcome = tuple(value for _, value in result.accord.outcome)
        for who in names:  # above every reservation value, across no red line
            assert profile_of(who, SPACE).acceptable(outcome), (who, outcome)
        assert set(result.accord.parties) == set(keys.values())
        # Every party keeps the same fully signed accord in its own store.
        deadline = time.monotonic() + 10
        for who in names:
            device = devices[who]
            while True:
                stored = device.call(device.owner.accords.list, binding_only=True)
                if stored or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert [s.accord.to_bytes() for s in stored] == [result.accord.to_bytes()], who

        refused = devices["ana"].loop.run(mediate("Karaoke night"), timeout=60)
        assert refused.accord is None and refused.failure is not None
        # The first partner to decline withdraws; the mediator ends it for everyone.
        assert refused.failure.code is WithdrawCode.PEER_WITHDREW
        assert f"code {int(WithdrawCode.DECLINED)}" in refused.failure.detail
        assert set(declined) <= {"ben", "caro"} and declined
        identity = devices["ana"].call(devices["ana"].owner.identity.ensure)
        assert identity.public_key == keys["ana"]
    finally:
        for device in devices.values():
            device.stop()


def test_group_norms_bind_everyone_and_different_norms_stop_the_negotiation(
    lab: Lab, tmp_path: Path
) -> None:
    names = ("ana", "ben", "caro")
    nodes = dict(zip(names, lab.nodes, strict=True))
    devices = {n: Device(lab.loop(nodes[n]), tmp_path / n) for n in names}
    for a, b in (("ana", "ben"), ("ana", "caro"), ("ben", "caro")):
        pair(devices[a], devices[b])
    keys = {n: devices[n].call(devices[n].owner.identity.ensure) for n in names}
    group = bytes(range(16))
    # The household adopted "no more pizza" earlier: signed by all three (Caro's agent lost it).
    norm = Norm(
        group_id=group,
        name="no more pizza",
        issue="dinner",
        forbidden=("pizza",),
        members=tuple(k.public_key for k in keys.values()),
        time_ms=1,
    )
    for identity in keys.values():
        norm = norm.with_signature(identity.public_key, norm.sign(identity))
    for n in ("ana", "ben"):
        assert devices[n].call(devices[n].owner.norms.add, norm)

    try:
        agents = {n: devices[n].start(on_agenda=takes_part_as(n)) for n in names}

        async def mediate(partners: list[str], group: bytes = group) -> NegotiationResult:
            for other in partners:
                await agents["ana"].wait_for_partner(keys[other].public_key, timeout=15)
            return await agents["ana"].negotiate(
                [keys[p].public_key for p in partners],
                "Friday dinner",
                SPACE,
                LittleDan(profile_of("ana", SPACE)),
                timeout=20,
                group=group,
            )

        # Outside the group, Ana and Ben settle on pizza ...
        free = devices["ana"].loop.run(mediate(["ben"], group=b""), timeout=60)
        assert free.accord is not None and dict(free.accord.outcome)["dinner"] == "pizza"
        # ... under the group's norm, which both hold, pizza is off the table.
        both = devices["ana"].loop.run(mediate(["ben"]), timeout=60)
        assert both.accord is not None, both.failure
        assert dict(both.accord.outcome)["dinner"] != "pizza"
        # Caro's agent does not hold the norm: the norms digests differ and it declines.
        with_caro = devices["ana"].loop.run(mediate(["ben", "caro"]), timeout=60)
        assert with_caro.accord is None and with_caro.failure is not None
    finally:
        for device in devices.values():
            device.stop()


def test_two_agents_can_negotiate_by_alternating_offers(lab: Lab, tmp_path: Path) -> None:
    names = ("ana", "ben", "caro")
    devices = {
        n: Device(lab.loop(node), tmp_path / n) for n, node in zip(names, lab.nodes, strict=True)
    }
    pair(devices["ana"], devices["ben"])
    pair(devices["ana"], devices["caro"])

    try:
        agents = {n: devices[n].start(on_agenda=takes_part_as(n)) for n in names}
        keys = {n: agents[n].identity.public_key for n in names}

        async def offer(partners: list[str]) -> NegotiationResult:
            for other in partners:
                await agents["ana"].wait_for_partner(keys[other], timeout=15)
            return await agents["ana"].negotiate(
                [keys[p] for p in partners],
                "Friday dinner",
                SPACE,
                LittleDan(profile_of("ana", SPACE)),
                timeout=20,
                protocol=NegotiationProtocol.ALTERNATING_OFFERS,
            )

        result = devices["ana"].loop.run(offer(["ben"]), timeout=60)
        assert result.failure is None and result.accord is not None
        result.accord.verify()
        outcome = tuple(value for _, value in result.accord.outcome)
        assert profile_of("ana", SPACE).acceptable(outcome)
        assert profile_of("ben", SPACE).acceptable(outcome)
        deadline = time.monotonic() + 10
        while True:  # Ben's agent keeps the same fully signed accord
            stored = devices["ben"].call(devices["ben"].owner.accords.list, binding_only=True)
            if stored or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [s.accord.to_bytes() for s in stored] == [result.accord.to_bytes()]
        # A group needs every party to hear every move; over the agent's star of sessions it
        # negotiates mediated instead, and asking for alternating offers says so.
        with pytest.raises(NegotiationError, match="two agents"):
            devices["ana"].loop.run(offer(["ben", "caro"]), timeout=60)
    finally:
        for device in devices.values():
            device.stop()


def test_an_agenda_without_an_invitation_is_skipped_and_the_session_still_serves(
    lab: Lab, tmp_path: Path
) -> None:
    names = ("ana", "ben")
    devices = {
        n: Device(lab.loop(node), tmp_path / n)
        for n, node in zip(names, lab.nodes[:2], strict=True)
    }
    pair(devices["ana"], devices["ben"])
    try:
        agents = {
            "ana": devices["ana"].start(),
            "ben": devices["ben"].start(
                on_agenda=lambda peer, title, space: (
                    LittleDan(profile_of("ben", space)) if title == "Friday dinner" else None
                )
            ),
        }
        ben = agents["ben"].identity.public_key

        async def hostile_then_proper() -> tuple[object, object]:
            await agents["ana"].wait_for_partner(ben, timeout=15)
            session = await agents["ana"].connect(ben)
            channel = session.channel
            try:
                # An agenda, then something that is not an invitation: Ben's agent skips it ...
                await channel.send(agenda_for(bytes(16), "Friday dinner", SPACE, b""))
                await channel.send(Withdraw(bytes(16), int(WithdrawCode.WALK_AWAY)))
                # ... and judges the next agenda on the same session (this one it declines) ...
                await channel.send(agenda_for(bytes([1]) * 16, "Karaoke night", SPACE, b""))
                declined = await asyncio.wait_for(channel.receive(), 10)
                # ... and the next, which it takes: it bids on the invitation.
                nid = bytes(range(16))
                await channel.send(agenda_for(nid, "Friday dinner", SPACE, b""))
                mediator = Mediator(
                    agents["ana"].identity,
                    LittleDan(profile_of("ana", SPACE)),
                    [ben],
                    negotiation_id=nid,
                )
                mediator.start(0)
                (invite,) = mediator.take_outgoing()
                await channel.send(invite.message)
                return declined, await asyncio.wait_for(channel.receive(), 10)
            finally:
                await channel.close()

        declined, answer = devices["ana"].loop.run(hostile_then_proper(), timeout=60)
        assert declined == Withdraw(bytes([1]) * 16, int(WithdrawCode.DECLINED))
        assert isinstance(answer, Bids) and answer.round == 1
        assert answer.negotiation_id == bytes(range(16))
    finally:
        for device in devices.values():
            device.stop()
