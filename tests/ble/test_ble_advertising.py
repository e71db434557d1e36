"""The BLE layer's AD codec and pipe arithmetic, sans-IO: what backends that speak bytes send and
report (``discovery``'s tests cover an agent's own advertisement on top of it)."""

from __future__ import annotations

import pytest

from edge_dan.ble.advertising import (
    Advertisement,
    legacy_payloads,
    normalize_uuid,
    report_from_advertising_data,
)
from edge_dan.ble.gatt import att_payload_size, clamp_att_mtu

SERVICE = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
BATTERY = "0000180f-0000-1000-8000-00805f9b34fb"


def test_short_uuids_expand_and_long_ones_normalise() -> None:
    assert normalize_uuid("180F") == BATTERY
    assert normalize_uuid("0000180f") == BATTERY
    assert normalize_uuid(SERVICE.upper()) == SERVICE
    assert normalize_uuid("not-a-uuid") == "not-a-uuid"


def test_a_report_reads_uuid_lists_service_data_and_the_name() -> None:
    data = (
        bytes.fromhex("020106")  # flags
        + bytes.fromhex("05030f180a18")  # complete 16-bit list: battery, device information
        + bytes((17, 0x07))
        + bytes.fromhex(SERVICE.replace("-", ""))[::-1]
        + bytes.fromhex("04160f18")
        + b"\x64"  # 16-bit service data: battery level 100
        + bytes((7, 0x09))
        + b"thermo"  # complete local name
    )
    report = report_from_advertising_data("C4:5A:0E:00:00:01", -40, data)
    assert report.service_uuids == (BATTERY, "0000180a-0000-1000-8000-00805f9b34fb", SERVICE)
    assert report.service_data == {BATTERY: b"\x64"}
    assert report.local_name == "thermo"
    assert report.names_service(SERVICE) and report.names_service("180f")
    assert not report.names_service("0000180d-0000-1000-8000-00805f9b34fb")


def test_the_legacy_layout_refuses_service_data_that_cannot_fit() -> None:
    advertising, scan_response = legacy_payloads(Advertisement(SERVICE, bytes(13)))
    assert len(advertising) == 21 and len(scan_response) == 31
    with pytest.raises(ValueError, match="14 bytes > 13"):
        legacy_payloads(Advertisement(SERVICE, bytes(14)))


@pytest.mark.parametrize(("mtu", "size"), [(23, 20), (185, 182), (247, 244), (517, 512)])
def test_one_packet_carries_the_mtu_less_the_att_header_up_to_the_value_cap(
    mtu: int, size: int
) -> None:
    assert att_payload_size(mtu) == size


def test_an_att_mtu_below_the_minimum_is_refused_and_stack_figures_are_clamped() -> None:
    with pytest.raises(ValueError, match="at least 23"):
        att_payload_size(22)
    assert clamp_att_mtu(0) == 23 and clamp_att_mtu(1000) == 517 and clamp_att_mtu(600, 247) == 247
