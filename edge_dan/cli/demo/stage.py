"""The demo's agents, for real: homes, identities, discovery, pairing, two negotiations.

Every owner gets an encrypted store in a throwaway home and an ``Agent`` on the network the
caller chose (``LanNetwork`` on the loopback interface, i.e. real mDNS, inside a private network
namespace; or ``LoopbackNetwork``, discovery passed in-process and sessions over real TCP sockets
on 127.0.0.1). The first owner opens pairing; every other agent sees the offer nearby and pairs
by numeric comparison, both owners shown the same six digits (the demo answers yes for its
owners, and says so). The first owner's agent then mediates both decisions; the others answer
from their own owners' values. One value model serves every agent (it is loaded once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edge_dan.agent import Agent, NegotiationResult
from edge_dan.agent.networks import LanNetwork, LoopbackHub, LoopbackNetwork, Network
from edge_dan.agent.pairing import AskOwner
from edge_dan.agent.values import strategy_for
from edge_dan.cli.demo.cast import (
    EVENING,
    EVENING_RESERVATION,
    EVENING_TITLE,
    SATURDAY,
    SATURDAY_TITLE,
    Character,
)
from edge_dan.cli.demo.trace import Tracer
from edge_dan.model import ValueModel
from edge_dan.negotiation.domain.outcomes import OutcomeSpace
from edge_dan.negotiation.domain.utility import RedLine
from edge_dan.negotiation.strategy import LittleDan
from edge_dan.owner import Owner
from edge_dan.owner.peers import Peer
from edge_dan.store import KdfParams

Say = Callable[[str], None]
STEP_TIMEOUT = 30.0  # seconds any one step may take before the demo gives up on it
DEMO_KDF = (2, 16 * 1024 * 1024)  # Argon2id still, but quick to unlock: these homes are throwaway


@dataclass
class Member:
    """One owner of the demo: their character, their data, their agent."""

    character: Character
    owner: Owner
    agent: Agent | None = None

    @property
    def name(self) -> str:
        return self.character.name

    @property
    def identity_key(self) -> bytes:
        return self.owner.identity.ensure().public_key

    @property
    def fingerprint(self) -> str:
        return self.owner.identity.ensure().fingerprint


@dataclass(frozen=True)
class Pairing:
    opened: str  # whose owner opened pairing
    joined: str  # whose agent saw the offer and paired
    codes: dict[str, str]  # owner -> the six digits their screen showed


@dataclass
class Decision:
    title: str
    space: OutcomeSpace
    strategies: list[LittleDan]  # per member, in cast order (the mediator first)
    tracer: Tracer
    result: NegotiationResult
    stored_by: list[str] = field(default_factory=list)  # whose store holds the accord


@dataclass
class Staged:
    members: list[Member]
    pairings: list[Pairing]
    decisions: list[Decision]
    model: ValueModel
    network: str  # "namespace" or "loopback"
    seconds: dict[str, float]  # how long each part took


def saturday_strategy(member: Member, model: ValueModel) -> LittleDan:
    """Saturday for this owner: the activity judged by their values, their own tables for the
    budget and the start, their red line and reservation."""
    c = member.character
    lines = []
    if c.red_line is not None:
        position = SATURDAY.issue_position(c.red_line.issue)
        lines.append(RedLine.forbid_value(position, c.red_line.value, c.red_line.why))
    return strategy_for(
        member.owner,
        SATURDAY,
        model,
        weights=c.weights,
        tables={"budget": c.budget, "start": c.start},
        reservation=c.reservation,
        red_lines=lines,
    )


def evening_strategy(member: Member, model: ValueModel) -> LittleDan:
    return strategy_for(member.owner, EVENING, model, reservation=EVENING_RESERVATION)


def strategy_for_space(member: Member, model: ValueModel, space: OutcomeSpace) -> LittleDan | None:
    """What a member's agent answers an agenda with: the decision it recognises, else no."""
    if space.issue_names == EVENING.issue_names:
        return evening_strategy(member, model)
    if space.issue_names == SATURDAY.issue_names:
        return saturday_strategy(member, model)
    return None


def make_members(home: Path, cast: Sequence[Character], say: Say) -> list[Member]:
    members = []
    for character in cast:
        owner = Owner.create(
            home / character.name.lower(),
            f"{character.name}'s demo passphrase",
            kdf=KdfParams.fresh(*DEMO_KDF),
        )
        owner.profile.edit(character.values, note="edge-dan demo")
        members.append(Member(character, owner))
        say(f"   {character.name}, {character.about}: agent {owner.identity.ensure().fingerprint}")
    return members


def networks_for(kind: str, hub: LoopbackHub) -> list[Network]:
    if kind == "namespace":
        return [LanNetwork(interfaces=["127.0.0.1"], host="127.0.0.1")]
    return [LoopbackNetwork(hub)]


