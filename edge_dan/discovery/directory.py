"""The peer directory: what mDNS and BLE sightings add up to, one entry per peer.

Sans-IO: transports feed it ``Sighting``s and losses with the time they happened; it answers
with ``Added`` / ``Updated`` / ``Removed`` events and keeps the current picture.

- A sighting whose token a ``Recogniser`` matches belongs to that partner, whatever the
  transport, address or rotation: one entry per partner, holding a link per transport.
- Anything else is a stranger. Strangers are unlinkable by design, so an entry is one advert:
  keyed by its token (the same advert seen over LAN and BLE in one epoch is one stranger); after
  a rotation the same device is a new stranger and the old entry ages out.
- The LAN link is preferred when both exist (more bandwidth, no radio time).
- BLE links expire when not seen for ``ble_ttl`` seconds (advertisements repeat every few hundred
  ms while a device is near). LAN links do not age: mDNS announces rarely and zeroconf keeps dead
  records for about 19 minutes, so a LAN link ends only on an mDNS goodbye (``lost``) or when a
  session's keepalives give up (``session_failed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from edge_dan.discovery.tokens import Advert, Recogniser
from edge_dan.identity import fingerprint

Transport = Literal["lan", "ble"]
TRANSPORTS: tuple[Transport, ...] = ("lan", "ble")  # order of preference
DEFAULT_BLE_TTL = 30.0


@dataclass(frozen=True)
class Sighting:
    """One advert received.

    ``handle`` is what the transport will name in a later loss: the mDNS instance name, or the
    BLE address. ``address`` is where to connect ("host:port", or the BLE address).
    """

    transport: Transport
    handle: str
    address: str
    advert: Advert
    seen_at: float
    rssi: int | None = None


@dataclass(frozen=True)
class Link:
    transport: Transport
    handle: str
    address: str
    first_seen: float
    last_seen: float
    rssi: int | None


@dataclass(frozen=True)
class PeerEntry:
    """One peer as far as we can tell: a partner (``identity_key`` set) or one stranger's advert.

    What :meth:`Agent.events` and ``agent.directory.entries()`` give; ``preferred`` is the link
    to use (LAN before BLE)::

        for entry in agent.directory.entries():
            if entry.partner:
                print(entry.name, "seen via", entry.preferred.transport)
            elif entry.open_to_pairing:
                print("a stranger nearby is open to pairing:", entry.key)
    """

    key: str  # "partner:<fingerprint>" or "stranger:<token hex>"
    identity_key: bytes | None
    name: str | None  # the owner's name for a partner
    open_to_pairing: bool
    links: Mapping[Transport, Link] = field(default_factory=dict)

    @property
    def partner(self) -> bool:
        return self.identity_key is not None

    @property
    def preferred(self) -> Link:
        for transport in TRANSPORTS:
            if transport in self.links:
                return self.links[transport]
        raise LookupError(f"{self.key} has no link")  # entries without links are removed

    @property
    def last_seen(self) -> float:
        return max(link.last_seen for link in self.links.values())

    @property
    def rssi(self) -> int | None:
        ble = self.links.get("ble")
        return None if ble is None else ble.rssi

    def to_json(self) -> dict[str, object]:
        preferred = self.preferred
        return {
            "key": self.key,
            "partner": self.partner,
            "name": self.name,
            "fingerprint": None if self.identity_key is None else fingerprint(self.identity_key),
            "open_to_pairing": self.open_to_pairing,
            "via": preferred.transport,
            "address": preferred.address,
            "last_seen": self.last_seen,
            "rssi": self.rssi,
            "links": sorted(self.links),
        }


@dataclass(frozen=True)
class Added:
    """A peer was seen that was not in the directory (an event of :meth:`Agent.events`)::

    async for event in agent.events():
        if isinstance(event, Added) and event.entry.partner:
            print(event.entry.name, "is nearby")
    """

    entry: PeerEntry


@dataclass(frozen=True)
class Updated:
    """A peer already seen changed: a new address or link, pairing opened or closed::

    async for event in agent.events():
        if isinstance(event, Updated) and event.entry.open_to_pairing:
            print("open to pairing now:", event.entry.key)
    """

    entry: PeerEntry


@dataclass(frozen=True)
class Removed:
    """A peer left (its goodbye, or not heard from within its adverts' lifetime)::

    async for event in agent.events():
        if isinstance(event, Removed) and event.entry.partner:
            print(event.entry.name, "has gone")
    """

    entry: PeerEntry  # as it was last


DirectoryEvent = Added | Updated | Removed


class PeerDirectory:
    def __init__(
        self,
        recogniser: Recogniser,
        names: Mapping[bytes, str] | None = None,
        *,
        ble_ttl: float = DEFAULT_BLE_TTL,
    ) -> None:
        if ble_ttl <= 0:
            raise ValueError(f"ble_ttl must be > 0, got {ble_ttl}")
        self._recogniser = recogniser
        self._names = dict(names or {})
        self._ble_ttl = ble_ttl
        self._entries: dict[str, PeerEntry] = {}
        self._by_handle: dict[tuple[Transport, str], str] = {}  # -> entry key
        self._last: dict[tuple[Transport, str], Sighting] = {}  # the latest advert per slot

    # -- queries ---------------------------------------------------------------------------------

    def entries(self) -> list[PeerEntry]:
        """Partners first (by name), then strangers (most recently seen first)."""
        return sorted(
            self._entries.values(),
            key=lambda e: (not e.partner, e.name or "", -e.last_seen, e.key),
        )

    def get(self, key: str) -> PeerEntry | None:
        return self._entries.get(key)

    def partner(self, identity_key: bytes) -> PeerEntry | None:
        return self._entries.get(_partner_key(identity_key))

    def __len__(self) -> int:
        return len(self._entries)

    # -- inputs ----------------------------------------------------------------------------------

    def observe(self, sighting: Sighting) -> list[DirectoryEvent]:
        """Take one advert; the events it causes (none when nothing a listing shows changed)."""
        identity = self._recogniser.recognise(sighting.advert, sighting.seen_at)
        if identity is not None:
            key = _partner_key(identity)
            name: str | None = self._names.get(identity)
        else:
            key = "stranger:" + sighting.advert.token.hex()
            name = None
        slot = (sighting.transport, sighting.handle)
        self._last[slot] = sighting
        previous_key = self._by_handle.get(slot)
        events: list[DirectoryEvent] = []
        if previous_key is not None and previous_key != key:
            # The same instance or address now carries someone else's advert: drop the old link.
            removed = self._drop_link(previous_key, sighting.transport, sighting.handle)
            if removed is not None:
                events.append(removed)
        old = self._entries.get(key)
        old_link = None if old is None else old.links.get(sighting.transport)
        link = Link(
            transport=sighting.transport,
            handle=sighting.handle,
            address=sighting.address,
            first_seen=sighting.seen_at if old_link is None else old_link.first_seen,
            last_seen=sighting.seen_at,
            rssi=sighting.rssi,
        )
        if old_link is not None and old_link.handle != sighting.handle:
            # A partner rotated: its new instance or address replaces the old one.
            self._by_handle.pop((sighting.transport, old_link.handle), None)
            self._last.pop((sighting.transport, old_link.handle), None)
        self._by_handle[slot] = key
        links = {} if old is None else dict(old.links)
        links[sighting.transport] = link
        entry = PeerEntry(
            key=key,
            identity_key=identity,
            name=name,
            open_to_pairing=sighting.advert.open_to_pairing,
            links=links,
        )
        self._entries[key] = entry
        if old is None:
            events.append(Added(entry))
        elif _visible(old) != _visible(entry):
            events.append(Updated(entry))
        return events

    def lost(self, transport: Transport, handle: str) -> Removed | Updated | None:
        """A transport says this instance or address is gone (mDNS goodbye, BLE disconnect)."""
        key = self._by_handle.get((transport, handle))
        if key is None:
            return None
        return self._drop_link(key, transport, handle)

    def session_failed(self, identity_key: bytes, transport: Transport) -> Removed | Updated | None:
        """A session with this partner died (keepalives gave up): that link is gone."""
        entry = self._entries.get(_partner_key(identity_key))
        if entry is None or transport not in entry.links:
            return None
        return self._drop_link(entry.key, transport, entry.links[transport].handle)

    def expire(self, now: float) -> list[DirectoryEvent]:
        """Drop BLE links not seen for ``ble_ttl`` seconds."""
        events: list[DirectoryEvent] = []
        for entry in list(self._entries.values()):
            ble = entry.links.get("ble")
            if ble is not None and now - ble.last_seen > self._ble_ttl:
                event = self._drop_link(entry.key, "ble", ble.handle)
                if event is not None:
                    events.append(event)
        return events

    def set_partners(
        self, recogniser: Recogniser, names: Mapping[bytes, str]
    ) -> list[DirectoryEvent]:
        """New partner keys (after pairing, unpairing or a key grant): every advert seen is judged
        again, so a stranger just paired becomes a partner at once (and the reverse)."""
        self._recogniser = recogniser
        self._names = dict(names)
        before = dict(self._entries)
        self._entries.clear()
        self._by_handle.clear()
        for sighting in sorted(self._last.values(), key=lambda s: s.seen_at):
            self.observe(sighting)
        events: list[DirectoryEvent] = [
            Removed(entry) for key, entry in before.items() if key not in self._entries
        ]
        for key, entry in self._entries.items():
            old = before.get(key)
            if old is None:
                events.append(Added(entry))
            elif _visible(old) != _visible(entry) or old.name != entry.name:
                events.append(Updated(entry))
        return events

    # -- machinery -------------------------------------------------------------------------------

    def _drop_link(self, key: str, transport: Transport, handle: str) -> Removed | Updated | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        link = entry.links.get(transport)
        if link is None or link.handle != handle:
            return None  # an older rotation's goodbye: the current link stays
        self._by_handle.pop((transport, handle), None)
        self._last.pop((transport, handle), None)
        links = {t: kept for t, kept in entry.links.items() if t != transport}
        if not links:
            del self._entries[key]
            return Removed(entry)
        updated = replace(entry, links=links)
        self._entries[key] = updated
        return Updated(updated)


def _partner_key(identity_key: bytes) -> str:
    return "partner:" + fingerprint(identity_key)


def _visible(entry: PeerEntry) -> tuple[object, ...]:
    """What a listing shows, minus timestamps and signal strength (which change constantly)."""
    return (
        entry.open_to_pairing,
        tuple(sorted((t, link.address, link.handle) for t, link in entry.links.items())),
        entry.preferred.transport,
    )
