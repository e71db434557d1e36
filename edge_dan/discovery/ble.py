"""BLE discovery without a BLE stack: what our advertisement holds, and what a scan reports.

Sans-IO and backend-agnostic (bumble, bleak, BlueZ over D-Bus all use it); importing this module
loads no BLE library. An agent's advertisement (``advertising_payloads``) is::

    advertising data   flags (LE General Discoverable, no BR/EDR)      3 bytes
                       complete list of 128-bit service UUIDs: ours   18 bytes
    scan response      service data under our UUID: Advert (13 bytes) 31 bytes

Flags, UUID and service data need 52 bytes, more than the 31 of a legacy advertisement, so the
service data travels in the scan response and a central must scan actively. Nothing in either
payload is stable across token rotations: no name, no appearance, no manufacturer data; the
address is a fresh random private one per rotation (the backend's job).

Parsing is forgiving on purpose: a stranger's malformed or foreign advertisement yields ``None``,
never an exception, since anyone nearby can put any bytes on the air.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from edge_dan.discovery.tokens import SERVICE_DATA_LEN, Advert, TokenError
from edge_dan.transports.gatt import SERVICE_UUID, GattPipe

AD_FLAGS = 0x01
AD_INCOMPLETE_UUID128 = 0x06
AD_COMPLETE_UUID128 = 0x07
AD_SERVICE_DATA_UUID128 = 0x21
FLAGS_LE_GENERAL_NO_BREDR = 0x06  # LE General Discoverable Mode | BR/EDR Not Supported
MAX_LEGACY_PAYLOAD = 31

SERVICE_UUID_LE = uuid.UUID(SERVICE_UUID).bytes[::-1]  # AD fields carry UUIDs little-endian


@dataclass(frozen=True)
class BleSighting:
    """One advertisement of an agent, as a central saw it.

    ``address`` is the advertiser's current (rotating) address in the backend's text form,
    good for connecting now and for nothing else; ``rssi`` in dBm, None when the stack gave
    none; ``seen_at`` on the caller's clock (the backend says which).
    """

    address: str
    rssi: int | None
    advert: Advert
    seen_at: float


SightingHandler = Callable[[BleSighting], None]


class BleScanner(Protocol):
    """A central's scan for agents (active, filtered by ``SERVICE_UUID``), whatever the stack.

    ``start`` reports every sighting of an agent's advertisement to ``on_sighting`` (repeats
    included: a directory merges them) until ``stop``.
    """

    async def start(self, on_sighting: SightingHandler) -> None: ...

    async def stop(self) -> None: ...


class BleCentral(BleScanner, Protocol):
    """A scanner that can also open the GATT link to an agent it saw."""

    async def connect(self, sighting: BleSighting) -> GattPipe: ...


# -- encoding ----------------------------------------------------------------------------------


def _ad_structure(ad_type: int, value: bytes) -> bytes:
    return bytes((len(value) + 1, ad_type)) + value


def advertising_payloads(advert: Advert) -> tuple[bytes, bytes]:
    """(advertising data, scan response) for a legacy connectable, scannable advertisement."""
    advertising = _ad_structure(AD_FLAGS, bytes((FLAGS_LE_GENERAL_NO_BREDR,))) + _ad_structure(
        AD_COMPLETE_UUID128, SERVICE_UUID_LE
    )
    scan_response = _ad_structure(AD_SERVICE_DATA_UUID128, SERVICE_UUID_LE + advert.service_data())
    assert len(advertising) <= MAX_LEGACY_PAYLOAD and len(scan_response) <= MAX_LEGACY_PAYLOAD
    return advertising, scan_response


# -- parsing -----------------------------------------------------------------------------------


def ad_structures(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(type, value) of each AD structure; stops quietly at a truncated or zero-length one."""
    offset = 0
    while offset < len(data):
        length = data[offset]
        if length == 0 or offset + 1 + length > len(data):
            return  # zero padding ends the data; a structure running past the end is dropped
        yield data[offset + 1], data[offset + 2 : offset + 1 + length]
        offset += 1 + length


def lists_our_service(data: bytes) -> bool:
    """Whether advertising data (AD and scan response joined) names ``SERVICE_UUID``: in a UUID
    list, or as the UUID of service data (BlueZ 5.66 peripherals cannot fill a scan response
    over D-Bus, so they advertise the service data alone, which names the service too)."""
    for ad_type, value in ad_structures(data):
        if ad_type in (AD_COMPLETE_UUID128, AD_INCOMPLETE_UUID128):
            uuids = (value[i : i + 16] for i in range(0, len(value) - len(value) % 16, 16))
            if SERVICE_UUID_LE in uuids:
                return True
        if ad_type == AD_SERVICE_DATA_UUID128 and value[:16] == SERVICE_UUID_LE:
            return True
    return False


def advert_from_advertising_data(data: bytes) -> Advert | None:
    """The ``Advert`` in raw advertising data (AD and scan response joined), or None."""
    for ad_type, value in ad_structures(data):
        if ad_type == AD_SERVICE_DATA_UUID128 and value[:16] == SERVICE_UUID_LE:
            advert = _parse_service_data(value[16:])
            if advert is not None:
                return advert
    return None


def advert_from_service_data(service_data: Mapping[str, bytes]) -> Advert | None:
    """The ``Advert`` in a stack's service-data map (UUID text to bytes, as bleak reports it)."""
    for key, value in service_data.items():
        try:
            if uuid.UUID(key) != uuid.UUID(SERVICE_UUID):
                continue
        except ValueError:  # a stack's own shorthand for 16-bit UUIDs: not ours anyway
            continue
        return _parse_service_data(bytes(value))
    return None


def _parse_service_data(value: bytes) -> Advert | None:
    if len(value) != SERVICE_DATA_LEN:
        return None
    try:
        return Advert.from_service_data(value)
    except TokenError:
        return None
