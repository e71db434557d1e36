"""Advertisements and scan reports in one form for every backend, and the AD bytes behind them.

Why it exists: discovery decides *what* an agent advertises and which sightings matter; backends
decide *how* (bumble takes raw advertising data, BlueZ takes D-Bus properties, bleak reports
parsed maps). ``Advertisement`` is what a peripheral is asked to advertise, ``ScanReport`` what a
central saw; the AD codec here turns the one into bytes and raw bytes into the other, for the
backends that speak bytes. Sans-IO: importing it loads no BLE library.

An ``Advertisement`` becomes a legacy connectable, scannable advertisement (``legacy_payloads``)::

    advertising data   flags (LE General Discoverable, no BR/EDR)       3 bytes
                       complete list of 128-bit service UUIDs: one     18 bytes
    scan response      service data under that UUID                    up to 31 bytes

Flags, UUID and an agent's 13 bytes of service data need 52 bytes, more than the 31 of a legacy
advertisement, so the service data travels in the scan response and a central must scan
actively. Nothing else goes out: no name, no appearance, no TX power, no manufacturer data,
nothing stable a stranger could follow from one address to the next.

Parsing is forgiving on purpose: a stranger's malformed or foreign advertisement yields what
could be read, never an exception, since anyone nearby can put any bytes on the air.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

AD_FLAGS = 0x01
AD_UUID_LISTS = {0x02: 2, 0x03: 2, 0x04: 4, 0x05: 4, 0x06: 16, 0x07: 16}  # type -> UUID length
AD_COMPLETE_UUID128 = 0x07
AD_NAMES = (0x08, 0x09)  # shortened, complete
AD_SERVICE_DATA = {0x16: 2, 0x20: 4, 0x21: 16}  # AD type -> length of the UUID in front
AD_SERVICE_DATA_UUID128 = 0x21
FLAGS_LE_GENERAL_NO_BREDR = 0x06  # LE General Discoverable Mode | BR/EDR Not Supported
MAX_LEGACY_PAYLOAD = 31
BASE_UUID_TAIL = "-0000-1000-8000-00805f9b34fb"  # the Bluetooth base UUID, after the short part


@dataclass(frozen=True)
class Advertisement:
    """What a peripheral advertises: connectable, naming one service, with data under it."""

    service_uuid: str
    service_data: bytes


@dataclass(frozen=True)
class ScanReport:
    """One advertisement (with its scan response, once the stack merged it) as a central saw it.

    ``address`` is in the backend's text form, good for connecting now; ``rssi`` in dBm, None
    when the stack gave none. UUIDs are lower-case 128-bit text, short ones expanded.
    """

    address: str
    rssi: int | None
    service_uuids: tuple[str, ...] = ()
    service_data: Mapping[str, bytes] = field(default_factory=dict)
    local_name: str | None = None

    def names_service(self, service_uuid: str) -> bool:
        """Whether the advertisement lists ``service_uuid`` or carries data under it (a BlueZ
        peripheral that cannot fill a scan response advertises the service data alone)."""
        wanted = normalize_uuid(service_uuid)
        return wanted in self.service_uuids or wanted in self.service_data


def normalize_uuid(text: str) -> str:
    """``text`` as lower-case 128-bit UUID text; 16- and 32-bit short forms are expanded."""
    text = text.strip().lower()
    if len(text) in (4, 8):
        return text.rjust(8, "0") + BASE_UUID_TAIL
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text  # a stack's own shorthand: kept, it will match nothing of ours


def uuid_on_air(service_uuid: str) -> bytes:
    """A 128-bit UUID as AD fields carry it (little-endian)."""
    return uuid.UUID(service_uuid).bytes[::-1]


# -- encoding ----------------------------------------------------------------------------------


def ad_structure(ad_type: int, value: bytes) -> bytes:
    return bytes((len(value) + 1, ad_type)) + value


def legacy_payloads(advertisement: Advertisement) -> tuple[bytes, bytes]:
    """(advertising data, scan response) for a legacy connectable, scannable advertisement."""
    on_air = uuid_on_air(advertisement.service_uuid)
    advertising = ad_structure(AD_FLAGS, bytes((FLAGS_LE_GENERAL_NO_BREDR,))) + ad_structure(
        AD_COMPLETE_UUID128, on_air
    )
    scan_response = ad_structure(AD_SERVICE_DATA_UUID128, on_air + advertisement.service_data)
    if len(scan_response) > MAX_LEGACY_PAYLOAD:
        room = MAX_LEGACY_PAYLOAD - 2 - len(on_air)
        raise ValueError(f"service data of {len(advertisement.service_data)} bytes > {room}")
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


def _uuid_from_air(value: bytes) -> str:
    if len(value) == 16:
        return str(uuid.UUID(bytes=value[::-1]))
    return value[::-1].hex().rjust(8, "0") + BASE_UUID_TAIL


def report_from_advertising_data(address: str, rssi: int | None, data: bytes) -> ScanReport:
    """What raw advertising data (AD and scan response joined) says, as a ``ScanReport``."""
    uuids: list[str] = []
    service_data: dict[str, bytes] = {}
    name = None
    for ad_type, value in ad_structures(data):
        if ad_type in AD_UUID_LISTS:  # whole UUIDs only: a broken tail is dropped
            size = AD_UUID_LISTS[ad_type]
            whole = len(value) - len(value) % size
            uuids += (_uuid_from_air(value[i : i + size]) for i in range(0, whole, size))
        elif ad_type in AD_SERVICE_DATA and len(value) >= AD_SERVICE_DATA[ad_type]:
            size = AD_SERVICE_DATA[ad_type]
            service_data.setdefault(_uuid_from_air(value[:size]), value[size:])
        elif ad_type in AD_NAMES:
            name = value.decode("utf-8", "replace")
    return ScanReport(address, rssi, tuple(uuids), service_data, name)
