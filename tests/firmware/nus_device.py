"""A software BLE thermostat for tests: the real C thermostat behind a Nordic UART service.

- ``build_thermostat_lib``: ``make thermostat-lib`` (the C library plus the thermostat's device
  logic as a host shared library);
- ``ThermostatFirmware``: that library through ctypes, fed bytes, giving back what it writes;
- ``NusThermostat``: a bumble peripheral exposing a UART service (NUS by default) whose RX writes
  go to the firmware and whose output goes out as TX notifications cut to the ATT MTU. It records
  the size of every write and notification, and can drop the link instead of answering.

Used by ``test_ble_bridge.py`` on bumble's software radio (``edge_dan.ble.backends.sim``) and by
the blevm scenario, where BlueZ and bleak are the central (``tools/blevm/scenario.py``).
"""

from __future__ import annotations

import asyncio
import ctypes
import subprocess
import sys
from pathlib import Path
from typing import Any

from bumble import hci
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from edge_dan.ble import GattService
from edge_dan.ble.backends.sim import ScanResponseController
from edge_dan.bridge.ble_port import NUS, split_for_att

BRIDGE = Path(__file__).resolve().parents[2] / "firmware_bridge"
DEVICE_NAME = "edge-thermostat"
DEVICE_ADDRESS = "C4:5A:0E:00:00:01"  # random static (top bits 11), as many NimBLE devices use
# sizeof(thermostat) is about 1.5 KB on x86-64 (buffers of PROTOCOL.md plus two decoded
# messages); ctypes cannot see the C struct, so the firmware gets ten times that.
THERMOSTAT_STORAGE = 16 * 1024
WRITE_CALLBACK = ctypes.CFUNCTYPE(
    None, ctypes.POINTER(ctypes.c_uint8), ctypes.c_size_t, ctypes.c_void_p
)
ALL_WRITES = Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE


def build_thermostat_lib(build_dir: Path) -> Path:
    """``make -C firmware_bridge thermostat-lib`` into ``build_dir``; the library's path."""
    done = subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(BRIDGE),
            f"B={build_dir}",
            f"PYTHON={sys.executable}",
            "thermostat-lib",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"make thermostat-lib failed:\n{done.stdout}\n{done.stderr}")
    return build_dir / "libthermostat.so"


class ThermostatFirmware:
    """One thermostat (fresh state) from ``libthermostat.so``: bytes in, its output bytes out."""

    def __init__(self, library: Path) -> None:
        self._lib = ctypes.CDLL(str(library))
        self._lib.thermostat_receive.argtypes = [ctypes.c_void_p, ctypes.c_uint8]
        self._lib.thermostat_init.argtypes = [ctypes.c_void_p, WRITE_CALLBACK, ctypes.c_void_p]
        self._state = ctypes.create_string_buffer(THERMOSTAT_STORAGE)
        self._output = bytearray()
        self._callback = WRITE_CALLBACK(self._written)  # kept: C holds the pointer
        self._lib.thermostat_init(self._state, self._callback, None)

    def _written(self, data: Any, length: int, _ctx: object) -> None:
        self._output += ctypes.string_at(data, length)

    def receive(self, data: bytes) -> bytes:
        """Feed ``data`` byte by byte, as a UART interrupt would; what the firmware wrote."""
        for byte in data:
            self._lib.thermostat_receive(self._state, byte)
        output = bytes(self._output)
        self._output.clear()
        return output


