"""The central on bleak: the platform's own BLE stack (BlueZ over D-Bus, CoreBluetooth, WinRT,
Android), for scanning and for ``GattPipe``s to peripherals.

Why it exists: bleak is the portable way to be a central on a machine whose OS owns the radio.
bleak is imported only when a ``BleakCentral`` is made, so importing this module stays light.

- Scanning is active (an agent's token travels in the scan response) and unfiltered: every
  report goes to the handler, and the layers above pick theirs. A filter is not handed to BlueZ
  (``service_uuids``) on purpose: BlueZ then uses the kernel's service discovery, which judges
  each report on its own and drops a scan response that carries service data but no UUID list,
  so an agent's token would never arrive.
- ``connect`` opens the GATT link, finds the service's write and notify characteristics,
  subscribes to notifications and returns a ``BleakPipe``; ``send`` is one write, without
  response when the characteristic takes that.

The BlueZ MTU quirk, handled here and nowhere else (``BleakPipe.att_mtu`` and ``settle_mtu``):
on BlueZ, bleak reports an MTU of 23 (``BleakClient.mtu_size``) until told otherwise. BlueZ itself
exchanges the MTU right after connecting and (5.62+) publishes it as each characteristic's
``MTU`` property, which bleak exposes as ``max_write_without_response_size`` (MTU - 3). The pipe
reads that live value; if it is still at the minimum shortly after connecting, it asks BlueZ
directly through ``AcquireWrite`` (what bleak's private ``_acquire_mtu`` does), whose reply
carries the MTU. Other platforms report a real ``mtu_size``. Every user of a bleak pipe (agents'
sessions, the firmware bridge) thus cuts its data at the MTU BlueZ really negotiated.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from edge_dan.ble.advertising import ScanReport, normalize_uuid
from edge_dan.ble.errors import BleUnavailable, ConnectFailed, DeviceNotFound, ServiceMissing
from edge_dan.ble.gatt import GattService, PipeEvents, clamp_att_mtu
from edge_dan.ble.roles import RecentlySeen, ReportHandler
from edge_dan.wire.errors import ConnectionLost
from edge_dan.wire.framing.ble import MAX_ATT_MTU, MIN_ATT_MTU

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.characteristic import BleakGATTCharacteristic
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

MTU_SETTLE_TIMEOUT = 2.0  # how long BlueZ gets to publish the exchanged MTU before we ask it
DISCONNECT_TIMEOUT = 10.0


def _import_bleak() -> Any:
    try:
        import bleak
    except ImportError as exc:
        raise BleUnavailable(
            "the bleak backend needs bleak: pip install bleak (or edge-dan's ble extra)"
        ) from exc
    return bleak


class BleakPipe(PipeEvents):
    """A ``GattPipe`` on one bleak connection (this side is the central).

    Notifications that arrive before ``set_handlers`` are kept and delivered, in order, once
    handlers are set.
    """

    def __init__(
        self,
        client: BleakClient,
        write: BleakGATTCharacteristic,
        max_mtu: int = MAX_ATT_MTU,
    ) -> None:
        super().__init__()
        self._client = client
        self._write = write
        self._max_mtu = max_mtu
        self._acquired_mtu = MIN_ATT_MTU
        # Without response when the characteristic allows it (ours, NimBLE's and Nordic's NUS).
        self.with_response = "write-without-response" not in write.properties
        self.disconnecting = False  # we asked: bleak's callback then reports our reason
        self.mtu_source = "backend"  # where att_mtu came from: for logs and diagnostics

    @property
    def att_mtu(self) -> int:
        live = MIN_ATT_MTU
        with contextlib.suppress(Exception):  # a backend without the value: keep the minimum
            live = self._write.max_write_without_response_size + 3
        with contextlib.suppress(Exception):  # BlueZ's mtu_size says 23 whatever was exchanged
            live = max(live, self._client.mtu_size if not self._is_bluez() else MIN_ATT_MTU)
        return clamp_att_mtu(max(live, self._acquired_mtu), self._max_mtu)

    @property
    def peer_address(self) -> str:
        return str(self._client.address)

    async def send(self, value: bytes) -> None:
        if self._down is not None:
            raise ConnectionLost(f"the BLE link is down: {self._down}")
        bleak = _import_bleak()
        try:
            await self._client.write_gatt_char(self._write, value, response=self.with_response)
        except (bleak.exc.BleakError, EOFError, OSError) as exc:
            self.link_down(f"a write failed: {exc}")
            raise ConnectionLost(f"the BLE link is down: {self._down}") from exc

    async def disconnect(self) -> None:
        if self._down is not None:
            return
        bleak = _import_bleak()
        self.disconnecting = True
        with contextlib.suppress(bleak.exc.BleakError, EOFError, OSError, TimeoutError):
            await asyncio.wait_for(self._client.disconnect(), timeout=DISCONNECT_TIMEOUT)
        self.link_down("disconnected by this side")

    # -- from bleak ------------------------------------------------------------------------------

    def notification(self, _characteristic: object, data: bytearray) -> None:
        self.value_arrived(data)

    async def settle_mtu(self) -> None:
        """Wait for BlueZ to publish the exchanged MTU; ask it through AcquireWrite if it won't."""
        if not self._is_bluez():
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MTU_SETTLE_TIMEOUT
        while self.att_mtu == MIN_ATT_MTU and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if self.att_mtu > MIN_ATT_MTU:
            self.mtu_source = "BlueZ characteristic MTU property"
            return
        backend: Any = self._client._backend  # _acquire_mtu is BlueZ-only and private
        self.mtu_source = "minimum (BlueZ reported none)"
        with contextlib.suppress(Exception):  # a peer that really stays at 23 is fine too
            await backend._acquire_mtu()
            self._acquired_mtu = int(backend.mtu_size)
            self.mtu_source = "BlueZ AcquireWrite reply"

    def _is_bluez(self) -> bool:
        return type(self._client._backend).__module__.startswith("bleak.backends.bluezdbus")


