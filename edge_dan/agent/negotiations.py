"""Negotiating with partners over live sessions: the protocol core from ``edge_dan.negotiation``
driven by real channels, and every accord kept with the owner's data (``Owner.accords``).

The party that starts a negotiation mediates it: it opens a session to each partner, sends the
``Agenda`` (the outcome space, so each can judge it with its own private utility), then runs the
``Mediator``. A partner's agent hears the agenda on the session it accepted, asks its owner's code
(``on_agenda``) for a strategy for that space, or declines, then runs a ``Participant``. Two
agents may instead use alternating offers (``protocol=ALTERNATING_OFFERS``): the partner picks
the protocol the ``Invite`` names. Groups stay mediated here, because the agent's sessions form
a star around whoever started, and alternating offers needs every party to hear every move. The
core runs over the sessions on the transports' one driver (``edge_dan.transports.driver``): its
typed messages travel as they are, encoded only by the session. Every party stores the accord
with all signatures when it concludes; in mode ``ask`` nothing is signed without the owner's yes
(``on_approval``). Deadlines are enforced by ticking the cores on the agent's wall clock.

The mediating agent can be watched: ``observe`` (``Agent.negotiate``) is called with every
``Move``, each message its core receives or sends (invitations, listings, proposals, answers),
so an app or a demo can show the rounds as they happen. Only what crosses the wire is shown:
nobody's utilities, which never leave their agents.

What a partner's mediator can make this agent hold is bounded: every negotiation it joins ends
by the deadline the owner's policy allows (``Policy.max_duration``) even if the invitation names
none, and when its session ends; at most ``MAX_JOINED`` run at once, listing at most
``JOINED_OUTCOMES`` outcomes together (each outcome costs memory); the enumeration of a large
agenda runs in a worker thread, not on the event loop; and a negotiation id already used with
that partner (an accord kept, or a negotiation running) is declined: a replay binds nobody twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from edge_dan.agent.sessions import AgentServices, PartnerSession
from edge_dan.agent.values import owner_harm_red_lines
from edge_dan.bridge.accords import AccordReceipt
from edge_dan.negotiation.accords.accord import Accord
from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.domain.outcomes import OutcomeSpace
from edge_dan.negotiation.domain.utility import RedLine
from edge_dan.negotiation.protocols.agenda import BadAgenda, agenda_for, space_of
from edge_dan.negotiation.protocols.ao import AoInitiator, AoResponder
from edge_dan.negotiation.protocols.core import (
    NO_NORMS,
    Agreed,
    ApprovalNeeded,
    Event,
    Failed,
    Party,
    new_negotiation_id,
)
from edge_dan.negotiation.protocols.mediated import Mediator, Participant
from edge_dan.negotiation.strategy import LittleDan
from edge_dan.owner.errors import AgreementRejected
from edge_dan.owner.peers import Peer
from edge_dan.transports.channel import SessionChannel
from edge_dan.transports.driver import drive
from edge_dan.wire.core import Incoming, Outgoing
from edge_dan.wire.errors import ProtocolError
from edge_dan.wire.messages import Message
from edge_dan.wire.messages.agenda import Agenda
from edge_dan.wire.messages.negotiation import Invite, NegotiationProtocol, Withdraw, WithdrawCode

AgendaHandler = Callable[[Peer, str, OutcomeSpace], LittleDan | None]
ApprovalHandler = Callable[[bytes, ApprovalNeeded], Awaitable[bool]]
DEFAULT_TIMEOUT = 60.0
INVITE_TIMEOUT = 30.0
MAX_JOINED = 8  # negotiations mediated by partners that this agent takes part in at once
JOINED_OUTCOMES = 2_000_000  # outcomes those may list together (two of the largest agendas)


@dataclass(frozen=True)
class Move:
    """One message of a negotiation, as the mediating agent's core received or sent it.

    ``peer`` is the other party's identity key (the sender of a received message, the recipient
    of a sent one: a message to every party is one ``Move`` per recipient); ``message`` is the
    typed wire message (``Invite``, ``Bids``, ``OpenRound``, ``Propose``, ``Answer``,
    ``Concluded``, ``Withdraw`` from ``edge_dan.wire.messages.negotiation``); ``at`` is the
    agent's clock. ::

        moves: list[Move] = []
        await agent.negotiate([partner], "Saturday", space, strategy, observe=moves.append)
    """

    direction: Literal["received", "sent"]
    peer: bytes
    message: Message
    at: float


MoveObserver = Callable[[Move], None]


class _Observed:
    """A party as the driver sees it, reporting every message in and out to ``observe`` (which
    runs synchronously: it should be quick, and what it raises ends the negotiation)."""

    def __init__(self, party: Party, observe: MoveObserver, clock: Callable[[], float]) -> None:
        self._party = party
        self._observe = observe
        self._clock = clock

    @property
    def finished(self) -> bool:
        return self._party.finished

    def receive(self, item: Incoming, now: float) -> None:
        self._observe(Move("received", item.sender, item.message, now))
        self._party.receive(item, now)

    def tick(self, now: float) -> None:
        self._party.tick(now)

    def next_deadline(self) -> float | None:
        return self._party.next_deadline()

    def take_outgoing(self) -> list[Outgoing]:
        outgoing = list(self._party.take_outgoing())
        now = self._clock()
        for item in outgoing:
            self._observe(Move("sent", item.recipient, item.message, now))
        return outgoing

    def take_events(self) -> Sequence[Event]:
        return self._party.take_events()


@dataclass(frozen=True)
class NegotiationResult:
    """How a negotiation ended: the accord every party signed (kept in each store), or why not.

    ::

        result = await agent.negotiate([partner], "Saturday", space, strategy)
        print(result)                             # agreed: accord ...; or no agreement (...): ...
        if result.accord is not None:
            result.accord.verify()
    """

    negotiation_id: bytes
    accord: Accord | None  # every signature in and verified; stored
    failure: Failed | None
    receipts: tuple[AccordReceipt, ...] = ()  # what bound devices acknowledged applying

    @property
    def accord_id(self) -> bytes | None:
        return None if self.accord is None else self.accord.id

    def __str__(self) -> str:
        if self.accord is not None:
            return f"agreed: {self.accord}"
        if self.failure is not None:
            return f"no agreement ({self.failure.code.name.lower()}): {self.failure.detail}"
        return "no agreement"


async def _refuse_without_owner(negotiation_id: bytes, request: ApprovalNeeded) -> bool:
    del negotiation_id, request
    return False  # mode "ask" with nobody to ask: no signature


class Negotiations:
    """The agent's negotiations; ``results`` receives each one's end as it happens."""

    def __init__(
        self,
        agent: AgentServices,
        on_agenda: AgendaHandler | None = None,
        on_approval: ApprovalHandler = _refuse_without_owner,
    ) -> None:
        self._agent = agent
        self._on_agenda = on_agenda
        self._on_approval = on_approval
        self.results: asyncio.Queue[NegotiationResult] = asyncio.Queue()
        # Negotiations joined and running: (mediator, negotiation id) -> outcomes listed.
        self._joined: dict[tuple[bytes, bytes], int] = {}

    # -- mediator -------------------------------------------------------------------------------

    async def run(
        self,
        partners: Sequence[bytes],
        title: str,
        space: OutcomeSpace,
        strategy: LittleDan,
        *,
        max_rounds: int = 20,
        timeout: float = DEFAULT_TIMEOUT,
        group: bytes = b"",
        protocol: NegotiationProtocol = NegotiationProtocol.MEDIATED,
        observe: MoveObserver | None = None,
    ) -> NegotiationResult:
        """Mediate a negotiation with ``partners`` (identity keys of paired, nearby peers).

        ``group``: the norms this group adopted (kept in the store) bind everyone as red lines;
        a partner holding other norms for the group declines at the invitation.
        ``protocol``: alternating offers runs between two agents only (see the module doc).
        ``observe``: called with every message the negotiation sends and receives (``Move``).
        """
        if protocol is NegotiationProtocol.ALTERNATING_OFFERS and len(partners) != 1:
            raise NegotiationError(
                "alternating offers runs between two agents here; a group negotiates mediated"
            )
        negotiation_id = new_negotiation_id(os.urandom(16))
        strategy, digest = self._under_norms(strategy, group)
        sessions = [await self._agent.connect(partner) for partner in partners]
        channels = {session.peer.identity_key: session.channel for session in sessions}
        try:
            agenda = agenda_for(negotiation_id, title, space, group)
            for channel in channels.values():
                await channel.send(agenda)
            kind = AoInitiator if protocol is NegotiationProtocol.ALTERNATING_OFFERS else Mediator
            starter = kind(
                self._agent.identity,
                strategy,
                list(channels),
                negotiation_id=negotiation_id,
                max_rounds=max_rounds,
                deadline=self._agent.clock() + timeout,
                norms_digest=digest,
            )
            starter.start(self._agent.clock())
            return await self._drive(starter, channels, observe)
        finally:
            await asyncio.gather(*(c.close() for c in channels.values()), return_exceptions=True)

    # -- participant ----------------------------------------------------------------------------

    async def serve(self, session: PartnerSession) -> None:
        """Take part in what a partner mediates over this session, until it ends."""
        channel = session.channel
        while True:
            try:
                message = await channel.receive()
            except ProtocolError:
                return
            if not isinstance(message, Agenda):
                continue  # negotiation messages outside a negotiation we joined: nothing to do
            # One negotiation per call, so whatever it held (its party, up to a million listed
            # outcomes) is freed when it ends, not when the session does.
            if not await self._take_part(session.peer, channel, message):
                return

    async def _take_part(self, peer: Peer, channel: SessionChannel, agenda: Agenda) -> bool:
        """Answer one agenda (decline, or join and run the negotiation to its end); False once
        the session ended."""
        joined = self._join(peer, agenda, channel)
        if joined is None:
            return True
        try:
            # The invitation follows the agenda at once; a partner that never sends it must not
            # hold this session's negotiations up.
            invite = await asyncio.wait_for(channel.receive(), INVITE_TIMEOUT)
        except TimeoutError:
            return True
        except ProtocolError:
            return False
        if not isinstance(invite, Invite):
            return True  # no invitation after the agenda: nothing was joined
        outcomes = joined[0].space.cardinality
        if not self._may_join(peer, invite, outcomes):
            withdraw = Withdraw(invite.negotiation_id, int(WithdrawCode.DECLINED))
            self._agent.spawn(self._send_quietly(channel, withdraw))
            return True
        key = (peer.identity_key, invite.negotiation_id)
        self._joined[key] = outcomes
        try:
            party = self._invited(joined, invite)
            # Taking the invitation enumerates the agenda (up to a million outcomes, tenths of a
            # second): in a worker thread, so the event loop keeps serving. Nothing else touches
            # this party meanwhile.
            first = Incoming(peer.identity_key, invite)
            await asyncio.to_thread(party.receive, first, self._agent.clock())
            await self._drive(party, {peer.identity_key: channel})
        finally:
            del self._joined[key]
        return True

    def _may_join(self, peer: Peer, invite: Invite, outcomes: int) -> bool:
        """Whether to join: a fresh negotiation id with this partner, and room for it."""
        me = self._agent.identity.public_key
        if (peer.identity_key, invite.negotiation_id) in self._joined:
            return False
        if self._agent.owner.accords.negotiation_used(
            invite.negotiation_id, [me, peer.identity_key]
        ):
            return False
        return (
            len(self._joined) < MAX_JOINED
            and sum(self._joined.values()) + outcomes <= JOINED_OUTCOMES
        )

    def _join(
        self, peer: Peer, agenda: Agenda, channel: SessionChannel
    ) -> tuple[LittleDan, bytes] | None:
        """The strategy (under the group's norms) and norms digest to answer ``agenda`` with."""
        strategy = None
        with contextlib.suppress(BadAgenda):
            space = space_of(agenda)
            if self._on_agenda is not None:
                strategy = self._on_agenda(peer, agenda.title, space)
        if strategy is None:
            withdraw = Withdraw(agenda.negotiation_id, int(WithdrawCode.DECLINED))
            self._agent.spawn(self._send_quietly(channel, withdraw))
            return None
        return self._under_norms(strategy, agenda.group)

    def _invited(self, joined: tuple[LittleDan, bytes], invite: Invite) -> Party:
        """The core for the protocol ``invite`` names (a mediated participant otherwise, which
        declines a protocol it does not run)."""
        strategy, digest = joined
        if (
            invite.protocol == NegotiationProtocol.ALTERNATING_OFFERS
            and len(invite.parties) == 2  # a star of sessions cannot carry a group's moves
        ):
            return AoResponder(self._agent.identity, strategy, norms_digest=digest)
        return Participant(self._agent.identity, strategy, norms_digest=digest)

    def _under_norms(self, strategy: LittleDan, group: bytes) -> tuple[LittleDan, bytes]:
        """``strategy`` with the group's adopted norms and non-harm as extra red lines (every
        harmful free-text option, when the agent has a value model), and the norms' digest."""
        lines: tuple[RedLine, ...] = ()
        digest = NO_NORMS
        if group:
            norms = self._agent.owner.norms.of_group(group)
            lines = norms.red_lines(strategy.space)
            digest = norms.digest
        if self._agent.value_model is not None:
            lines += owner_harm_red_lines(
                self._agent.owner, self._agent.value_model, strategy.space
            )
        if not lines:
            return strategy, digest
        bound = LittleDan(
            strategy.profile,
            policy=strategy.policy,
            extra_red_lines=(*strategy.extra_red_lines, *lines),
        )
        return bound, digest

    @staticmethod
    async def _send_quietly(channel: SessionChannel, message: Message) -> None:
        with contextlib.suppress(ProtocolError):
            await channel.send(message)

    # -- the owner's side of a running core ----------------------------------------------------

    async def _drive(
        self,
        party: Party,
        channels: dict[bytes, SessionChannel],
        observe: MoveObserver | None = None,
    ) -> NegotiationResult:
        """Run ``party`` over ``channels`` (the transports' driver) until it ends; keep an accord,
        hand it to bound devices, and ask the owner where the party needs a yes."""
        accord: Accord | None = None
        failure: Failed | None = None
        receipts: tuple[AccordReceipt, ...] = ()

        async def handle(event: Event) -> None:
            nonlocal accord, failure, receipts
            if isinstance(event, Agreed) and accord is None:
                try:
                    accord = self._agent.owner.accords.add(event.accord).accord
                except AgreementRejected as error:  # e.g. a replayed negotiation id
                    failure = failure or Failed(WithdrawCode.PROTOCOL_ERROR, str(error))
                    return
                receipts = await self._agent.apply_to_devices(accord)
            elif isinstance(event, Failed):
                failure = failure or event
            elif isinstance(event, ApprovalNeeded):
                approve = await self._on_approval(party.negotiation_id, event)
                party.decide(approve, self._agent.clock())

        core = party if observe is None else _Observed(party, observe, self._agent.clock)
        await drive(core, channels, on_event=handle, clock=self._agent.clock)
        if not party.finished and failure is None:  # every session ended: so did the negotiation
            failure = Failed(WithdrawCode.PEER_WITHDREW, "the session ended before the negotiation")
        result = NegotiationResult(party.negotiation_id, accord, failure, receipts)
        self.results.put_nowait(result)
        return result
