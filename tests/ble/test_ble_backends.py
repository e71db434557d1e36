"""The BLE layer's backends: which one the platform gets, what each refuses, and that importing
the layer (or a backend module) loads no BLE library until a backend runs. (The layer order of
ble below transports, discovery and bridge is held by ``tests/test_layers.py``.)"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from ble_agents import INTERVAL
from conftest import modules_after

from edge_dan.ble import AGENT_SERVICE, BleUnavailable, ServiceMissing, open_central
from edge_dan.ble.advertising import Advertisement, ScanReport, legacy_payloads
from edge_dan.ble.backends.bleak import BleakCentral
from edge_dan.ble.backends.bumble import BumbleCentral, open_device
from edge_dan.ble.backends.sim import new_link, powered_device
from edge_dan.ble.choice import agent_backends, backend_for_platform, check_backend
from edge_dan.ble.roles import find_device
from edge_dan.wire.errors import ConnectionLost


def test_importing_the_layer_and_its_users_loads_no_ble_library() -> None:
    loaded = modules_after(
        "import edge_dan.ble, edge_dan.ble.backends.bleak, edge_dan.ble.backends.bluez,"
        " edge_dan.discovery.ble, edge_dan.transports.gatt, edge_dan.bridge.ble_port,"
        " edge_dan.agent.ble_network"
    )
    assert not loaded & {"bleak", "bumble"}


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_a_central_is_bleak_everywhere_and_bumble_when_given_a_controller(platform: str) -> None:
    assert backend_for_platform("central", platform=platform) == "bleak"
    assert backend_for_platform("central", hci_transport="usb:0", platform=platform) == "bumble"
    assert backend_for_platform("peripheral", hci_transport="usb:0", platform=platform) == "bumble"


def test_a_peripheral_is_bluez_on_linux_and_needs_a_controller_elsewhere() -> None:
    assert backend_for_platform("peripheral", platform="linux") == "bluez"
    for platform in ("darwin", "win32"):
        with pytest.raises(BleUnavailable, match=r"HCI transport.*pip install bumble"):
            backend_for_platform("peripheral", platform=platform)


def test_an_agent_needs_both_roles_and_is_told_what_is_missing() -> None:
    assert agent_backends(platform="linux") == ("bleak", "bluez")
    assert agent_backends(hci_transport="usb:0", platform="darwin") == ("bumble", "bumble")
    with pytest.raises(BleUnavailable, match=r"HCI transport.*pip install bumble"):
        agent_backends(platform="darwin")  # bleak alone cannot advertise


def test_a_backend_asked_for_what_it_cannot_do_says_so() -> None:
    with pytest.raises(BleUnavailable, match="bleak backend cannot be a BLE peripheral"):
        check_backend("bleak", "peripheral")
    with pytest.raises(BleUnavailable, match="bluez backend cannot be a BLE central"):
        check_backend("bluez", "central")
    with pytest.raises(BleUnavailable, match="needs an HCI transport"):
        check_backend("bumble", "central")
    with pytest.raises(BleUnavailable, match="Linux's stack"):
        check_backend("bluez", "peripheral", platform="darwin")
    with pytest.raises(BleUnavailable, match="choose one of bleak, bluez, bumble"):
        check_backend("corebluetooth", "central")
    check_backend("bumble", "peripheral", hci_transport="vhci")  # installed for the tests


def test_a_missing_library_is_named_with_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def without_bleak(name: str, *args: Any) -> Any:
        return None if name == "bleak" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_bleak)

    async def main() -> None:
        async with open_central():
            raise AssertionError("no central without bleak")

    with pytest.raises(BleUnavailable, match=r"needs bleak: pip install bleak"):
        asyncio.run(main())


def test_bleak_central_rejects_an_impossible_mtu_cap() -> None:
    with pytest.raises(ValueError, match="ATT MTU"):
        BleakCentral(max_mtu=22)


def test_connecting_to_a_device_without_the_service_fails_clearly() -> None:
    async def main() -> None:
        link = new_link()
        impostor = await powered_device(link, "impostor")  # advertises, serves no edge_dan GATT
        advertising, scan_response = legacy_payloads(Advertisement(AGENT_SERVICE.uuid, b"x"))
        await impostor.start_advertising(
            advertising_data=advertising,
            scan_response_data=scan_response,
            advertising_interval_min=INTERVAL,
            advertising_interval_max=INTERVAL,
        )
        central = BumbleCentral(await powered_device(link, "alice"))

        def scan_response_seen(report: ScanReport) -> bool:
            return AGENT_SERVICE.uuid in report.service_data  # the UUID list came before it

        seen = await find_device(central, scan_response_seen, timeout=30.0)
        assert seen is not None and seen.service_data == {AGENT_SERVICE.uuid: b"x"}
        with pytest.raises(ServiceMissing, match="offers no edge_dan GATT service") as missing:
            await central.connect(seen.address, AGENT_SERVICE)
        assert isinstance(missing.value, ConnectionLost)  # a session's caller handles it so
        assert not central.device.connections  # no half-open link left behind
        await impostor.stop_advertising()

    asyncio.run(asyncio.wait_for(main(), 60))


@pytest.mark.parametrize(
    ("transport", "why"),
    [
        ("bogus:0", "unknown transport scheme"),
        ("tcp-client:no-port", "tcp-client:no-port: "),
        ("unix:{folder}/nothing.sock", "No such file or directory"),
    ],
)
def test_a_controller_that_cannot_be_opened_is_named_with_the_reason(
    transport: str, why: str, tmp_path: Path
) -> None:
    async def main() -> None:
        async with open_device(transport.format(folder=tmp_path)):
            raise AssertionError("opened a controller that is not there")

    with pytest.raises(BleUnavailable, match="cannot open the Bluetooth controller at") as failed:
        asyncio.run(main())
    assert why in str(failed.value)


def test_a_socket_that_never_answers_as_a_controller_times_out_clearly(tmp_path: Path) -> None:
    """Something listens at the transport but speaks no HCI: without a bound, powering on would
    wait for its reset's answer forever."""
    path = tmp_path / "mute.sock"

    async def main() -> None:
        listener = await asyncio.start_unix_server(lambda reader, writer: None, str(path))
        try:
            async with open_device(f"unix:{path}", timeout=0.5):
                raise AssertionError("powered on without a controller")
        finally:
            listener.close()

    with pytest.raises(BleUnavailable, match=r"at unix:.*mute.sock did not answer within 0.5 s"):
        asyncio.run(asyncio.wait_for(main(), 30))