class NusThermostat:
    """The thermostat as a BLE peripheral on a powered-on bumble ``device``.

    ``rx_properties``: how the host may write RX (both kinds by default). ``max_mtu``: the largest
    ATT MTU the device accepts. Set ``drop_link_on_next_write`` to make the device disconnect
    instead of answering the next write (a device that resets or walks out of range), ``silent``
    to make it swallow its answers (a hung device).
    """

    def __init__(
        self,
        device: Device,
        firmware: ThermostatFirmware,
        *,
        service: GattService = NUS,
        rx_properties: Characteristic.Properties = ALL_WRITES,
        max_mtu: int = 247,
    ) -> None:
        self.device = device
        self.firmware = firmware
        self.service = service
        self.drop_link_on_next_write = False
        self.silent = False  # takes writes, never answers (a hung device)
        self.write_sizes: list[int] = []  # every RX write, as it arrived
        self.notification_sizes: list[int] = []
        self.received = bytearray()  # everything written to RX
        self.link_events: list[str] = []  # connections and disconnections, for diagnostics
        self._outgoing: asyncio.Queue[tuple[Connection, bytes]] = asyncio.Queue()
        self._rx: Characteristic[bytes] = Characteristic(
            service.write,
            rx_properties,
            Characteristic.Permissions.WRITEABLE,
            CharacteristicValue(write=self._on_rx_write),
        )
        self._tx: Characteristic[bytes] = Characteristic(
            service.notify,
            Characteristic.Properties.NOTIFY,
            Characteristic.Permissions.READABLE,
            b"",
        )
        device.add_service(Service(service.uuid, [self._rx, self._tx]))
        device.gatt_server.max_mtu = max_mtu
        device.on(device.EVENT_CONNECTION, self._on_connection)
        self._sender = asyncio.create_task(self._send_in_order())

    @property
    def address(self) -> hci.Address:
        address: hci.Address = self.device.random_address
        return address

    async def start_advertising(self, name: str = DEVICE_NAME) -> None:
        """Advertise the service UUID (advertising data) and ``name`` (scan response)."""
        uuid_bytes = bytes.fromhex(self.service.uuid.replace("-", ""))[::-1]  # little-endian
        advertising = bytes([2, 0x01, 0x06, 17, 0x07]) + uuid_bytes  # flags, 128-bit UUID list
        encoded_name = name.encode()
        scan_response = bytes([len(encoded_name) + 1, 0x09]) + encoded_name  # complete name
        await self.device.start_advertising(
            own_address_type=hci.OwnAddressType.RANDOM,
            advertising_data=advertising,
            scan_response_data=scan_response,
            auto_restart=True,
            advertising_interval_min=20.0,
            advertising_interval_max=20.0,
        )

    async def stop(self) -> None:
        self._sender.cancel()
        await asyncio.gather(self._sender, return_exceptions=True)

    def _on_connection(self, connection: Connection) -> None:
        self.link_events.append(f"connected to {connection.peer_address}")

        def disconnected(reason: int) -> None:
            self.link_events.append(f"disconnected from {connection.peer_address} ({reason:#x})")

        connection.on(connection.EVENT_DISCONNECTION, disconnected)

    def _on_rx_write(self, connection: Connection, value: bytes) -> None:
        # Synchronous: bumble runs each write in its own task, and only a callback that never
        # awaits sees the writes in arrival order.
        if self.drop_link_on_next_write:
            self.drop_link_on_next_write = False
            asyncio.get_running_loop().create_task(connection.disconnect())
            return
        self.write_sizes.append(len(value))
        self.received += value
        output = self.firmware.receive(bytes(value))
        if output and not self.silent:
            self._outgoing.put_nowait((connection, output))

    async def _send_in_order(self) -> None:
        while True:
            connection, output = await self._outgoing.get()
            for chunk in split_for_att(output, int(connection.att_mtu)):
                self.notification_sizes.append(len(chunk))
                try:
                    await self.device.notify_subscriber(connection, self._tx, chunk)
                except hci.HCI_Error:
                    break  # the host went away mid-answer: it retries or gives up


async def thermostat_on_link(
    link: LocalLink,
    library: Path,
    *,
    address: str = DEVICE_ADDRESS,
    advertise: bool = True,
    **options: Any,
) -> NusThermostat:
    """A fresh thermostat on its own software controller on ``link``, advertising."""
    controller = ScanResponseController("thermostat", link=link)
    device = Device(address=hci.Address(address), host=Host(controller, AsyncPipeSink(controller)))
    await device.power_on()
    thermostat = NusThermostat(device, ThermostatFirmware(library), **options)
    if advertise:
        await thermostat.start_advertising()
    return thermostat
