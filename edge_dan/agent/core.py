"""The Agent: one Little Dan on the network, composed from the layers below.

It works on the owner's data (an ``edge_dan.owner.Owner`` on an open store) and the identity in
it, with a TCP listener for sessions, an mDNS advertiser that publishes the rotating token, an mDNS
browser feeding the peer directory, and the rules for who may do what once a session is up
(``edge_dan.pairing.policy``)::

    async with Agent(owner, on_session=serve_partner) as agent:
        entry = await agent.wait_for_partner(bob_identity, timeout=10)
        session = await agent.connect(bob_identity)
        await session.channel.send(...)

Sessions with partners (paired peers) start with both sides handing over their current
advertising key (``AdvertisingKeyGrant``), before anything else. That is how a key rotated at an
unpairing reaches every remaining partner, and how the first key arrives right after pairing.
Sessions from strangers are refused (``CloseCode.REFUSED``): pairing needs an owner at both ends,
which is the pairing layer's job, not an automatic one.

The listening port changes with every rotation of the advertisement (a fixed port would let a
stranger link one period's advert to the next); the previous port keeps accepting until the
following rotation, for partners who saw the older advert.

Liveness comes from the sessions: when one dies (its keepalives give up), the partner's LAN link
leaves the directory at once, instead of lingering for zeroconf's 19-minute PTR floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Self

from edge_dan.agent.negotiations import (
    AgendaHandler,
    ApprovalHandler,
    NegotiationResult,
    Negotiations,
)
from edge_dan.agent.pairing import AskOwner, pair_over
from edge_dan.bridge.accords import AccordReceipt, DeviceBinding
from edge_dan.discovery.directory import DirectoryEvent, PeerDirectory, PeerEntry, Transport
from edge_dan.discovery.feed import apply_lan_event
from edge_dan.discovery.tokens import DEFAULT_PERIOD, Recogniser, TokenRotator
from edge_dan.errors import EdgeDanError, StoreError
from edge_dan.identity import Identity, fingerprint
from edge_dan.model import ValueModel
from edge_dan.negotiation import Accord, OutcomeSpace
from edge_dan.negotiation.strategy import LittleDan
from edge_dan.owner import NotPaired, Owner
from edge_dan.owner.peers import Peer
from edge_dan.pairing.policy import decide
from edge_dan.transports import tcp
from edge_dan.wire.errors import ProtocolError, SessionClosed
from edge_dan.wire.messages import CloseCode
from edge_dan.wire.messages.discovery import AdvertisingKeyGrant
from edge_dan.wire.messages.negotiation import NegotiationProtocol
from edge_dan.wire.session import Role, Session, SessionLimits

if TYPE_CHECKING:  # importing them loads zeroconf; start() does that when it is needed
    from edge_dan.discovery.mdns import MdnsAdvertiser, MdnsBrowser

GRANT_TIMEOUT = 10.0  # seconds to wait for the partner's advertising key after the handshake
CAPABILITIES = ("negotiate",)


class AgentError(EdgeDanError):
    """The agent cannot do what was asked (not started, partner unknown or not nearby)."""


@dataclass(frozen=True)
class PartnerSession:
    """An established session with a paired peer, its advertising keys already exchanged."""

    channel: tcp.SessionChannel
    peer: Peer
    via: Transport


SessionHandler = Callable[[PartnerSession], Awaitable[None]]


class Agent:
    def __init__(
        self,
        owner: Owner,
        *,
        on_session: SessionHandler | None = None,
        on_agenda: AgendaHandler | None = None,
        on_approval: ApprovalHandler | None = None,
        on_pairing: AskOwner | None = None,
        interfaces: Sequence[str] | None = None,
        host: str = "0.0.0.0",  # noqa: S104  (an agent is meant to be reachable on the LAN)
        period: float = DEFAULT_PERIOD,
        limits: SessionLimits | None = None,
        clock: Callable[[], float] = time.time,
        value_model: ValueModel | None = None,
    ) -> None:
        self.owner = owner
        # Judges free-text options in every negotiation: a harmful one is a red line for this
        # agent whatever its strategy (edge_dan.agent.values.harm_red_lines).
        self.value_model = value_model
        self.identity: Identity = owner.identity.ensure()
        self._on_session = on_session
        self.negotiations = (
            Negotiations(self, on_agenda)
            if on_approval is None
            else Negotiations(self, on_agenda, on_approval)
        )
        self._interfaces = interfaces
        self._host = host
        self._period = period
        self._limits = limits
        self.clock = clock
        self.directory = PeerDirectory(Recogniser(period=period))
        self._events: asyncio.Queue[DirectoryEvent] = asyncio.Queue()
        self._changed = asyncio.Event()
        self._refresh_partners()
        self._listeners: list[tcp.Listener] = []  # newest last; see _listen_on
        self._advertiser: MdnsAdvertiser | None = None
        self._browser: MdnsBrowser | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._sessions: set[tcp.SessionChannel] = set()
        self._devices: list[DeviceBinding] = []
        self._rotator: TokenRotator | None = None
        self._on_pairing = on_pairing
        self.device_errors: list[str] = []  # why a bound device did not apply an accord
        self.pairing_errors: list[str] = []  # why a pairing attempt failed, newest last

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        from edge_dan.discovery.mdns import MdnsAdvertiser, MdnsBrowser

        rotator = TokenRotator(self.owner.advertising.own_key(), period=self._period)
        self._rotator = rotator
        advertiser = MdnsAdvertiser(
            rotator, port=self._new_port, interfaces=self._interfaces, clock=self.clock
        )
        await advertiser.start()
        self._advertiser = advertiser
        browser = MdnsBrowser(own=advertiser, interfaces=self._interfaces)
        await browser.start()
        self._browser = browser
        self.spawn(self._follow_lan(browser))

    async def stop(self) -> None:
        """Goodbye on mDNS, end every session, stop listening."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._browser is not None:
            await self._browser.stop()
            self._browser = None
        if self._advertiser is not None:
            await self._advertiser.stop()  # awaits the goodbye before closing zeroconf
            self._advertiser = None
        await asyncio.gather(
            *(channel.close(CloseCode.SHUTTING_DOWN) for channel in list(self._sessions)),
            return_exceptions=True,
        )
        listeners, self._listeners = self._listeners, []
        await asyncio.gather(*(listener.close() for listener in listeners))

    @property
    def port(self) -> int:
        """The port advertised now."""
        if not self._listeners:
            raise AgentError("the agent is not started")
        return self._listeners[-1].port

    def _new_port(self, generation: int) -> int:
        """A fresh listening port for a new advertisement (called by the advertiser).

        Synchronous, so the port is bound before the advertisement naming it goes out; the
        kernel queues connections until the listener task starts accepting.
        """
        sock = socket.create_server((self._host, 0))
        self.spawn(self._listen_on(sock))
        port: int = sock.getsockname()[1]
        return port

    async def _listen_on(self, sock: socket.socket) -> None:
        listener = await tcp.serve(
            self._host, 0, self._responder, self._accept, on_error=lambda error: None, sock=sock
        )
        self._listeners.append(listener)
        # The previous port keeps accepting for one more period; older ones stop accepting (their
        # sessions carry on) and are forgotten once their sessions are over.
        for old in self._listeners[:-2]:
            old.server.close()
        self._listeners = [
            kept for kept in self._listeners[:-2] if kept.channels
        ] + self._listeners[-2:]

    async def open_to_pairing(self, duration: float) -> None:
        """Advertise as open to pairing for ``duration`` seconds (the owner's choice)."""
        if self._advertiser is None:
            raise AgentError("the agent is not started")
        await self._advertiser.open_to_pairing(duration)

    # -- discovery -----------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[DirectoryEvent]:
        """Directory changes as they happen (one consumer at a time)."""
        while True:
            yield await self._events.get()

    async def wait_for_partner(self, identity_key: bytes, timeout: float) -> PeerEntry:
        """The partner's directory entry once it has been seen; ``AgentError`` after ``timeout``."""
        async with asyncio.timeout(timeout):
            while True:
                entry = self.directory.partner(identity_key)
                if entry is not None:
                    return entry
                self._changed.clear()
                await self._changed.wait()
        raise AssertionError("unreachable")  # pragma: no cover

    def _publish(self, changes: list[DirectoryEvent]) -> None:
        for change in changes:
            self._events.put_nowait(change)
        if changes:
            self._changed.set()

    def _refresh_partners(self) -> None:
        keys = self.owner.advertising.partner_keys()
        names = {peer.identity_key: peer.name for peer in self.owner.peers.list()}
        self._publish(self.directory.set_partners(Recogniser(keys, period=self._period), names))

    async def _follow_lan(self, browser: MdnsBrowser) -> None:
        async for event in browser:
            self._publish(apply_lan_event(self.directory, event, self.clock()))

    # -- sessions ------------------------------------------------------------------------------

    def _responder(self, now: float) -> Session:
        return Session(
            Role.RESPONDER,
            self.identity,
            now=now,
            pattern=None,
            capabilities=CAPABILITIES,
            limits=self._limits,
        )

    # -- devices (edge_dan.bridge) ----------------------------------------------------------------

    def bind_device(self, binding: DeviceBinding) -> None:
        """Apply the terms of every future accord that concern this device (see ``bridge``)."""
        self._devices.append(binding)

    async def apply_to_devices(self, accord: Accord) -> tuple[AccordReceipt, ...]:
        """Apply a binding accord to the bound devices it concerns; their acknowledgements.

        A device that refuses or does not answer is reported (``on_device_error``) and skipped:
        the accord stays binding between the people whatever a thermostat says.
        """
        receipts = []
        for binding in self._devices:
            try:
                receipt = await asyncio.to_thread(binding.apply, accord)
            except (EdgeDanError, OSError) as exc:
                self.device_errors.append(f"{type(exc).__name__}: {exc}")
                continue
            if receipt is not None:
                receipts.append(receipt)
        return tuple(receipts)

    async def negotiate(
        self,
        partners: Sequence[bytes],
        title: str,
        space: OutcomeSpace,
        strategy: LittleDan,
        *,
        max_rounds: int = 20,
        timeout: float = 60.0,
        group: bytes = b"",
        protocol: NegotiationProtocol = NegotiationProtocol.MEDIATED,
    ) -> NegotiationResult:
        """Negotiate with nearby partners (under ``group``'s norms, if given), mediated by this
        agent or, with one partner, by alternating offers; the accord, if any, is stored."""
        return await self.negotiations.run(
            partners,
            title,
            space,
            strategy,
            max_rounds=max_rounds,
            timeout=timeout,
            group=group,
            protocol=protocol,
        )

    async def connect(self, identity_key: bytes) -> PartnerSession:
        """A session with a partner seen nearby: IK straight to the key stored at pairing."""
        peer = self.owner.peers.get(identity_key)
        if peer is None:
            raise AgentError(f"{fingerprint(identity_key)} is not paired with this agent")
        entry = self.directory.partner(identity_key)
        if entry is None or "lan" not in entry.links:
            raise AgentError(f"{peer.name} is not nearby on the LAN")
        host, _, port = entry.links["lan"].address.rpartition(":")

        def initiator(now: float) -> Session:
            return Session(
                Role.INITIATOR,
                self.identity,
                now=now,
                pattern="IK",
                remote_static=peer.static_key,
                expected_peer_identity=peer.identity_key,
                capabilities=CAPABILITIES,
                limits=self._limits,
            )

        channel = await tcp.connect(host, int(port), initiator)
        try:
            await self._exchange_grants(channel, peer)
        except BaseException:
            await channel.close(CloseCode.PROTOCOL_ERROR)
            raise
        self._watch(channel, peer)
        return PartnerSession(channel, peer, "lan")

    async def _accept(self, channel: tcp.SessionChannel) -> None:
        decision = decide(self.owner.peers, channel.peer_identity_key, channel.peer_static_key)
        if decision.peer is None:
            open_now = self._rotator is not None and self._rotator.is_open(self.clock())
            if not open_now or self._on_pairing is None:
                await channel.close(CloseCode.REFUSED, "not paired, and pairing is not open")
                return
            await self._pair_on(channel, initiator=False, ask_owner=self._on_pairing)
            return
        try:
            await self._exchange_grants(channel, decision.peer)
        except (AgentError, TimeoutError):
            await channel.close(CloseCode.PROTOCOL_ERROR, "expected the advertising key first")
            return
        self._watch(channel, decision.peer)
        session = PartnerSession(channel, decision.peer, "lan")
        if self._on_session is not None:
            await self._on_session(session)
        else:
            await self.negotiations.serve(session)

    # -- pairing -------------------------------------------------------------------------------

    async def pair(self, entry_key: str, ask_owner: AskOwner) -> Peer:
        """Pair with a stranger seen nearby that is open to pairing (``entry_key`` from the
        directory): numeric comparison, both owners answer, then advertising keys are swapped."""
        entry = self.directory.get(entry_key)
        if entry is None or entry.partner or "lan" not in entry.links:
            raise AgentError("that peer is not a stranger nearby on the LAN")
        if not entry.open_to_pairing:
            raise AgentError("that peer is not open to pairing; its owner has to open it first")
        host, _, port = entry.links["lan"].address.rpartition(":")

        def initiator(now: float) -> Session:
            return Session(
                Role.INITIATOR,
                self.identity,
                now=now,
                pattern="XX",
                capabilities=("pair",),
                limits=self._limits,
            )

        channel = await tcp.connect(host, int(port), initiator)
        peer = await self._pair_on(channel, initiator=True, ask_owner=ask_owner)
        if peer is None:
            raise AgentError("the pairing did not complete")
        return peer

    async def _pair_on(
        self, channel: tcp.SessionChannel, *, initiator: bool, ask_owner: AskOwner
    ) -> Peer | None:
        try:
            peer = await pair_over(
                channel, self.owner.peers, self.identity, initiator=initiator, ask_owner=ask_owner
            )
            await self._exchange_grants(channel, peer)
        except (ProtocolError, AgentError, StoreError, TimeoutError) as error:
            self.pairing_errors.append(f"{type(error).__name__}: {error}")
            await channel.close(CloseCode.REFUSED, "pairing failed")
            return None
        await channel.close()
        return peer

    async def _exchange_grants(self, channel: tcp.SessionChannel, peer: Peer) -> None:
        """Both sides send their advertising key first; keep the partner's."""
        await channel.send(AdvertisingKeyGrant(key=self.owner.advertising.own_key()))
        async with asyncio.timeout(GRANT_TIMEOUT):
            first = await channel.receive()
        if not isinstance(first, AdvertisingKeyGrant):
            raise AgentError(f"{peer.name} did not start with its advertising key; session ended")
        with contextlib.suppress(NotPaired):  # unpaired meanwhile: keep nothing
            self.owner.advertising.set_partner_key(peer.identity_key, first.key)
        self._refresh_partners()

    def _watch(self, channel: tcp.SessionChannel, peer: Peer) -> None:
        """When the session dies (keepalives gave up, the connection broke) rather than closing in
        order, the partner's LAN link is gone."""
        self._sessions.add(channel)

        async def watch() -> None:
            await channel.wait_closed()
            self._sessions.discard(channel)
            error = channel.error
            orderly = isinstance(error, SessionClosed) and error.code != CloseCode.TIMEOUT
            if error is not None and not orderly:
                failed = self.directory.session_failed(peer.identity_key, "lan")
                self._publish([] if failed is None else [failed])

        self.spawn(watch())

    def spawn(self, work: Coroutine[object, object, None]) -> None:
        """Run ``work`` in the background; cancelled when the agent stops."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


__all__ = ["Agent", "AgentError", "PartnerSession", "ProtocolError"]
