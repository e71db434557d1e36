"""BLE discovery's sans-IO part: our advertisement's bytes, and parsing what strangers send
(through the BLE layer's AD codec, as the bumble backend reports raw advertising data)."""

from __future__ import annotations

import random
import uuid

import pytest

from edge_dan.ble.advertising import (
    MAX_LEGACY_PAYLOAD,
    ScanReport,
    legacy_payloads,
    report_from_advertising_data,
)
from edge_dan.discovery.ble import (
    SERVICE_UUID,
    SERVICE_UUID_LE,
    advert_from_service_data,
    advertisement_of,
)
from edge_dan.discovery.tokens import Advert, TokenRotator, new_advertising_key

ADVERT = Advert(version=1, flags=1, token=bytes(range(12)))


def advertising_payloads(advert: Advert) -> tuple[bytes, bytes]:
    return legacy_payloads(advertisement_of(advert))


def parsed(data: bytes) -> ScanReport:
    return report_from_advertising_data("7A:11:22:33:44:55", -60, data)


def advert_from_advertising_data(data: bytes) -> Advert | None:
    return advert_from_service_data(parsed(data).service_data)


def lists_our_service(data: bytes) -> bool:
    return parsed(data).names_service(SERVICE_UUID)


def test_the_payloads_have_this_exact_layout() -> None:
    advertising, scan_response = advertising_payloads(ADVERT)
    uuid_on_air = bytes.fromhex("f466a04397336b8fa646efc394a280ce")  # SERVICE_UUID reversed
    assert advertising == bytes.fromhex("020106") + b"\x11\x07" + uuid_on_air
    assert scan_response == b"\x1e\x21" + uuid_on_air + b"\x11" + bytes(range(12))
    assert len(advertising) <= MAX_LEGACY_PAYLOAD and len(scan_response) == MAX_LEGACY_PAYLOAD
    assert uuid.UUID(bytes=uuid_on_air[::-1]) == uuid.UUID(SERVICE_UUID)


def test_payloads_parse_back_to_the_advert() -> None:
    advertising, scan_response = advertising_payloads(ADVERT)
    assert lists_our_service(advertising)
    assert advert_from_advertising_data(advertising) is None  # the token is in the response
    assert advert_from_advertising_data(advertising + scan_response) == ADVERT


def test_a_rotated_advert_differs_only_in_its_token() -> None:
    rotator = TokenRotator(new_advertising_key(), period=10.0)
    first = advertising_payloads(rotator.advert(5.0))
    second = advertising_payloads(rotator.advert(15.0))
    assert first[0] == second[0]  # flags and UUID: the same for every agent
    assert first[1][:-12] == second[1][:-12] and first[1][-12:] != second[1][-12:]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x00\x00",  # zero padding
        b"\x1e\x21" + SERVICE_UUID_LE + b"\x11" + bytes(11),  # runs past the end
        b"\x1d\x21" + SERVICE_UUID_LE + b"\x11" + bytes(11),  # 12 bytes of service data
        b"\x1f\x21" + SERVICE_UUID_LE + b"\x11" + bytes(13),  # 14 bytes
        b"\x1e\x21" + bytes(16) + b"\x11" + bytes(12),  # someone else's UUID
        b"\x1e\x16" + SERVICE_UUID_LE + b"\x11" + bytes(12),  # 16-bit service data type
        b"\x02\x01\x06\x11\x07" + bytes(16),  # another service, no data
    ],
)
def test_malformed_or_foreign_advertising_data_yields_nothing(data: bytes) -> None:
    assert advert_from_advertising_data(data) is None


def test_our_uuid_is_found_in_a_list_of_several() -> None:
    other = uuid.uuid4().bytes
    assert lists_our_service(b"\x21\x06" + other + SERVICE_UUID_LE)
    assert lists_our_service(b"\x21\x07" + SERVICE_UUID_LE + other)
    assert not lists_our_service(b"\x11\x07" + other)
    assert not lists_our_service(b"\x11\x03" + SERVICE_UUID_LE)  # not a 128-bit list
    assert not lists_our_service(b"\x10\x07" + SERVICE_UUID_LE[:15])  # a broken list


def test_service_data_maps_as_stacks_report_them() -> None:
    data = ADVERT.service_data()
    assert advert_from_service_data({SERVICE_UUID: data}) == ADVERT
    assert advert_from_service_data({SERVICE_UUID.upper(): data}) == ADVERT
    assert advert_from_service_data({"0000180f-0000-1000-8000-00805f9b34fb": data}) is None
    assert advert_from_service_data({"180f": data, SERVICE_UUID: data}) == ADVERT
    assert advert_from_service_data({SERVICE_UUID: data[:-1]}) is None
    assert advert_from_service_data({}) is None


def test_random_bytes_never_raise() -> None:
    rng = random.Random(7)
    hits = 0
    for _ in range(3000):
        data = rng.randbytes(rng.randrange(0, 63))
        if rng.random() < 0.3:  # make some of them look like ours
            data = b"\x1e\x21" + SERVICE_UUID_LE + data
        advert = advert_from_advertising_data(data)
        hits += advert is not None
        lists_our_service(data)
    assert hits > 0  # the ones shaped like ours with 13 bytes of data do parse


def test_the_compact_layout_of_bluez_peripherals_is_ours_too() -> None:
    """BlueZ 5.66 advertises the service data alone (no UUID list); it still names our service."""
    advert = TokenRotator(new_advertising_key()).advert(0.0)
    body = uuid.UUID(SERVICE_UUID).bytes[::-1] + advert.service_data()
    compact = bytes((len(body) + 1, 0x21)) + body
    assert len(compact) == 31
    assert lists_our_service(compact)
    assert advert_from_advertising_data(compact) == advert
    foreign = bytes((len(body) + 1, 0x21)) + bytes(16) + advert.service_data()
    assert not lists_our_service(foreign) and advert_from_advertising_data(foreign) is None
