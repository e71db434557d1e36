"""BLE central on bleak: scan for agents, connect, and carry fragments as a ``GattPipe``.

bleak is the portable BLE central library (BlueZ over D-Bus on Linux, CoreBluetooth, WinRT,
Android). It is imported only when a ``BleakCentral`` is made, so ``import edge_dan`` stays light.

- Scanning is active (our token travels in the scan response) and filtered here, in Python, by
  ``SERVICE_UUID``: each report whose service data under our UUID parses as an ``Advert`` becomes
  a ``BleSighting`` (address, RSSI, advert, wall-clock time). Repeats are reported too: a
  directory merges them. The filter is not handed to BlueZ (``service_uuids``) on purpose: BlueZ
  then uses the kernel's service discovery, which judges each report on its own and drops our
  scan response (it carries service data but no UUID list), so the token would never arrive.
- ``connect`` opens the GATT link, finds RX and TX, subscribes to TX notifications and returns a
  ``BleakPipe``; ``send`` is one write without response to RX.
- ATT MTU: on BlueZ, bleak reports 23 until told otherwise (``BleakClient.mtu_size``). BlueZ
  itself exchanges the MTU right after connecting and (5.62+) publishes it as each
  characteristic's ``MTU`` property, which bleak exposes as
  ``max_write_without_response_size`` (MTU - 3). The pipe reads that live value; if it is still
  at the minimum shortly after connecting, it asks BlueZ directly through ``AcquireWrite`` (what
  bleak's private ``_acquire_mtu`` does), whose reply carries the MTU. Other backends report a
  real ``mtu_size``.
- A disconnection, from either side, is reported once to the pipe's ``on_disconnect``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from edge_dan.discovery.ble import BleSighting, SightingHandler, advert_from_service_data
from edge_dan.errors import EdgeDanError
from edge_dan.transports.gatt import (
    RX_CHAR_UUID,
    SERVICE_UUID,
    TX_CHAR_UUID,
    PipeEvents,
)
from edge_dan.wire.errors import ConnectionLost
from edge_dan.wire.framing.ble import MAX_ATT_MTU, MIN_ATT_MTU

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.characteristic import BleakGATTCharacteristic
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

Clock = Callable[[], float]
MTU_SETTLE_TIMEOUT = 2.0  # how long BlueZ gets to publish the exchanged MTU before we ask it


class BleakUnavailable(EdgeDanError):
    """bleak is missing, or the platform has no usable Bluetooth adapter."""


def _import_bleak() -> Any:
    try:
        import bleak
    except ImportError as exc:
        raise BleakUnavailable(
            "the BLE central needs bleak: pip install bleak (or edge-dan's ble extra)"
        ) from exc
    return bleak


class BleakPipe(PipeEvents):
    """A ``GattPipe`` on one bleak connection (this side is the central).

    Notifications that arrive before ``set_handlers`` are kept and delivered, in order, once
    handlers are set.
    """

    def __init__(
        self, client: BleakClient, rx: BleakGATTCharacteristic, max_mtu: int = MAX_ATT_MTU
    ) -> None:
        super().__init__()
        self._client = client
        self._rx = rx
        self._max_mtu = max_mtu
        self._acquired_mtu = MIN_ATT_MTU
        self.disconnecting = False  # we asked: bleak's callback then reports our reason
        self.mtu_source = "backend"  # where att_mtu came from: for logs and diagnostics

    @property
    def att_mtu(self) -> int:
        live = MIN_ATT_MTU
        with contextlib.suppress(Exception):  # a backend without the value: keep the minimum
            live = self._rx.max_write_without_response_size + 3
        with contextlib.suppress(Exception):
            live = max(live, self._client.mtu_size if not self._is_bluez() else MIN_ATT_MTU)
        return max(MIN_ATT_MTU, min(max(live, self._acquired_mtu), self._max_mtu))

    @property
    def peer_address(self) -> str:
        return str(self._client.address)

    async def send(self, fragment: bytes) -> None:
        if self._down is not None:
            raise ConnectionLost(f"the BLE link is down: {self._down}")
        bleak = _import_bleak()
        try:
            await self._client.write_gatt_char(self._rx, fragment, response=False)
        except (bleak.exc.BleakError, EOFError, OSError) as exc:
            self.link_down(f"a write failed: {exc}")
            raise ConnectionLost(f"the BLE link is down: {self._down}") from exc

    async def disconnect(self) -> None:
        if self._down is not None:
            return
        bleak = _import_bleak()
        self.disconnecting = True
        with contextlib.suppress(bleak.exc.BleakError, EOFError, OSError, TimeoutError):
            await asyncio.wait_for(self._client.disconnect(), timeout=10.0)
        self.link_down("disconnected by this side")

    # -- from bleak ------------------------------------------------------------------------------

    def notification(self, _characteristic: object, data: bytearray) -> None:
        self.fragment_arrived(bytes(data))

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
    """Scan for agents and connect to them with bleak (``adapter``: e.g. ``hci0`` on BlueZ).

    ``clock`` stamps sightings (wall clock, as the token epochs use). ``max_mtu`` caps the ATT
    MTU used to cut fragments below what the stack negotiated (bleak cannot choose what BlueZ
    asks for), for peers or stacks that mishandle long writes.
    """

    def __init__(
        self, *, adapter: str | None = None, clock: Clock = time.time, max_mtu: int = MAX_ATT_MTU
    ) -> None:
        if not MIN_ATT_MTU <= max_mtu <= MAX_ATT_MTU:
            raise ValueError(f"ATT MTU must be {MIN_ATT_MTU}..{MAX_ATT_MTU}, got {max_mtu}")
        self._max_mtu = max_mtu
        self._bleak = _import_bleak()
        self._adapter = adapter
        self._clock = clock
        self._scanner: Any = None
        self._on_sighting: SightingHandler | None = None
        self._devices: dict[str, BLEDevice] = {}  # by address, as last seen

    async def start(self, on_sighting: SightingHandler) -> None:
        if self._scanner is not None:
            await self.stop()
        self._on_sighting = on_sighting
        bluez: dict[str, Any] = {"adapter": self._adapter} if self._adapter else {}
        scanner = self._bleak.BleakScanner(self._on_advertisement, None, "active", bluez=bluez)
        try:
            await scanner.start()
        except self._bleak.exc.BleakError as exc:
            raise BleakUnavailable(f"cannot scan for BLE agents: {exc}") from exc
        self._scanner = scanner

    async def stop(self) -> None:
        scanner, self._scanner = self._scanner, None
        self._on_sighting = None
        if scanner is not None:
            with contextlib.suppress(self._bleak.exc.BleakError):
                await scanner.stop()

    async def connect(self, sighting: BleSighting, *, timeout: float = 20.0) -> BleakPipe:
        """Connect to a sighted agent, subscribe to TX; ``ConnectionLost`` if that fails."""
        bleak = self._bleak
        target: BLEDevice | str = self._devices.get(sighting.address, sighting.address)
        pipe: BleakPipe | None = None

        def disconnected(_client: BleakClient) -> None:
            if pipe is not None:
                pipe.link_down(
                    "disconnected by this side"
                    if pipe.disconnecting
                    else "the peer disconnected or the link was lost"
                )

        bluez: dict[str, Any] = {"adapter": self._adapter} if self._adapter else {}
        client = bleak.BleakClient(
            target, disconnected, [SERVICE_UUID], timeout=timeout, bluez=bluez
        )
        try:
            await client.connect()
        except (bleak.exc.BleakError, TimeoutError, EOFError, OSError) as exc:
            raise ConnectionLost(f"could not connect to {sighting.address}: {exc}") from exc
        try:
            rx = client.services.get_characteristic(RX_CHAR_UUID)
            tx = client.services.get_characteristic(TX_CHAR_UUID)
            if rx is None or tx is None:
                raise ConnectionLost(f"{sighting.address} offers no edge_dan RX/TX characteristics")
            pipe = BleakPipe(client, rx, self._max_mtu)
            await pipe.settle_mtu()
            await client.start_notify(tx, pipe.notification)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await client.disconnect()
            if isinstance(exc, bleak.exc.BleakError | EOFError | OSError):
                raise ConnectionLost(f"could not set up {sighting.address}: {exc}") from exc
            raise
        return pipe

    def _on_advertisement(self, device: BLEDevice, data: AdvertisementData) -> None:
        if self._on_sighting is None:
            return
        advert = advert_from_service_data(data.service_data)
        if advert is None:
            return  # not ours, or the advertising part before its scan response
        self._devices[device.address] = device
        self._on_sighting(BleSighting(device.address, data.rssi, advert, self._clock()))