class BleakCentral:
    """Scan and connect with bleak (``adapter``: e.g. ``hci1`` on BlueZ; the default otherwise).

    ``max_mtu`` caps the ATT MTU pipes report below what the stack negotiated (bleak cannot
    choose what BlueZ asks for), for peers or stacks that mishandle long writes.
    """

    def __init__(self, *, adapter: str | None = None, max_mtu: int = MAX_ATT_MTU) -> None:
        if not MIN_ATT_MTU <= max_mtu <= MAX_ATT_MTU:
            raise ValueError(f"ATT MTU must be {MIN_ATT_MTU}..{MAX_ATT_MTU}, got {max_mtu}")
        self._max_mtu = max_mtu
        self._bleak = _import_bleak()
        self._bluez: dict[str, Any] = {"adapter": adapter} if adapter else {}
        self._scanner: Any = None
        self._on_report: ReportHandler | None = None
        self._devices: RecentlySeen[BLEDevice] = RecentlySeen()  # bleak connects faster to these

    async def start_scan(self, on_report: ReportHandler) -> None:
        if self._scanner is not None:
            await self.stop_scan()
        self._on_report = on_report
        scanner = self._bleak.BleakScanner(
            self._on_advertisement, None, "active", bluez=self._bluez
        )
        try:
            await scanner.start()
        except self._bleak.exc.BleakError as exc:
            raise BleUnavailable(f"cannot scan over BLE: {exc}") from exc
        self._scanner = scanner

    async def stop_scan(self) -> None:
        scanner, self._scanner = self._scanner, None
        self._on_report = None
        if scanner is not None:
            with contextlib.suppress(self._bleak.exc.BleakError):
                await scanner.stop()

    async def connect(
        self, address: str, service: GattService, *, timeout: float = 20.0
    ) -> BleakPipe:
        """Connect, find the service's characteristics and subscribe to its notifications."""
        bleak = self._bleak
        target: BLEDevice | str = self._devices.get(address) or address
        pipe: BleakPipe | None = None

        def disconnected(_client: BleakClient) -> None:
            if pipe is not None:
                pipe.link_down(
                    "disconnected by this side"
                    if pipe.disconnecting
                    else "the peer disconnected or the link was lost"
                )

        client = bleak.BleakClient(
            target, disconnected, [service.uuid], timeout=timeout, bluez=self._bluez
        )
        try:
            await client.connect()
        except bleak.exc.BleakDeviceNotFoundError as exc:
            raise DeviceNotFound(f"no BLE device {address} found within {timeout} s") from exc
        except (bleak.exc.BleakError, TimeoutError, EOFError, OSError) as exc:
            raise ConnectFailed(f"could not connect to {address}: {exc}") from exc
        try:
            found = client.services.get_service(service.uuid)
            write = found.get_characteristic(service.write) if found is not None else None
            notify = found.get_characteristic(service.notify) if found is not None else None
            if write is None or notify is None:
                raise ServiceMissing.at(address, service, service_found=found is not None)
            pipe = BleakPipe(client, write, self._max_mtu)
            await pipe.settle_mtu()
            await client.start_notify(notify, pipe.notification)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), DISCONNECT_TIMEOUT)
            if isinstance(exc, bleak.exc.BleakError | EOFError | OSError):
                raise ConnectFailed(
                    f"could not set up the GATT link with {address}: {exc}"
                ) from exc
            raise
        return pipe

    def _on_advertisement(self, device: BLEDevice, data: AdvertisementData) -> None:
        if self._on_report is None:
            return
        self._devices.add(device.address, device)
        self._on_report(
            ScanReport(
                device.address,
                data.rssi,
                tuple(normalize_uuid(u) for u in data.service_uuids),
                {normalize_uuid(k): bytes(v) for k, v in data.service_data.items()},
                data.local_name or device.name,
            )
        )