class Ceremony:
    """Numeric comparison as the demo's owners do it: read the digits, say yes, name the
    partner (the demo knows whose device has that fingerprint; a person would type a name)."""

    def __init__(self, members: Sequence[Member], say: Say) -> None:
        self._names = {m.fingerprint: m.name for m in members}
        self._say = say
        self.shown: dict[str, str] = {}  # owner -> digits, for the pairing under way

    def confirm_for(self, me: str) -> AskOwner:
        async def confirm(code: str, fingerprint: str) -> str | None:
            other = self._names.get(fingerprint)
            if other is None:
                self._say(f"   {me}'s screen shows {code} for an unknown agent: no")
                return None
            self.shown[me] = code
            self._say(
                f"   {me}'s screen shows {code} for {other}: {me} confirms (the demo says yes)"
            )
            return other

        return confirm


async def pair_all(members: Sequence[Member], ceremony: Ceremony, say: Say) -> list[Pairing]:
    """The first owner opens pairing; each other agent sees the offer nearby and pairs."""
    host = members[0]
    assert host.agent is not None
    await host.agent.open_to_pairing(120.0)
    say(f"   {host.name} opens pairing; {host.name}'s agent advertises that it is open")
    pairings = []
    try:
        for guest in members[1:]:
            assert guest.agent is not None
            ceremony.shown = {}
            offer = await guest.agent.wait_for_pairing_offer(timeout=STEP_TIMEOUT)
            say(f"   {guest.name}'s agent sees an agent nearby open to pairing, and asks to pair")
            peer: Peer = await guest.agent.pair(offer.key, ceremony.confirm_for(guest.name))
            if peer.identity_key != host.identity_key:
                raise RuntimeError("paired with an agent that is not the host's")
            await guest.agent.wait_for_partner(host.identity_key, timeout=STEP_TIMEOUT)
            await host.agent.wait_for_partner(guest.identity_key, timeout=STEP_TIMEOUT)
            pairings.append(Pairing(host.name, guest.name, dict(ceremony.shown)))
    finally:
        await host.agent.close_pairing()
    return pairings


async def negotiate(
    members: Sequence[Member],
    model: ValueModel,
    title: str,
    space: OutcomeSpace,
    make: Callable[[Member, ValueModel], LittleDan],
) -> Decision:
    host = members[0]
    assert host.agent is not None
    strategies = [make(m, model) for m in members]
    tracer = Tracer([m.identity_key for m in members], strategies)
    partners = [m.identity_key for m in members[1:]]
    result = await host.agent.negotiate(
        partners, title, space, strategies[0], timeout=STEP_TIMEOUT, observe=tracer.observe
    )
    decision = Decision(title, space, strategies, tracer, result)
    if result.accord is not None:
        accord_id = result.accord.id
        # Each party stores the accord when the signatures reach it: a moment after the mediator.
        async with asyncio.timeout(STEP_TIMEOUT):
            while True:
                decision.stored_by = [
                    m.name for m in members if m.owner.accords.get(accord_id) is not None
                ]
                if len(decision.stored_by) == len(members):
                    break
                await asyncio.sleep(0.05)
    return decision


async def stage(home: Path, cast: Sequence[Character], network: str, say: Say) -> Staged:
    """Run the whole demo in ``home``; ``say`` hears each step as it happens."""
    seconds: dict[str, float] = {}
    clock = time.monotonic()
    say("1. Loading the value model once, for every agent (it runs on this machine)")
    model = await asyncio.to_thread(ValueModel.load)
    seconds["model"] = time.monotonic() - clock
    say(f"2. {len(cast)} owners, each with an encrypted store of their own and their values:")
    clock = time.monotonic()
    members = await asyncio.to_thread(make_members, home, cast, say)
    seconds["homes"] = time.monotonic() - clock
    ceremony = Ceremony(members, say)
    hub = LoopbackHub()
    clock = time.monotonic()
    try:
        for member in members:

            def on_agenda(
                peer: Peer, title: str, space: OutcomeSpace, member: Member = member
            ) -> LittleDan | None:
                return strategy_for_space(member, model, space)

            member.agent = Agent(
                member.owner,
                networks=networks_for(network, hub),
                on_agenda=on_agenda,
                on_pairing=ceremony.confirm_for(member.name),
                value_model=model,
            )
            await member.agent.start()
        say("3. Pairing by numeric comparison: both owners see the same six digits")
        pairings = await pair_all(members, ceremony, say)
        seconds["pairing"] = time.monotonic() - clock
        say(f"   Negotiating {EVENING_TITLE!r} ...")
        clock = time.monotonic()
        evening = await negotiate(members, model, EVENING_TITLE, EVENING, evening_strategy)
        seconds["everyday"] = time.monotonic() - clock
        say(f"   Negotiating {SATURDAY_TITLE!r} ...")
        clock = time.monotonic()
        saturday = await negotiate(members, model, SATURDAY_TITLE, SATURDAY, saturday_strategy)
        seconds["multi_issue"] = time.monotonic() - clock
    finally:
        for member in members:
            if member.agent is not None:
                await member.agent.stop()
    return Staged(members, pairings, [evening, saturday], model, network, seconds)
