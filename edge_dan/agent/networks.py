"""How an agent is found and reached: one ``Network`` per medium, handed to the ``Agent``.

On each medium four jobs belong together, because an advert names the address its listener
holds: advertise this agent's rotating token, report the adverts seen, accept sessions, and
open sessions to an address it reported. A ``Network`` does all four for one medium:

- ``LanNetwork`` (the default): mDNS/DNS-SD adverts through zeroconf and TCP sessions; the
  listening port rotates with the advert, so no stable value links one rotation to the next.
- ``LoopbackNetwork``: TCP on 127.0.0.1, and adverts passed through a ``LoopbackHub`` in this
  process instead of multicast. Several agents in one process (apps' tests, demos, simulations)
  use real sockets and the real handshake, with no root, no namespace and nothing on the LAN.
- ``BleNetwork`` (``edge_dan.agent.ble_network``): Bluetooth LE; the token in BLE advertisements
  from a peripheral, a central's scans, sessions over the GATT pipe. Give it a central and a
  peripheral of any backend, or ``BleNetwork.for_platform()`` for this machine's.

The agent keeps one directory across its networks and reaches a partner over the link the
directory prefers (the LAN when both are up).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from edge_dan.discovery.directory import Sighting, Transport
from edge_dan.discovery.feed import lan_sighting
from edge_dan.discovery.tokens import TokenRotator
from edge_dan.lifecycle import cancel_and_wait
from edge_dan.transports import tcp
from edge_dan.transports.channel import SessionChannel
from edge_dan.wire.session import Session

if TYPE_CHECKING:  # importing them loads zeroconf; LanNetwork.start() does that when needed
    from edge_dan.discovery.mdns import MdnsAdvertiser, MdnsBrowser, PeerEvent

SessionFactory = Callable[[float], Session]
MAX_SLEEP = 60.0  # re-check the advert at least this often (a clock may jump)
Acceptor = Callable[[SessionChannel], Awaitable[None]]


@dataclass(frozen=True)
class NetworkHooks:
    """What the agent hands a network when it starts it."""

    rotator: TokenRotator  # the advert to publish, and when it changes
    responder: SessionFactory  # a responder session for each incoming connection
    accept: Acceptor  # runs an established incoming session (the channel closes after)
    seen: Callable[[Sighting], None]  # an advert was seen (new, or changed)
    lost: Callable[[Transport, str], None]  # the advert with this handle was withdrawn
    clock: Callable[[], float]  # wall-clock seconds: epochs must agree between agents


class Network(Protocol):
    """One medium the agent is found and reached on: what ``Agent(networks=...)`` takes.

    ``LanNetwork`` (mDNS and TCP), ``BleNetwork`` and ``LoopbackNetwork`` are the ones this
    package has; an app that lets the owner choose types its choice with this::

        def networks(kind: str) -> list[Network]:
            return [LoopbackNetwork(hub)] if kind == "demo" else [LanNetwork()]

        agent = Agent(owner, networks=networks(choice))
    """

    @property
    def transport(self) -> Transport:
        """The directory's name for this network's links."""
        ...

    async def start(self, hooks: NetworkHooks) -> None: ...

    async def stop(self) -> None:
        """Withdraw the advert (a goodbye where the medium has one), stop accepting."""
        ...

    async def connect(self, address: str, initiator: SessionFactory) -> SessionChannel:
        """A session to an address this network reported; raises ``ProtocolError`` on failure."""
        ...

    async def refresh(self) -> None:
        """Publish the advert again now: the rotator changed (e.g. the owner opened pairing)."""
        ...


class RotatingTcpListener:
    """TCP listeners that move to a fresh port at every rotation of the advert.

    The previous port keeps accepting for one more rotation (for peers who saw the older advert);
    older listeners stop accepting, and are forgotten once their sessions are over.
    """

    def __init__(self, host: str, responder: SessionFactory, accept: Acceptor) -> None:
        self._host = host
        self._responder = responder
        self._accept = accept
        self._listeners: list[tcp.Listener] = []  # newest last
        self._tasks: set[asyncio.Task[None]] = set()
        self._port: int | None = None  # bound at once; its listener starts a moment later

    @property
    def port(self) -> int | None:
        return self._port

    def new_port(self, generation: int = 0) -> int:
        """Bind a fresh port now (synchronously, so an advert can name it at once).

        The kernel queues connections until the listener task starts accepting.
        """
        sock = socket.create_server((self._host, 0))
        task = asyncio.create_task(self._listen_on(sock))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        port: int = sock.getsockname()[1]
        self._port = port
        return port

    async def _listen_on(self, sock: socket.socket) -> None:
        listener = await tcp.serve(
            self._host, 0, self._responder, self._accept, on_error=lambda error: None, sock=sock
        )
        self._listeners.append(listener)
        for old in self._listeners[:-2]:
            old.server.close()
        self._listeners = [
            kept for kept in self._listeners[:-2] if kept.channels
        ] + self._listeners[-2:]

    async def close(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
        listeners, self._listeners = self._listeners, []
        self._port = None
        await asyncio.gather(*(listener.close() for listener in listeners))


class _TcpNetwork:
    """What both TCP networks share: the rotating listener, a background task following the
    medium, and sessions to "host:port" addresses."""

    transport: Transport = "lan"

    def __init__(self) -> None:
        self._listener: RotatingTcpListener | None = None
        self._follow: asyncio.Task[None] | None = None

    @property
    def port(self) -> int | None:
        """The port advertised now (None before ``start``)."""
        return self._listener.port if self._listener is not None else None

    async def connect(self, address: str, initiator: SessionFactory) -> SessionChannel:
        host, _, port = address.rpartition(":")
        return await tcp.connect(host, int(port), initiator)

    async def _stop_following(self) -> None:
        if self._follow is not None:
            await cancel_and_wait(self._follow)
            self._follow = None

    async def _close_listener(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None


class LanNetwork(_TcpNetwork):
    """The local network: mDNS/DNS-SD adverts (zeroconf) and TCP sessions.

    ``interfaces`` limits mDNS to those interfaces (names or IPv4 addresses; default: all);
    ``host`` is where the listener binds (default: every address, as an agent is meant to be
    reachable on the LAN).

    ::

        Agent(owner, networks=[LanNetwork(interfaces=["wlan0"])])
    """

    def __init__(
        self,
        *,
        interfaces: Sequence[str] | None = None,
        host: str = "0.0.0.0",  # noqa: S104  (reachable on the LAN by design)
    ) -> None:
        super().__init__()
        self._interfaces = interfaces
        self._host = host
        self._advertiser: MdnsAdvertiser | None = None
        self._browser: MdnsBrowser | None = None

    async def start(self, hooks: NetworkHooks) -> None:
        from edge_dan.discovery.mdns import MdnsAdvertiser, MdnsBrowser

        self._listener = RotatingTcpListener(self._host, hooks.responder, hooks.accept)
        advertiser = MdnsAdvertiser(
            hooks.rotator,
            port=self._listener.new_port,
            interfaces=self._interfaces,
            clock=hooks.clock,
        )
        await advertiser.start()
        self._advertiser = advertiser
        browser = MdnsBrowser(own=advertiser, interfaces=self._interfaces)
        await browser.start()
        self._browser = browser
        self._follow = asyncio.create_task(self._follow_lan(browser, hooks))

    async def _follow_lan(self, browser: MdnsBrowser, hooks: NetworkHooks) -> None:
        from edge_dan.discovery.mdns import PeerRemoved

        event: PeerEvent
        async for event in browser:
            if isinstance(event, PeerRemoved):
                hooks.lost("lan", event.peer.instance)
                continue
            hooks.seen(lan_sighting(event.peer, hooks.clock()))

    async def stop(self) -> None:
        await self._stop_following()
        if self._browser is not None:
            await self._browser.stop()
            self._browser = None
        if self._advertiser is not None:
            await self._advertiser.stop()  # awaits the goodbye before closing zeroconf
            self._advertiser = None
        await self._close_listener()

    async def refresh(self) -> None:
        if self._advertiser is not None:
            await self._advertiser.refresh()


class LoopbackHub:
    """Stands in for multicast between ``LoopbackNetwork``s of one process.

    Each member's current advert is shown to every other member, and its withdrawal too; a member
    that joins late is shown what is already published. Nothing leaves the process.

    ::

        hub = LoopbackHub()                       # one per process (or per test)
        a = Agent(ana, networks=[LoopbackNetwork(hub)])
        b = Agent(ben, networks=[LoopbackNetwork(hub)])
    """

    def __init__(self) -> None:
        self._members: list[LoopbackNetwork] = []
        self._published: dict[LoopbackNetwork, Sighting] = {}

    def join(self, member: LoopbackNetwork) -> None:
        self._members.append(member)
        for owner, sighting in self._published.items():
            member.saw(sighting, owner)

    def leave(self, member: LoopbackNetwork) -> None:
        self.withdraw(member)
        with contextlib.suppress(ValueError):
            self._members.remove(member)

    def publish(self, member: LoopbackNetwork, sighting: Sighting) -> None:
        self.withdraw(member)
        self._published[member] = sighting
        for other in self._members:
            if other is not member:
                other.saw(sighting, member)

    def withdraw(self, member: LoopbackNetwork) -> None:
        old = self._published.pop(member, None)
        if old is None:
            return
        for other in self._members:
            if other is not member:
                other.gone(old.handle)


class LoopbackNetwork(_TcpNetwork):
    """Agents in one process: TCP on 127.0.0.1, adverts through a shared ``LoopbackHub``.

    It behaves as the LAN does (its links are ``"lan"`` links): the advert rotates with the token,
    each rotation under a fresh handle and a fresh port, a withdrawal is a goodbye.

    ::

        Agent(owner, networks=[LoopbackNetwork(hub)])   # hub: a LoopbackHub shared by the agents
    """

    _handles = itertools.count(1)

    def __init__(self, hub: LoopbackHub) -> None:
        super().__init__()
        self._hub = hub
        self._hooks: NetworkHooks | None = None
        self._generation: int | None = None
        self._wakeup = asyncio.Event()

    async def start(self, hooks: NetworkHooks) -> None:
        self._hooks = hooks
        self._listener = RotatingTcpListener("127.0.0.1", hooks.responder, hooks.accept)
        self._publish()
        self._hub.join(self)
        self._follow = asyncio.create_task(self._follow_rotations())

    def saw(self, sighting: Sighting, owner: LoopbackNetwork) -> None:
        if self._hooks is not None:
            self._hooks.seen(sighting)

    def gone(self, handle: str) -> None:
        if self._hooks is not None:
            self._hooks.lost("lan", handle)

    def _publish(self) -> None:
        """Publish the current advert unless it is already out (a new handle and port if not)."""
        assert self._hooks is not None and self._listener is not None
        now = self._hooks.clock()
        advert = self._hooks.rotator.advert(now)
        generation = self._hooks.rotator.generation
        if generation == self._generation:
            return
        port = self._listener.new_port(generation)
        handle = f"loopback-{next(self._handles)}"
        self._generation = generation
        self._hub.publish(self, Sighting("lan", handle, f"127.0.0.1:{port}", advert, now))

    async def _follow_rotations(self) -> None:
        assert self._hooks is not None
        while True:
            now = self._hooks.clock()
            delay = self._hooks.rotator.next_change(now) - now
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wakeup.wait(), timeout=min(max(delay, 0) + 0.001, MAX_SLEEP)
                )
            self._publish()

    async def stop(self) -> None:
        await self._stop_following()
        self._hub.leave(self)
        self._hooks = None
        await self._close_listener()

    async def refresh(self) -> None:
        if self._hooks is not None:
            self._publish()
            self._wakeup.set()


def default_networks() -> list[Network]:
    """The networks an agent uses when none are given: the LAN only.

    Bluetooth LE is the owner's or the app's choice, not a default::

        Agent(owner, networks=[LanNetwork(), BleNetwork.for_platform()])

    Whether BLE would *work* here cannot be told cheaply and without side effects: an adapter in
    ``/sys/class/bluetooth`` and bleak installed say nothing of bluetoothd running, the adapter
    being powered, LE advertising being allowed, or D-Bus letting this user register a service.
    Only trying (D-Bus calls, opening a controller) tells, and a failed start would stop the
    whole agent, LAN included. And on a stock BlueZ the advertisement leaves from the adapter's
    public address (unless ``Privacy`` is on), a stable identifier that rotating tokens cannot
    hide: an agent should not start broadcasting it because a library happens to be installed.
    ``BleNetwork.for_platform`` says at once what is missing where BLE cannot run.
    """
    return [LanNetwork()]


__all__ = [
    "LanNetwork",
    "LoopbackHub",
    "LoopbackNetwork",
    "Network",
    "NetworkHooks",
    "RotatingTcpListener",
    "default_networks",
]
