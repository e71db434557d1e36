"""The bridge's BLE UART link through bleak: find a device, connect, and hand out its port.

bleak reaches the platform's own Bluetooth stack (BlueZ over D-Bus on Linux, CoreBluetooth,
WinRT, Android). ``open_ble_device`` runs bleak on a private loop thread and returns a blocking
``SerialDevice``; ``connect_bleak_port`` does the same on the caller's loop. See
:mod:`edge_dan.bridge.ble` for the port, the chunking and the errors.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from edge_dan.bridge.ble import (
    ATT_WRITE_HEADER,
    DISCONNECT_TIMEOUT,
    MIN_ATT_MTU,
    NUS,
    BleBridgeError,
    BleConnectFailed,
    BleDeviceNotFound,
    BleLinkLost,
    BleUartPort,
    LoopThread,
    ReceiveBuffer,
    UartService,
    UartServiceMissing,
    missing_service_text,
)
from edge_dan.bridge.link import SerialDevice

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.characteristic import BleakGATTCharacteristic


def _import_bleak() -> Any:
    try:
        import bleak
    except ImportError as exc:
        raise BleBridgeError(
            "BLE devices need bleak: pip install bleak (or edge-dan's ble extra)"
        ) from exc
    return bleak


class BleakUartLink:
    """The UART link on one bleak connection."""

    def __init__(self, client: BleakClient, rx: BleakGATTCharacteristic) -> None:
        self._client = client
        self._rx = rx
        # Write without response when RX allows it (NimBLE's and Nordic's NUS do): no round trip.
        self.with_response = "write-without-response" not in rx.properties

    @property
    def att_mtu(self) -> int:
        # BlueZ publishes the exchanged MTU through this property (20 until it knows better);
        # chunks cut at 20 still arrive, only more slowly.
        live = MIN_ATT_MTU
        with contextlib.suppress(Exception):
            live = int(self._rx.max_write_without_response_size) + ATT_WRITE_HEADER
        return max(MIN_ATT_MTU, live)

    async def write_chunk(self, chunk: bytes) -> None:
        bleak = _import_bleak()
        try:
            await self._client.write_gatt_char(self._rx, chunk, response=self.with_response)
        except (bleak.exc.BleakError, EOFError, OSError) as exc:
            raise BleLinkLost(f"a write to the device failed: {exc}") from exc

    async def disconnect(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._client.disconnect(), DISCONNECT_TIMEOUT)


async def connect_bleak_port(
    address: str | None = None,
    *,
    name: str | None = None,
    service: UartService = NUS,
    adapter: str | None = None,
    timeout: float = 20.0,
) -> BleUartPort:
    """Connect with bleak on the running loop; the port must then be used from another thread.

    ``address`` connects directly; without it, a scan of up to ``timeout`` seconds picks the first
    device advertising ``name`` (or, without a name, ``service``). ``adapter``: e.g. ``hci0``.
    """
    bleak = _import_bleak()
    bluez: dict[str, Any] = {"adapter": adapter} if adapter else {}
    target: Any = address
    if address is None:
        target = await _scan_for(bleak, name, service, timeout, bluez)
    described = address or (f"name {name!r}" if name else f"service {service.service}")
    received = ReceiveBuffer()
    client = bleak.BleakClient(
        target,
        lambda _client: received.link_down("the device disconnected or went out of range"),
        [service.service],
        timeout=timeout,
        bluez=bluez,
    )
    try:
        await client.connect()
    except bleak.exc.BleakDeviceNotFoundError as exc:
        raise BleDeviceNotFound(f"no BLE device {described} found within {timeout} s") from exc
    except (bleak.exc.BleakError, TimeoutError, EOFError, OSError) as exc:
        raise BleConnectFailed(f"could not connect to the BLE device {described}: {exc}") from exc
    try:
        gatt = client.services.get_service(service.service)
        rx = gatt.get_characteristic(service.rx) if gatt is not None else None
        tx = gatt.get_characteristic(service.tx) if gatt is not None else None
        if rx is None or tx is None:
            raise UartServiceMissing(missing_service_text(described, service, found_service=gatt))
        await client.start_notify(tx, lambda _char, data: received.feed(bytes(data)))
    except BaseException as exc:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), DISCONNECT_TIMEOUT)
        if isinstance(exc, bleak.exc.BleakError | EOFError | OSError):
            raise BleConnectFailed(f"could not set up the UART of {described}: {exc}") from exc
        raise
    return BleUartPort(BleakUartLink(client, rx), received, asyncio.get_running_loop())


async def _scan_for(
    bleak: Any, name: str | None, service: UartService, timeout: float, bluez: dict[str, Any]
) -> Any:
    wanted_service = service.service.lower()

    def matches(device: Any, advertisement: Any) -> bool:
        if name is not None:
            return name in (advertisement.local_name, device.name)
        return wanted_service in (uuid.lower() for uuid in advertisement.service_uuids)

    try:
        found = await bleak.BleakScanner.find_device_by_filter(matches, timeout, bluez=bluez)
    except bleak.exc.BleakError as exc:
        raise BleConnectFailed(f"cannot scan for BLE devices: {exc}") from exc
    if found is None:
        what = f"named {name!r}" if name else f"offering service {service.service}"
        raise BleDeviceNotFound(f"no BLE device {what} advertised within {timeout} s")
    return found


def open_ble_device(
    address: str | None = None,
    *,
    name: str | None = None,
    service: UartService = NUS,
    adapter: str | None = None,
    timeout: float = 20.0,
    answer_timeout: float = 2.0,
    attempts: int = 3,
) -> SerialDevice:
    """A ``SerialDevice`` on a BLE UART device, through bleak on a private background loop.

    Blocking, like ``SerialDevice.open``; closing the device disconnects and stops the loop.
    """
    thread = LoopThread()
    try:
        port = thread.run(
            connect_bleak_port(
                address, name=name, service=service, adapter=adapter, timeout=timeout
            )
        )
    except BaseException:
        thread.stop()
        raise
    port.owned_loop = thread
    return SerialDevice(port, answer_timeout=answer_timeout, attempts=attempts)
