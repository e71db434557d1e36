"""Turning what the transports report into directory input: the glue between mdns, ble and
``PeerDirectory``, kept apart so the directory stays sans-IO and the transports stay unaware of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge_dan.discovery.directory import DirectoryEvent, PeerDirectory, Sighting

if TYPE_CHECKING:  # the transports import zeroconf / BLE stacks; this module must not
    from edge_dan.discovery.ble import BleSighting
    from edge_dan.discovery.mdns import MdnsPeer, PeerEvent


def lan_sighting(peer: MdnsPeer, now: float) -> Sighting:
    host = peer.addresses[0] if peer.addresses else peer.host
    return Sighting("lan", peer.instance, f"{host}:{peer.port}", peer.advert, now)


def ble_sighting(seen: BleSighting) -> Sighting:
    return Sighting("ble", seen.address, seen.address, seen.advert, seen.seen_at, seen.rssi)


def apply_lan_event(directory: PeerDirectory, event: PeerEvent, now: float) -> list[DirectoryEvent]:
    """Feed one ``MdnsBrowser`` event to the directory; the directory events it caused."""
    from edge_dan.discovery.mdns import PeerRemoved

    if isinstance(event, PeerRemoved):
        lost = directory.lost("lan", event.peer.instance)
        return [] if lost is None else [lost]
    return directory.observe(lan_sighting(event.peer, now))
