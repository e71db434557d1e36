"""The bridge over a BLE UART (NUS): the real C thermostat behind a bumble peripheral, end to end.

Both ends are real bumble host stacks on software controllers (``edge_dan.ble.backends.sim``):
MTU exchange, GATT discovery, writes and notifications happen as over the air. The device side
(``nus_device``) runs the thermostat's C logic from ``make thermostat-lib``; the host side is
``SerialDevice`` on ``edge_dan.bridge.ble_port``'s port over the BLE layer's pipe from a bumble
central (the same ``BumbleCentral`` agents use), driven from the test's thread while the radio
runs on a background loop, as an agent drives it from a worker thread.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from bumble import hci
from bumble.device import Device
from bumble.gatt import Characteristic
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket
from firmware_helpers import require
from nus_device import DEVICE_NAME, NusThermostat, build_thermostat_lib, thermostat_on_link
from test_end_to_end import accord_is_applied_and_read_back, frames_failing_crc, signed_accord

from edge_dan.agent.core import Agent
from edge_dan.ble import GattService, att_payload_size
from edge_dan.ble.backends.bumble import BumbleCentral, BumblePipe
from edge_dan.ble.backends.sim import ScanResponseController, new_link
from edge_dan.bridge.accords import AccordReceipt, DeviceBinding, accord_id
from edge_dan.bridge.ble_port import (
    NUS,
    BleBridgeError,
    BleDeviceNotFound,
    BleLinkLost,
    BleUartPort,
    LoopThread,
    ReceiveBuffer,
    UartServiceMissing,
    connect_port,
    open_ble_device,
    split_for_att,
)
from edge_dan.bridge.codec import MAX_PAYLOAD, Error, ErrorCode, Set, encode
from edge_dan.bridge.link import DeviceTimeout, SerialDevice
from edge_dan.owner import Owner
from edge_dan.store import Store
from edge_dan.wire.framing.serial import cobs_encode, encode_serial_frame

CENTRAL_ADDRESS = "C4:5A:0E:00:00:02"
OTHER_UART = GattService(
    "a1b2c3d4-0001-4000-8000-00805f9b34fb",
    "a1b2c3d4-0002-4000-8000-00805f9b34fb",
    "a1b2c3d4-0003-4000-8000-00805f9b34fb",
)


# -- sans-IO ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mtu", "size"), [(23, 20), (185, 182), (247, 244), (517, 512)])
def test_frames_are_cut_to_the_att_payload_and_put_back_in_order(mtu: int, size: int) -> None:
    data = bytes(range(256)) * 3 + b"\x00"
    chunks = split_for_att(data, mtu)
    assert att_payload_size(mtu) == size
    assert b"".join(chunks) == data
    assert all(len(chunk) == size for chunk in chunks[:-1]) and 0 < len(chunks[-1]) <= size
    assert split_for_att(b"", mtu) == []
    assert split_for_att(data[:size], mtu) == [data[:size]]


def test_an_att_mtu_below_the_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 23"):
        split_for_att(b"x", 22)


def test_the_receive_buffer_hands_out_bytes_then_reports_the_end_of_the_link() -> None:
    buffer = ReceiveBuffer()
    assert buffer.read(10, timeout=0.0) == b""
    buffer.feed(b"abc")
    buffer.feed(b"def")
    assert buffer.read(4, timeout=0.0) == b"abcd"
    buffer.link_down("the device walked away")
    buffer.feed(b"late")  # after the end: dropped
    assert buffer.read(10, timeout=0.0) == b"ef"
    with pytest.raises(BleLinkLost, match="walked away"):
        buffer.read(10, timeout=0.0)


def test_a_waiting_read_is_woken_by_the_end_of_the_link() -> None:
    buffer = ReceiveBuffer()
    outcome: list[BaseException] = []

    def reader() -> None:
        try:
            buffer.read(10, timeout=120.0)
        except BleLinkLost as exc:
            outcome.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    buffer.link_down("gone")
    thread.join(timeout=60.0)
    assert not thread.is_alive() and len(outcome) == 1


# -- end to end over the simulated radio -----------------------------------------------------------


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require("make", "gcc")
    return build_thermostat_lib(tmp_path_factory.mktemp("thermostat_lib"))


@dataclass
class Radio:
    """One simulated radio on a background loop: a NUS thermostat and a bumble central."""

    loop: LoopThread
    link: LocalLink
    thermostat: NusThermostat
    central: Device
    opened: list[SerialDevice] = field(default_factory=list)

    def open(
        self, *, mtu: int = 247, service: GattService = NUS, answer_timeout: float = 2.0
    ) -> SerialDevice:
        address = self.thermostat.address.to_string(with_type_qualifier=False)
        port = self.loop.run(self.connect(address, mtu=mtu, service=service))
        device = SerialDevice(port, answer_timeout=answer_timeout)
        self.opened.append(device)
        return device

    async def connect(
        self, address: str, *, mtu: int = 247, service: GattService = NUS, timeout: float = 10.0
    ) -> BleUartPort:
        """The bridge's port through a bumble central on the host device (the loop's thread)."""
        central = BumbleCentral(self.central, mtu=mtu)
        return await connect_port(central, address, service=service, timeout=timeout)


async def start_radio(
    library: Path, options: dict[str, Any]
) -> tuple[LocalLink, NusThermostat, Device]:
    link = new_link()
    thermostat = await thermostat_on_link(link, library, **options)
    controller = ScanResponseController("host", link=link)
    central = Device(
        address=hci.Address(CENTRAL_ADDRESS), host=Host(controller, AsyncPipeSink(controller))
    )
    await central.power_on()
    return link, thermostat, central


RadioFactory = Callable[..., Radio]


@pytest.fixture
def make_radio(library: Path) -> Iterator[RadioFactory]:
    radios: list[Radio] = []

    def make(**options: Any) -> Radio:
        loop = LoopThread()
        link, thermostat, central = loop.run(start_radio(library, options))
        radios.append(Radio(loop, link, thermostat, central))
        return radios[-1]

    yield make
    for radio in radios:
        for device in radio.opened:
            device.close()
        radio.loop.run(radio.thermostat.stop())
        radio.loop.stop()


@pytest.fixture
def radio(make_radio: RadioFactory) -> Radio:
    return make_radio()


@pytest.mark.parametrize("mtu", [23, 247])
def test_hello_state_set_and_an_accord_over_ble(radio: Radio, mtu: int) -> None:
    device = radio.open(mtu=mtu)
    assert isinstance(device.port, BleUartPort) and device.port.att_mtu == mtu
    caps = device.hello()
    assert caps.kind == "thermostat" and caps.version == 1 and caps.max_payload == MAX_PAYLOAD
    assert [point.name for point in caps.points] == ["setpoint", "temp", "heating"]
    assert device.values() == {"setpoint": 200, "temp": 185, "heating": 1}
    device.set("setpoint", 180)
    assert device.values() == {"setpoint": 180, "temp": 185, "heating": 0}
    identifier = bytes(range(32))
    device.apply_accord(identifier, {"setpoint": 215})
    state = device.state()
    assert state.values[device.point_id("setpoint")] == 215 and state.accord_id == identifier
    # Every write and notification fitted one ATT packet; at MTU 23 frames took several.
    payload = mtu - 3
    assert max(radio.thermostat.write_sizes) <= payload
    assert max(radio.thermostat.notification_sizes) <= payload
    if mtu == 23:
        assert payload in radio.thermostat.write_sizes
        assert payload in radio.thermostat.notification_sizes


def test_an_accord_is_applied_through_a_device_binding(radio: Radio) -> None:
    accord_is_applied_and_read_back(radio.open(mtu=23), 225)


def test_an_agent_applies_accords_to_a_ble_device_and_reports_a_lost_one(
    radio: Radio, store: Store
) -> None:
    device = radio.open(mtu=23)
    accord = signed_accord(205)

    async def bind_and_apply() -> tuple[Agent, tuple[AccordReceipt, ...]]:
        agent = Agent(Owner(store))  # not started: applying accords needs no network
        agent.bind_device(DeviceBinding(device, {"setpoint_c_x10": "setpoint"}))
        return agent, await agent.apply_to_devices(accord)

    # The agent calls the device from a worker thread of its own event loop.
    agent, receipts = asyncio.run(bind_and_apply())
    assert receipts == (AccordReceipt(accord_id(accord), {"setpoint": 205}),)
    assert device.state().accord_id == accord_id(accord)
    radio.thermostat.drop_link_on_next_write = True
    assert asyncio.run(agent.apply_to_devices(signed_accord(210))) == ()
    failure = agent.failures[-1]
    assert failure.kind == "device" and type(failure.error).__name__ == "BleLinkLost"


def test_a_frame_longer_than_one_att_payload_arrives_whole(radio: Radio) -> None:
    device = radio.open(mtu=247)
    device.hello()
    # A full-size payload that deframes (CRC fine) but is no message: the device can only
    # answer ERROR bad_message if all of the frame's writes arrived, in order.
    payload = b"\x83\x01\x19\x05\x04\xa3" + bytes(MAX_PAYLOAD - 6)
    frame = encode_serial_frame(payload)
    assert len(frame) > att_payload_size(247)
    device.port.write(frame)
    assert device.values()["setpoint"] == 200
    assert frame in radio.thermostat.received
    errors = [(m.seq, m.code) for m in device.unsolicited if isinstance(m, Error)]
    assert errors == [(0, ErrorCode.BAD_MESSAGE)]
    assert att_payload_size(247) in radio.thermostat.write_sizes


def test_bad_and_runaway_frames_are_dropped_and_the_link_recovers(radio: Radio) -> None:
    device = radio.open(mtu=23)
    assert device.values()["setpoint"] == 200
    tempting = encode(Set(900, 0, 280))  # a valid SET: nothing below may apply it
    port = device.port
    for frame in frames_failing_crc(tempting):
        port.write(frame)
    port.write(cobs_encode(tempting * 40) + b"\x00")  # oversize
    port.write(b"\x55" * 1000)  # a runaway frame with no delimiter, 50 writes long
    # The next request's leading 0x00 ends the runaway frame; the device answers it normally.
    assert device.values()["setpoint"] == 200
    device.set("setpoint", 230)
    assert device.values()["setpoint"] == 230
    assert not [m for m in device.unsolicited if isinstance(m, Error)]  # dropped, never answered


def test_the_device_disconnecting_mid_request_is_reported_not_waited_out(radio: Radio) -> None:
    device = radio.open(mtu=23, answer_timeout=60.0)
    device.hello()
    # One attempt: a read that the end of the link did not wake would end in DeviceTimeout.
    device.attempts = 1
    radio.thermostat.drop_link_on_next_write = True
    with pytest.raises(BleLinkLost, match="the device disconnected"):
        device.state()
    with pytest.raises(BleLinkLost):  # and it stays down, with the same clear error
        device.state()


def test_a_silent_device_still_times_out_and_the_link_recovers(radio: Radio) -> None:
    device = radio.open(mtu=23)
    device.hello()
    device.attempts, device.answer_timeout = 1, 0.3
    radio.thermostat.silent = True
    with pytest.raises(DeviceTimeout):
        device.state()
    radio.thermostat.silent = False
    device.answer_timeout = 2.0
    assert device.values()["setpoint"] == 200


def test_an_rx_that_takes_only_writes_with_response_is_written_that_way(
    make_radio: RadioFactory,
) -> None:
    radio = make_radio(rx_properties=Characteristic.Properties.WRITE)
    device = radio.open(mtu=23)
    assert isinstance(device.port, BleUartPort) and isinstance(device.port.pipe, BumblePipe)
    assert device.port.pipe.with_response is True
    device.set("setpoint", 210)
    assert device.values()["setpoint"] == 210


def test_another_uart_style_service_works_when_named(make_radio: RadioFactory) -> None:
    radio = make_radio(service=OTHER_UART)
    with pytest.raises(UartServiceMissing, match=NUS.uuid):
        radio.open()
    device = radio.open(service=OTHER_UART)
    assert device.hello().kind == "thermostat"


def test_no_device_at_the_address_is_reported(radio: Radio) -> None:
    with pytest.raises(BleDeviceNotFound, match="advertising"):
        radio.loop.run(radio.connect("C4:5A:0E:00:00:99", timeout=1.0))


def test_the_port_refuses_to_block_the_loop_that_runs_its_link(radio: Radio) -> None:
    device = radio.open()

    async def read_on_the_loop() -> bytes:
        return device.port.read(1)

    with pytest.raises(BleBridgeError, match="to_thread"):
        radio.loop.run(read_on_the_loop())
    assert device.hello().kind == "thermostat"


def test_open_ble_device_finds_a_device_through_a_controller_given_as_an_hci_transport(
    radio: Radio,
) -> None:
    """An HCI transport makes the backend bumble (as a USB dongle would): the device is found by
    name, driven, and closing it closes the transport; here a controller served over TCP."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

        async def serve_a_controller() -> Any:
            served = await open_tcp_server_transport_with_socket(sock)
            ScanResponseController(
                "dongle", host_source=served.source, host_sink=served.sink, link=radio.link
            )
            return served

        served = radio.loop.run(serve_a_controller())
        transport = f"tcp-client:127.0.0.1:{port}"
        with open_ble_device(name=DEVICE_NAME, hci_transport=transport, timeout=30.0) as device:
            assert isinstance(device.port, BleUartPort) and isinstance(device.port.pipe, BumblePipe)
            assert device.hello().kind == "thermostat"
            device.set("setpoint", 205)
            assert device.values()["setpoint"] == 205
        radio.loop.run(served.close())
