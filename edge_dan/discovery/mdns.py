"""mDNS/DNS-SD discovery on the LAN: publish and browse ``_littledan._tcp.local.`` with zeroconf.

An agent's advertisement says as little as a stranger may know (see ``tokens`` for the rotating
token)::

    v=1             advertisement protocol version
    t=<20 chars>    Advert.token_text(): the rotating token, base32
    p=0|1           open to pairing (the owner switched it on, for a limited time)
    c=<hex>         capabilities bitmask (CAP_*), shared by every agent of a release

No names, no fingerprints, and every rotation of the token (``TokenRotator.generation``) also
draws a fresh random instance name and a fresh random host name (and, if the caller supplies a
port callback, a fresh port), so nothing but what every agent shares survives a rotation. The IP
address is the one thing mDNS cannot hide: it is the host's, and rotating it is the OS's job.
A rotation says goodbye to the old names before probing the new ones, so two advertisements of
one agent never coexist (which would link them); the price is a gap of about 1.5 s (probing and
the first announcement) during which the agent is not listed.

Liveness does not come from here. zeroconf keeps a PTR record for about 19 minutes after a peer
died without its goodbye (it floors PTR TTLs at 1125 s), so ``PeerRemoved`` reliably follows only a
goodbye; a peer that vanished silently is noticed by the session layer's keepalives.

IPv4 only: zeroconf runs with ``IPVersion.V4Only`` and only A records are published. The default
interfaces are every non-loopback IPv4 address of the host; pass addresses or interface names to
choose. Use::

    async with MdnsAdvertiser(rotator, port=listener.port) as advertiser:
        async with MdnsBrowser(own=advertiser) as browser:
            async for event in browser:      # PeerAdded / PeerUpdated / PeerRemoved
                ...

Importing this module imports zeroconf; ``edge_dan.discovery`` itself does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ifaddr
from zeroconf import (
    BadTypeInNameException,
    IPVersion,
    NonUniqueNameException,
    ServiceInfo,
    ServiceStateChange,
    Zeroconf,
)
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from edge_dan.discovery.tokens import (
    ADVERT_VERSION,
    FLAG_OPEN_TO_PAIRING,
    Advert,
    TokenError,
    TokenRotator,
)
from edge_dan.errors import EdgeDanError
from edge_dan.lifecycle import StartStop, cancel_and_wait

log = logging.getLogger(__name__)

SERVICE_TYPE = "_littledan._tcp.local."
CAP_NEGOTIATE = 0x1
CAP_PAIR = 0x2
CAP_BRIDGE = 0x4
DEFAULT_CAPABILITIES = CAP_NEGOTIATE | CAP_PAIR

TOKEN_TEXT_LEN = 20  # base32 of the 12-byte token, unpadded
MAX_CAPABILITIES_LEN = 8  # hex digits: 32 capability bits is plenty for a long time
RESOLVE_TIMEOUT_MS = 3000
MAX_PEERS = 256  # instances tracked at once; more on one LAN is a flood, not a home
MAX_PENDING_EVENTS = 1024  # events waiting for the consumer; the oldest are dropped beyond
OWN_NAMES_KEPT = 8  # past instance names the advertiser remembers, for ``is_own``
MAX_SLEEP = 30.0  # the rotation loop re-reads the clock at least this often (clock jumps)

_HEX = re.compile(rf"[0-9a-f]{{1,{MAX_CAPABILITIES_LEN}}}")
_TOKEN_TEXT = re.compile(rf"[a-z2-7]{{{TOKEN_TEXT_LEN}}}")


class DiscoveryError(EdgeDanError):
    """mDNS discovery cannot run as configured (no usable interface, a name that never sticks)."""


class MalformedAdvert(TokenError):
    """A TXT record does not carry a valid edge_dan advertisement."""


# -- TXT records (pure) ------------------------------------------------------------------------


def _check_capabilities(capabilities: int) -> None:
    if not 0 <= capabilities < 1 << (4 * MAX_CAPABILITIES_LEN):
        raise ValueError(
            f"capabilities must fit {4 * MAX_CAPABILITIES_LEN} bits, got {capabilities}"
        )


def build_txt(advert: Advert, capabilities: int = DEFAULT_CAPABILITIES) -> dict[str, str]:
    """The TXT record for ``advert``: exactly the keys v, t, p and c."""
    _check_capabilities(capabilities)
    return {
        "v": str(advert.version),
        "t": advert.token_text(),
        "p": "1" if advert.open_to_pairing else "0",
        "c": format(capabilities, "x"),
    }


def parse_txt(properties: Mapping[bytes, bytes | None]) -> tuple[Advert, int]:
    """Advert and capabilities from a TXT record; raises ``MalformedAdvert`` on anything else.

    Strict on purpose (records come from anyone on the LAN): exact formats, no extra spaces,
    known version only. Unknown extra keys are ignored, as DNS-SD asks (RFC 6763, 6.4).
    """
    fields: dict[str, str] = {}
    for key in (b"v", b"t", b"p", b"c"):
        value = properties.get(key)
        if value is None:
            raise MalformedAdvert(f"TXT key {key.decode()!r} is missing or has no value")
        try:
            fields[key.decode()] = value.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedAdvert(f"TXT key {key.decode()!r} is not ASCII") from None
    if fields["v"] != str(ADVERT_VERSION):
        raise MalformedAdvert(f"unknown advertisement version {fields['v'][:8]!r}")
    if not _TOKEN_TEXT.fullmatch(fields["t"]):
        raise MalformedAdvert(f"token {fields['t'][:24]!r} is not {TOKEN_TEXT_LEN} base32 chars")
    if fields["p"] not in ("0", "1"):
        raise MalformedAdvert(f"open-to-pairing flag {fields['p'][:8]!r} is not 0 or 1")
    if not _HEX.fullmatch(fields["c"]):
        raise MalformedAdvert(f"capabilities {fields['c'][:12]!r} are not short lowercase hex")
    flags = FLAG_OPEN_TO_PAIRING if fields["p"] == "1" else 0
    advert = Advert(ADVERT_VERSION, flags, Advert.token_from_text(fields["t"]))
    return advert, int(fields["c"], 16)


# -- interfaces --------------------------------------------------------------------------------


def _ipv4_by_interface() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if ip.is_IPv4 and isinstance(ip.ip, str):
                found.setdefault(adapter.nice_name, []).append(ip.ip)
    return found


def resolve_interfaces(interfaces: Sequence[str] | None) -> list[str]:
    """IPv4 addresses to run mDNS on: every non-loopback one, or those of the given interfaces.

    ``interfaces`` holds IPv4 addresses or interface names (``"eth0"``).
    """
    by_name = _ipv4_by_interface()
    if interfaces is None:
        chosen = [
            address
            for addresses in by_name.values()
            for address in addresses
            if not ipaddress.IPv4Address(address).is_loopback
        ]
        if not chosen:
            raise DiscoveryError(
                "no non-loopback IPv4 address to run mDNS on; connect to a network or pass "
                "interfaces=[...] explicitly"
            )
        return sorted(set(chosen))
    chosen = []
    for item in interfaces:
        if item in by_name:
            chosen.extend(by_name[item])
            continue
        try:
            ipaddress.IPv4Address(item)
        except ValueError:
            raise DiscoveryError(
                f"{item!r} is neither an IPv4 address nor an interface with an IPv4 address "
                f"(interfaces here: {', '.join(sorted(by_name)) or 'none'})"
            ) from None
        chosen.append(item)
    if not chosen:
        raise DiscoveryError(f"the interfaces {list(interfaces)} have no IPv4 address")
    return sorted(set(chosen))


def _new_zeroconf(addresses: list[str]) -> AsyncZeroconf:
    return AsyncZeroconf(interfaces=list(addresses), ip_version=IPVersion.V4Only)


class _OnZeroconf(StartStop):
    """Base of the advertiser and the browser: ``async with`` starts and stops one, and it runs
    on a zeroconf instance that is its own to make and close unless the caller passed one."""

    def __init__(self, interfaces: Sequence[str] | None, aiozc: AsyncZeroconf | None) -> None:
        self._interfaces = interfaces
        self._aiozc = aiozc
        self._owns_aiozc = aiozc is None

    def _open_zeroconf(self) -> AsyncZeroconf:
        if self._aiozc is None:
            self._aiozc = _new_zeroconf(resolve_interfaces(self._interfaces))
        return self._aiozc

    async def _close_zeroconf(self) -> None:
        if self._owns_aiozc and self._aiozc is not None:
            await self._aiozc.async_close()
            self._aiozc = None


# -- advertising -------------------------------------------------------------------------------


PortSource = int | Callable[[int], int]


class MdnsAdvertiser(_OnZeroconf):
    """Publishes this agent, re-publishing under fresh names whenever its advertisement changes.

    ``port`` is the agent's TCP listener port, or a callable given the rotation generation that
    returns the port to advertise for it (so the listener can move too). ``clock`` gives wall-clock
    seconds (epochs must agree between agents). Pass ``aiozc`` to share one zeroconf instance
    with a browser; it is then the caller's to close.
    """

    def __init__(
        self,
        rotator: TokenRotator,
        port: PortSource,
        *,
        capabilities: int = DEFAULT_CAPABILITIES,
        interfaces: Sequence[str] | None = None,
        clock: Callable[[], float] = time.time,
        aiozc: AsyncZeroconf | None = None,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        _check_capabilities(capabilities)  # fail here, not at the first rotation
        super().__init__(interfaces, aiozc)
        self._rotator = rotator
        self._port = port
        self._capabilities = capabilities
        self._clock = clock
        self._random = random
        self._info: ServiceInfo | None = None
        self._generation: int | None = None
        self._own_names: deque[str] = deque(maxlen=OWN_NAMES_KEPT)
        self._lock = asyncio.Lock()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # -- lifecycle --

    async def start(self) -> None:
        """Register (probe, then announce) and start following rotations."""
        if self._task is not None:
            return
        self._open_zeroconf()
        self._stopping = False
        try:
            await self._publish()
        except BaseException:
            await self._close_zeroconf()
            raise
        if not self._stopping:  # stop() may have run while we were probing
            self._task = asyncio.create_task(self._follow_rotations())

    async def stop(self) -> None:
        """Withdraw with a goodbye and wait until it is on the wire, then close.

        ``async_unregister_service`` only schedules the goodbye; closing zeroconf before awaiting
        what it returns drops the goodbye, and peers would keep us listed for ~19 minutes.
        """
        self._stopping = True
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        async with self._lock:
            await self._withdraw()
        await self._close_zeroconf()

    # -- state --

    @property
    def instance_name(self) -> str | None:
        """The full service name now published (``<random>._littledan._tcp.local.``)."""
        return self._info.name if self._info is not None else None

    @property
    def host_name(self) -> str | None:
        return self._info.server if self._info is not None else None

    @property
    def port(self) -> int | None:
        return self._info.port if self._info is not None else None

    @property
    def advert(self) -> Advert:
        return self._rotator.advert(self._clock())

    def is_own(self, instance_name: str) -> bool:
        """Whether a browsed name is (or recently was) ours; browsers skip their own agent."""
        return instance_name.lower() in self._own_names

    # -- the owner's switches --

    async def open_to_pairing(self, duration: float) -> None:
        """Advertise as open to pairing for ``duration`` seconds (a rotation: all names change)."""
        self._rotator.open_to_pairing(self._clock(), duration)
        await self.refresh()

    async def close_pairing(self) -> None:
        self._rotator.close_pairing()
        await self.refresh()

    async def refresh(self) -> None:
        """Re-publish now if the advertisement changed (rotation or pairing window)."""
        if self._task is None:
            raise DiscoveryError("the advertiser is not running; use `async with` or start()")
        await self._publish()
        self._wakeup.set()  # the next change may now come sooner

    # -- machinery --

    def _random_label(self, size: int) -> str:
        return self._random(size).hex()

    def _new_info(self, advert: Advert, generation: int, addresses: list[str]) -> ServiceInfo:
        port = self._port(generation) if callable(self._port) else self._port
        if not 0 < port < 65536:
            raise DiscoveryError(f"cannot advertise port {port}: it must be 1..65535")
        return ServiceInfo(
            SERVICE_TYPE,
            f"{self._random_label(8)}.{SERVICE_TYPE}",
            port=port,
            properties=build_txt(advert, self._capabilities),
            server=f"{self._random_label(6)}.local.",
            parsed_addresses=addresses,
        )

    async def _publish(self) -> None:
        """Publish the current advertisement, unless what is published is already current."""
        async with self._lock:
            advert = self._rotator.advert(self._clock())
            generation = self._rotator.generation
            if self._info is not None and generation == self._generation:
                return
            if self._stopping or self._aiozc is None:
                return
            # Goodbye first, then the new names: two of our adverts never coexist on the LAN.
            await self._withdraw()
            addresses = resolve_interfaces(self._interfaces)
            for _attempt in range(3):
                info = self._new_info(advert, generation, addresses)
                self._own_names.append(info.key)
                try:
                    announced = await self._aiozc.async_register_service(info)
                except NonUniqueNameException:
                    log.info("random mDNS name %s was taken; drawing another", info.name)
                    continue
                # Registered: from here on a stop() must say goodbye to it, even mid-announcement.
                self._info, self._generation = info, generation
                await announced
                log.debug("published %s on port %d", info.name, info.port)
                return
            raise DiscoveryError(
                "three random mDNS names in a row were taken: something on this network "
                "answers every probe; check for a misbehaving responder"
            )

    async def _withdraw(self) -> None:
        if self._info is None or self._aiozc is None:
            return
        info, self._info = self._info, None
        goodbye = await self._aiozc.async_unregister_service(info)
        await goodbye

    async def _follow_rotations(self) -> None:
        while True:
            now = self._clock()
            delay = self._rotator.next_change(now) - now
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wakeup.wait(), timeout=min(max(delay, 0) + 0.001, MAX_SLEEP)
                )
            try:
                await self._publish()
            except (DiscoveryError, OSError, NonUniqueNameException, BadTypeInNameException):
                # A network hiccup must not end advertising for good; retry at the next wake.
                log.warning("re-publishing the mDNS advertisement failed", exc_info=True)
                await asyncio.sleep(1.0)


# -- browsing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MdnsPeer:
    """One agent seen on the LAN: where to connect and what it advertises."""

    instance: str  # full service name; random, changes at every rotation
    host: str  # the random host name behind it
    addresses: tuple[str, ...]  # IPv4
    port: int
    advert: Advert
    capabilities: int


@dataclass(frozen=True)
class PeerAdded:
    peer: MdnsPeer


@dataclass(frozen=True)
class PeerUpdated:
    peer: MdnsPeer  # the new state (TXT, port or addresses changed)


@dataclass(frozen=True)
class PeerRemoved:
    peer: MdnsPeer  # the last state seen before the goodbye (or before its TXT became invalid)


PeerEvent = PeerAdded | PeerUpdated | PeerRemoved


class MdnsBrowser(_OnZeroconf):
    """Browses ``_littledan._tcp`` and turns what it sees into ``PeerEvent``s.

    Consume with ``async for event in browser`` or ``await browser.next_event()``, or pass
    ``on_event``. ``own`` (an advertiser, or any ``is_own(name)`` object) hides our own agent.
    Services whose TXT is not a valid advertisement are ignored (logged at debug level).
    """

    def __init__(
        self,
        *,
        own: MdnsAdvertiser | None = None,
        interfaces: Sequence[str] | None = None,
        aiozc: AsyncZeroconf | None = None,
        on_event: Callable[[PeerEvent], None] | None = None,
        max_peers: int = MAX_PEERS,
    ) -> None:
        super().__init__(interfaces, aiozc)
        self._own = own
        self._on_event = on_event
        self._max_peers = max_peers
        self._peers: dict[str, MdnsPeer] = {}
        self._present: set[str] = set()  # names the PTR browse lists now (tracked or not)
        self._resolving: dict[str, asyncio.Task[None]] = {}
        self._events: deque[PeerEvent] = deque()
        self._ready = asyncio.Event()
        self._browser: AsyncServiceBrowser | None = None
        self._closed = False

    async def start(self) -> None:
        if self._browser is not None:
            return
        self._browser = AsyncServiceBrowser(
            self._open_zeroconf().zeroconf, SERVICE_TYPE, handlers=[self._on_state_change]
        )

    async def stop(self) -> None:
        self._closed = True
        self._ready.set()
        if self._browser is not None:
            await self._browser.async_cancel()
            self._browser = None
        tasks = list(self._resolving.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._close_zeroconf()

    @property
    def peers(self) -> dict[str, MdnsPeer]:
        """Agents seen now, by instance name (a copy)."""
        return dict(self._peers)

    async def next_event(self) -> PeerEvent:
        """The next event; raises ``DiscoveryError`` once the browser is stopped and drained."""
        while not self._events:
            if self._closed:
                raise DiscoveryError("the browser is stopped")
            self._ready.clear()
            await self._ready.wait()
        return self._events.popleft()

    def __aiter__(self) -> AsyncIterator[PeerEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[PeerEvent]:
        while True:
            try:
                yield await self.next_event()
            except DiscoveryError:
                return

    # -- machinery (runs on the event loop; zeroconf calls handlers there) --

    def _on_state_change(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
        **_: Any,
    ) -> None:
        key = name.lower()
        if self._closed or (self._own is not None and self._own.is_own(key)):
            return
        if state_change is ServiceStateChange.Removed:
            self._present.discard(key)
            pending = self._resolving.pop(key, None)
            if pending is not None:
                pending.cancel()
            self._forget(key)
            return
        if state_change is ServiceStateChange.Added:
            if key not in self._present and len(self._present) >= self._max_peers:
                log.debug("ignoring %s: already tracking %d peers", name, self._max_peers)
                return
            self._present.add(key)
        elif key not in self._present:
            # An update for a withdrawn service (its host's goodbye arriving after the PTR's,
            # say): resolving it from records about to expire would list a ghost.
            return
        previous = self._resolving.get(key)
        if previous is not None:
            previous.cancel()
        self._resolving[key] = asyncio.create_task(self._resolve(zeroconf, name, key))

    async def _resolve(self, zeroconf: Zeroconf, name: str, key: str) -> None:
        try:
            info = AsyncServiceInfo(SERVICE_TYPE, name)
            if not await info.async_request(zeroconf, RESOLVE_TIMEOUT_MS):
                log.debug("could not resolve %s within %d ms", name, RESOLVE_TIMEOUT_MS)
                return
            peer = _peer_from_info(info)
        except TokenError as error:  # MalformedAdvert, or a token the tokens module refused
            log.debug("ignoring %s: %s", name, error)
            self._forget(key)  # it no longer advertises anything usable
            return
        except (OSError, ValueError, UnicodeError) as error:
            # Whatever else a stranger's records provoke must not end discovery for everyone.
            log.debug("ignoring %s: could not resolve it: %r", name, error)
            return
        finally:
            if self._resolving.get(key) is asyncio.current_task():
                del self._resolving[key]
        if peer is None:
            log.debug("ignoring %s: no IPv4 address or port", name)
            return
        before = self._peers.get(key)
        if before == peer:
            return
        self._peers[key] = peer
        self._emit(PeerAdded(peer) if before is None else PeerUpdated(peer))

    def _forget(self, key: str) -> None:
        peer = self._peers.pop(key, None)
        if peer is not None:
            self._emit(PeerRemoved(peer))

    def _emit(self, event: PeerEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)
            return
        if len(self._events) >= MAX_PENDING_EVENTS:
            dropped = self._events.popleft()
            log.warning("dropping unread discovery event %s: the consumer is too slow", dropped)
        self._events.append(event)
        self._ready.set()


def _peer_from_info(info: ServiceInfo) -> MdnsPeer | None:
    advert, capabilities = parse_txt(info.properties)
    addresses = tuple(info.parsed_addresses(IPVersion.V4Only))
    if not addresses or not info.port or info.server is None:
        return None
    return MdnsPeer(
        instance=info.name,
        host=info.server,
        addresses=addresses,
        port=info.port,
        advert=advert,
        capabilities=capabilities,
    )
