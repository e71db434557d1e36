"""The Agent: one Little Dan on the network, composed from the layers below.

It works on the owner's data (an ``edge_dan.owner.Owner``) and the identity in it, the networks
it is found and reached on (the LAN by default: mDNS adverts and TCP sessions,
``edge_dan.agent.networks``), the peer directory fed by all of them, and the rules for who may do
what once a session is up
(``edge_dan.pairing.policy``)::

    async with Agent(owner, on_session=serve_partner) as agent:
        entry = await agent.wait_for_partner(bob_identity, timeout=10)
        session = await agent.connect(bob_identity)
        await session.channel.send(...)

Sessions with partners (paired peers) start with both sides handing over their current
advertising key (``AdvertisingKeyGrant``), before anything else. That is how a key rotated at an
unpairing reaches every remaining partner, and how the first key arrives right after pairing.
Only partners complete a handshake (``Noise_IKpsk1`` with a psk from this agent's advertising key
and the epoch, ``edge_dan.agent.admission``), so a stranger who connects learns neither the static
key nor the identity; while the owner has pairing open a stranger's XX gets through, and pairs or
is refused (``CloseCode.REFUSED``) by the owner's answer. While the owner shows a QR code or has
a code window open (``offer_qr``, ``offer_code``), the pairing it offers gets through too
(``edge_dan.agent.pairing_offers``).

Liveness comes from the sessions: when one dies (its keepalives give up), the partner's link
leaves the directory at once, instead of lingering for zeroconf's 19-minute PTR floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Literal

from edge_dan.agent.admission import SeenEphemerals, admission
from edge_dan.agent.negotiations import (
    AgendaHandler,
    ApprovalHandler,
    MoveObserver,
    NegotiationResult,
    Negotiations,
)
from edge_dan.agent.networks import Network, NetworkHooks, default_networks
from edge_dan.agent.pairing import AskOwner, pair_over
from edge_dan.agent.pairing_offers import (
    CODE_PROLOGUE,
    PAIRING_PATTERNS,
    QR_PROLOGUE,
    NamePeer,
    PairingOffer,
    confirm,
)
from edge_dan.agent.sessions import PartnerSession, SessionHandler
from edge_dan.bridge.accords import AccordReceipt, DeviceBinding
from edge_dan.discovery.directory import (
    TRANSPORTS,
    DirectoryEvent,
    Link,
    PeerDirectory,
    PeerEntry,
    Sighting,
    Transport,
)
from edge_dan.discovery.tokens import (
    DEFAULT_PERIOD,
    Recogniser,
    TokenRotator,
    epoch_of,
    session_psk,
)
from edge_dan.errors import EdgeDanError, StoreError
from edge_dan.identity import Identity, fingerprint
from edge_dan.lifecycle import StartStop
from edge_dan.model import ValueModel
from edge_dan.negotiation.accords.accord import Accord
from edge_dan.negotiation.domain.outcomes import OutcomeSpace
from edge_dan.negotiation.strategy import LittleDan
from edge_dan.owner import NotPaired, Owner
from edge_dan.owner.peers import Peer
from edge_dan.pairing.code import CodeEntry
from edge_dan.pairing.policy import decide
from edge_dan.pairing.qr import QrPayload, QrScan
from edge_dan.pairing.result import PairingResult
from edge_dan.transports.channel import SessionChannel
from edge_dan.wire.errors import PairingError, ProtocolError, SessionClosed
from edge_dan.wire.messages import CloseCode
from edge_dan.wire.messages.discovery import AdvertisingKeyGrant
from edge_dan.wire.messages.negotiation import NegotiationProtocol
from edge_dan.wire.noise import Handshake, KeyPair
from edge_dan.wire.session import Prelude, Role, Session, SessionLimits

GRANT_TIMEOUT = 10.0  # seconds to wait for the partner's advertising key after the handshake
CAPABILITIES = ("negotiate",)
MAX_FAILURES = 100  # failures kept (newest last); older ones are dropped
MAX_EVENTS = 1024  # directory events waiting for a consumer; the oldest are dropped beyond it


class AgentError(EdgeDanError):
    """The agent cannot do what was asked (not started, partner unknown or not nearby)."""


@dataclass(frozen=True)
class AgentFailure:
    """Something the agent tried on its own and could not do; kept in ``Agent.failures``.

    ``kind`` says what was tried: ``"pairing"`` (a pairing session failed or was declined) or
    ``"device"`` (a bound device did not apply an accord). ``error`` is the exception itself.

    ::

        for failure in agent.failures:            # the newest last, at most MAX_FAILURES kept
            print(failure)                        # pairing: PairingRejected: ... declined
    """

    kind: Literal["pairing", "device"]
    error: BaseException
    at: float  # wall-clock seconds

    def __str__(self) -> str:
        return f"{self.kind}: {type(self.error).__name__}: {self.error}"


class Agent(StartStop):
    """One Little Dan on the network: found by nearby agents, pairing, negotiating.

    ``networks`` are the media it is found and reached on (default: the LAN, see
    ``edge_dan.agent.networks``; pass ``[LoopbackNetwork(hub)]`` for agents in one process).
    ``on_session`` runs each partner session (default: answer negotiations by ``on_agenda`` and
    ``on_approval``); ``on_pairing`` asks the owner to confirm a pairing code (pairing is refused
    without it); ``value_model`` judges free-text options, so harmful ones are red lines.
    ``failures`` keeps what it could not do on its own (typed, bounded). ::

        async with Agent(owner, on_pairing=confirm, value_model=model) as agent:
            await agent.open_to_pairing(60)  # or: await agent.wait_for_pairing_offer(10)
            partner = await agent.wait_for_partner(identity_key, timeout=10)
            result = await agent.negotiate([identity_key], "Saturday", space, strategy)

    The README's five-minute tutorial runs two of them end to end.
    """

    def __init__(
        self,
        owner: Owner,
        *,
        networks: Sequence[Network] | None = None,
        on_session: SessionHandler | None = None,
        on_agenda: AgendaHandler | None = None,
        on_approval: ApprovalHandler | None = None,
        on_pairing: AskOwner | None = None,
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
        self.networks: tuple[Network, ...] = tuple(
            default_networks() if networks is None else networks
        )
        if len({network.transport for network in self.networks}) != len(self.networks):
            raise ValueError("one network per transport (the directory keeps one link for each)")
        self._period = period
        self._limits = limits
        self.clock = clock
        self.directory = PeerDirectory(Recogniser(period=period))
        self._events: deque[DirectoryEvent] = deque(maxlen=MAX_EVENTS)
        self._changed = asyncio.Event()
        self._refresh_partners()
        self._started: list[Network] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._sessions: set[SessionChannel] = set()
        self._devices: list[DeviceBinding] = []
        self._rotator: TokenRotator | None = None
        self._seen_ephemerals = SeenEphemerals(period, clock)
        self._on_pairing = on_pairing
        self._offer: PairingOffer | None = None  # a QR code shown or a code window open
        # What the agent could not do on its own, newest last (bounded: a hostile peer that
        # fails pairing in a loop must not grow memory).
        self.failures: deque[AgentFailure] = deque(maxlen=MAX_FAILURES)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start every network: advertise, browse, accept sessions."""
        # The key is read at every rotation, not once: an unpairing replaces it, and adverts
        # must follow at once, as the psk of the handshake (``_responder``) does.
        rotator = TokenRotator(self.owner.advertising.own_key, period=self._period)
        self._rotator = rotator
        try:
            for network in self.networks:
                hooks = NetworkHooks(
                    rotator=rotator,
                    responder=self._responder,
                    accept=functools.partial(self._accept, via=network.transport),
                    seen=self._seen,
                    lost=self._lost,
                    clock=self.clock,
                )
                await network.start(hooks)
                self._started.append(network)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Goodbye on every network, end every session, stop listening."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(
            *(channel.close(CloseCode.SHUTTING_DOWN) for channel in list(self._sessions)),
            return_exceptions=True,
        )
        started, self._started = self._started, []
        for network in reversed(started):
            await network.stop()

    @property
    def port(self) -> int:
        """The TCP port advertised now on the first network that has one."""
        for network in self._started:
            port = getattr(network, "port", None)
            if port is not None:
                return int(port)
        if self._started:  # e.g. Bluetooth LE only
            raise AgentError("none of the agent's networks listens on a TCP port")
        raise AgentError("the agent is not started")

    async def open_to_pairing(self, duration: float) -> None:
        """Advertise as open to pairing for ``duration`` seconds (the owner's choice)."""
        if self._rotator is None or not self._started:
            raise AgentError("the agent is not started")
        self._rotator.open_to_pairing(self.clock(), duration)
        for network in self._started:
            await network.refresh()

    async def close_pairing(self) -> None:
        """Stop advertising as open to pairing now (the owner is done, or changed their mind);
        a QR code or code window still open is withdrawn."""
        if self._offer is not None:
            self._offer.close()
            self._offer = None
        if self._rotator is None or not self._started:
            raise AgentError("the agent is not started")
        self._rotator.close_pairing()
        for network in self._started:
            await network.refresh()

    def _network(self, transport: Transport) -> Network:
        for network in self._started:
            if network.transport == transport:
                return network
        raise AgentError(f"no {transport} network is running")

    def _fail(self, kind: Literal["pairing", "device"], error: BaseException) -> None:
        self.failures.append(AgentFailure(kind, error, self.clock()))

    # -- discovery -----------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[DirectoryEvent]:
        """Directory changes as they happen (one consumer at a time; at most ``MAX_EVENTS``
        wait for it, the oldest are dropped beyond that)."""
        while True:
            while not self._events:
                self._changed.clear()
                await self._changed.wait()
            yield self._events.popleft()

    async def wait_for_partner(self, identity_key: bytes, timeout: float) -> PeerEntry:
        """The partner's directory entry once seen; ``TimeoutError`` after ``timeout``."""
        return await self._wait_for(lambda: self.directory.partner(identity_key), timeout)

    async def wait_for_pairing_offer(self, timeout: float) -> PeerEntry:
        """A stranger nearby whose owner opened pairing (pass its ``key`` to ``pair``);
        ``TimeoutError`` after ``timeout``."""

        def offer() -> PeerEntry | None:
            return next(
                (e for e in self.directory.entries() if not e.partner and e.open_to_pairing),
                None,
            )

        return await self._wait_for(offer, timeout)

    async def _wait_for(self, find: Callable[[], PeerEntry | None], timeout: float) -> PeerEntry:
        async with asyncio.timeout(timeout):
            while True:
                entry = find()
                if entry is not None:
                    return entry
                self._changed.clear()
                await self._changed.wait()
        raise AssertionError("unreachable")  # pragma: no cover

    def _publish(self, changes: list[DirectoryEvent]) -> None:
        self._events.extend(changes)
        if changes:
            self._changed.set()

    def _seen(self, sighting: Sighting) -> None:
        self._publish(self.directory.observe(sighting))

    def _lost(self, transport: Transport, handle: str) -> None:
        lost = self.directory.lost(transport, handle)
        self._publish([] if lost is None else [lost])

    def _refresh_partners(self) -> None:
        keys = self.owner.advertising.partner_keys()
        names = {peer.identity_key: peer.name for peer in self.owner.peers.list()}
        self._publish(self.directory.set_partners(Recogniser(keys, period=self._period), names))

    # -- sessions ------------------------------------------------------------------------------

    def _responder(self, now: float) -> Session:
        wall = self.clock()  # epochs and the pairing window are wall-clock; ``now`` is the loop's
        pairing_open = self._rotator is not None and self._rotator.is_open(wall)
        return Session(
            Role.RESPONDER,
            self.identity,
            now=now,
            pattern=None,
            capabilities=CAPABILITIES,
            limits=self._limits,
            admission=admission(
                self.owner.advertising.own_key(),
                wall,
                self._period,
                first_contact=pairing_open and self._on_pairing is not None,
                seen=self._seen_ephemerals,
                pairing=None if self._offer is None else self._offer.gate,
            ),
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
                self._fail("device", exc)
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
        observe: MoveObserver | None = None,
    ) -> NegotiationResult:
        """Negotiate with nearby partners (under ``group``'s norms, if given), mediated by this
        agent or, with one partner, by alternating offers; the accord, if any, is stored.
        ``observe`` sees every message of it as it happens (``edge_dan.agent.Move``)."""
        return await self.negotiations.run(
            partners,
            title,
            space,
            strategy,
            max_rounds=max_rounds,
            timeout=timeout,
            group=group,
            protocol=protocol,
            observe=observe,
        )

    async def connect(self, identity_key: bytes) -> PartnerSession:
        """A session with a partner seen nearby: IKpsk1 straight to the key stored at pairing,
        with this epoch's psk from the advertising key the partner granted us."""
        peer = self.owner.peers.get(identity_key)
        if peer is None:
            raise AgentError(f"{fingerprint(identity_key)} is not paired with this agent")
        entry = self.directory.partner(identity_key)
        link = self._reachable(entry)
        advertising_key = self.owner.advertising.partner_keys().get(identity_key)
        if entry is None or link is None or advertising_key is None:
            raise AgentError(f"{peer.name} is not nearby")
        psk = session_psk(advertising_key, epoch_of(self.clock(), self._period))

        def initiator(now: float) -> Session:
            return Session(
                Role.INITIATOR,
                self.identity,
                now=now,
                pattern="IKpsk1",
                remote_static=peer.static_key,
                psk=psk,
                expected_peer_identity=peer.identity_key,
                capabilities=CAPABILITIES,
                limits=self._limits,
            )

        channel = await self._network(link.transport).connect(link.address, initiator)
        try:
            await self._exchange_grants(channel, peer)
        except BaseException:
            await channel.close(CloseCode.PROTOCOL_ERROR)
            raise
        self._watch(channel, peer, link.transport)
        return PartnerSession(channel, peer, link.transport)

    def _reachable(self, entry: PeerEntry | None) -> Link | None:
        """The entry's most preferred link over a network this agent runs."""
        if entry is None:
            return None
        running = {network.transport for network in self._started}
        for transport in TRANSPORTS:
            if transport in entry.links and transport in running:
                return entry.links[transport]
        return None

    async def _accept(self, channel: SessionChannel, *, via: Transport) -> None:
        decision = decide(self.owner.peers, channel.peer_identity_key, channel.peer_static_key)
        if decision.peer is None and channel.session.pattern in PAIRING_PATTERNS:
            await self._serve_offer(channel)
            return
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
        self._watch(channel, decision.peer, via)
        session = PartnerSession(channel, decision.peer, via)
        if self._on_session is not None:
            await self._on_session(session)
        else:
            await self.negotiations.serve(session)

    # -- pairing -------------------------------------------------------------------------------

    async def pair(self, entry_key: str, ask_owner: AskOwner) -> Peer:
        """Pair with a stranger seen nearby that is open to pairing (``entry_key`` from the
        directory): numeric comparison, both owners answer, then advertising keys are swapped."""
        entry = self.directory.get(entry_key)
        link = self._reachable(entry)
        if entry is None or entry.partner or link is None:
            raise AgentError("that peer is not a stranger nearby")
        if not entry.open_to_pairing:
            raise AgentError("that peer is not open to pairing; its owner has to open it first")

        def initiator(now: float) -> Session:
            return Session(
                Role.INITIATOR,
                self.identity,
                now=now,
                pattern="XX",
                capabilities=("pair",),
                limits=self._limits,
            )

        channel = await self._network(link.transport).connect(link.address, initiator)
        peer = await self._pair_on(channel, initiator=True, ask_owner=ask_owner)
        if peer is None:
            raise AgentError("the pairing did not complete")
        return peer

    async def offer_qr(self, ttl: float, name_peer: NamePeer) -> PairingOffer:
        """Show a one-time QR code (``offer.render()``, ``offer.text``) for ``ttl`` seconds; the
        device that scans it pairs (``pair_by_qr``). ``await offer.result()`` gives the peer;
        ``name_peer(fingerprint)`` names it (None declines). See ``edge_dan.agent.pairing_offers``.
        """
        return await self._open_offer("qr", ttl, name_peer)

    async def offer_code(self, ttl: float, name_peer: NamePeer) -> PairingOffer:
        """Open a code window for ``ttl`` seconds: ``offer.code`` (8 digits) is typed on the
        other device (``pair_by_code``); 5 attempts. Otherwise as ``offer_qr``."""
        return await self._open_offer("code", ttl, name_peer)

    async def _open_offer(
        self, method: Literal["qr", "code"], ttl: float, name: NamePeer
    ) -> PairingOffer:
        if self._rotator is None or not self._started:
            raise AgentError("the agent is not started")
        if self._offer is not None and self._offer.is_open():
            raise AgentError("a QR code or code window is open already; close it first")
        self._offer = PairingOffer(method, self.identity, ttl, name, self.clock)
        await self.open_to_pairing(ttl)
        return self._offer

    async def _serve_offer(self, channel: SessionChannel) -> None:
        offer = self._offer
        peer = None if offer is None else await offer.serve(channel, self.owner.peers)
        if offer is None or peer is None:
            await channel.close(CloseCode.REFUSED, "pairing failed")
            return
        try:
            await self._exchange_grants(channel, peer)
        except (ProtocolError, AgentError, TimeoutError) as error:
            self._fail("pairing", error)  # the peer is kept; its key arrives next session
        offer.paired(peer)
        await channel.close()

    async def pair_by_qr(self, text: str, name_peer: NamePeer, *, wait: float) -> Peer:
        """Pair with the device showing the QR code whose text is ``text`` (``EDGEDAN:1:...``):
        it is looked for among the strangers nearby open to pairing for up to ``wait`` seconds.
        ``InvalidPairingPayload`` for a text that is not a pairing code."""
        payload = QrPayload.parse(text)

        def start() -> tuple[Callable[[float], Session], Callable[[], PairingResult]]:
            scan = QrScan(payload, KeyPair.from_private(self.identity.static_private))
            handshake = scan.initiator(QR_PROLOGUE)

            def session(now: float) -> Session:
                return Session(
                    Role.INITIATOR,
                    self.identity,
                    now=now,
                    handshake=handshake,
                    capabilities=("pair",),
                    limits=self._limits,
                )

            return session, lambda: scan.result(handshake)

        return await self._pair_by_handshake(start, name_peer, wait, speaks_first=True)

    async def pair_by_code(self, code: str, name_peer: NamePeer, *, wait: float) -> Peer:
        """Pair with the device whose code window shows ``code`` (8 digits; spaces allowed),
        looked for among the strangers nearby open to pairing for up to ``wait`` seconds."""
        CodeEntry(code, KeyPair.generate())  # a malformed code fails here, before any network

        def start() -> tuple[Callable[[float], Session], Callable[[], PairingResult]]:
            entry = CodeEntry(code, KeyPair.from_private(self.identity.static_private))
            ran: list[Handshake] = []

            def answer(reply: bytes) -> Handshake:
                ran.append(entry.receive(reply, CODE_PROLOGUE))
                return ran[0]

            def session(now: float) -> Session:
                return Session(
                    Role.INITIATOR,
                    self.identity,
                    now=now,
                    prelude=Prelude(entry.start(), answer),
                    capabilities=("pair",),
                    limits=self._limits,
                )

            return session, lambda: entry.result(ran[0])

        return await self._pair_by_handshake(start, name_peer, wait, speaks_first=False)

    async def _pair_by_handshake(
        self,
        start: Callable[[], tuple[Callable[[float], Session], Callable[[], PairingResult]]],
        name_peer: NamePeer,
        wait: float,
        *,
        speaks_first: bool,
    ) -> Peer:
        """Try the strangers open to pairing (newest first) until one completes the handshake
        (within ``wait`` seconds); then both owners name each other."""
        tried: set[str] = set()
        last: ProtocolError | None = None
        try:
            async with asyncio.timeout(wait):
                while True:
                    for entry in self._pairing_candidates(tried):
                        tried.add(entry.key)
                        link = self._reachable(entry)
                        assert link is not None  # candidates are reachable
                        session, result = start()
                        try:
                            network = self._network(link.transport)
                            channel = await network.connect(link.address, session)
                        except ProtocolError as error:
                            last = error
                            continue
                        return await self._finish_initiated(
                            channel, result(), name_peer, speaks_first
                        )
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            if last is None:
                raise AgentError(
                    f"no device nearby was open to pairing within {wait:g} s"
                ) from None
            raise PairingError(
                "no device nearby took this code: it is wrong, used already or expired, or its"
                " device is out of reach; nothing changed"
            ) from None

    def _pairing_candidates(self, tried: set[str]) -> list[PeerEntry]:
        offers = [
            e
            for e in self.directory.entries()
            if not e.partner and e.open_to_pairing and e.key not in tried
        ]
        offers = [e for e in offers if self._reachable(e) is not None]
        return sorted(offers, key=lambda e: e.preferred.last_seen, reverse=True)

    async def _finish_initiated(
        self,
        channel: SessionChannel,
        result: PairingResult,
        name_peer: NamePeer,
        speaks_first: bool,
    ) -> Peer:
        try:
            peer = await confirm(
                channel, result, self.owner.peers, name_peer, speaks_first=speaks_first
            )
            await self._exchange_grants(channel, peer)
        except (ProtocolError, AgentError, StoreError, TimeoutError) as error:
            self._fail("pairing", error)
            await channel.close(CloseCode.REFUSED, "pairing failed")
            if isinstance(error, TimeoutError):
                raise PairingError(
                    "the other owner did not answer in time; nothing was kept"
                ) from None
            raise
        await channel.close()
        return peer

    async def unpair(self, identity_key: bytes) -> bool:
        """Unpair a partner (``Peers.remove``: its keys go, our advertising key is replaced) and
        advertise under the new key at once, so the former partner no longer recognises us.
        True if it was paired. Remaining partners get the new key at their next session."""
        removed = self.owner.peers.remove(identity_key)
        if removed:
            self._refresh_partners()
            for network in self._started:
                await network.refresh()
        return removed

    async def _pair_on(
        self, channel: SessionChannel, *, initiator: bool, ask_owner: AskOwner
    ) -> Peer | None:
        try:
            peer = await pair_over(
                channel, self.owner.peers, self.identity, initiator=initiator, ask_owner=ask_owner
            )
            await self._exchange_grants(channel, peer)
        except (ProtocolError, AgentError, StoreError, TimeoutError) as error:
            self._fail("pairing", error)
            await channel.close(CloseCode.REFUSED, "pairing failed")
            return None
        await channel.close()
        return peer

    async def _exchange_grants(self, channel: SessionChannel, peer: Peer) -> None:
        """Both sides send their advertising key first; keep the partner's."""
        await channel.send(AdvertisingKeyGrant(key=self.owner.advertising.own_key()))
        async with asyncio.timeout(GRANT_TIMEOUT):
            first = await channel.receive()
        if not isinstance(first, AdvertisingKeyGrant):
            raise AgentError(f"{peer.name} did not start with its advertising key; session ended")
        with contextlib.suppress(NotPaired):  # unpaired meanwhile: keep nothing
            self.owner.advertising.set_partner_key(peer.identity_key, first.key)
        self._refresh_partners()

    def _watch(self, channel: SessionChannel, peer: Peer, via: Transport) -> None:
        """When the session dies (keepalives gave up, the connection broke) rather than closing in
        order, the partner's link over that network is gone."""
        self._sessions.add(channel)

        async def watch() -> None:
            await channel.wait_closed()
            self._sessions.discard(channel)
            error = channel.error
            orderly = isinstance(error, SessionClosed) and error.code != CloseCode.TIMEOUT
            if error is not None and not orderly:
                failed = self.directory.session_failed(peer.identity_key, via)
                self._publish([] if failed is None else [failed])

        self.spawn(watch())

    def spawn(self, work: Coroutine[object, object, None]) -> None:
        """Run ``work`` in the background; cancelled when the agent stops."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


__all__ = ["Agent", "AgentError", "AgentFailure", "PartnerSession", "ProtocolError"]
