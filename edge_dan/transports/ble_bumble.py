"""BLE on Google's bumble host stack: an agent's peripheral and central roles as ``GattPipe``s.

bumble is a complete host stack in Python. It drives a real controller over HCI (USB, UART,
``/dev/vhci``, a TCP HCI server) or, in tests, software controllers on a ``bumble.link.LocalLink``
that really advertise, scan, connect, exchange MTUs, write and notify. The caller builds and
owns the ``bumble.device.Device`` (so the same code runs on any controller) and powers it on;
this module adds our service and roles to it:

- ``BumblePeripheral``: a GATT server with RX (write without response) and TX (notify) under
  ``SERVICE_UUID``; advertises ``discovery.ble.advertising_payloads`` (the token in the scan
  response) from a fresh non-resolvable private address at each token rotation; yields one
  ``BumblePipe`` per central once it subscribed to TX (``accept``).
- ``BumbleCentral``: an active scan reporting ``BleSighting``s of agents, and ``connect``, which
  connects, asks for a larger ATT MTU, finds RX and TX, subscribes to TX and returns a pipe.

Both roles can share one device. Each pipe ends once, with a readable reason, when the link
drops; ``edge_dan.transports.ble.open_ble_channel`` runs a session on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bumble import core, hci
from bumble.core import UUID
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.gatt_client import CharacteristicProxy

from edge_dan.discovery.ble import (
    BleSighting,
    SightingHandler,
    advert_from_advertising_data,
    advertising_payloads,
    lists_our_service,
)
from edge_dan.discovery.tokens import TokenRotator
from edge_dan.transports.gatt import (
    RX_CHAR_UUID,
    SERVICE_UUID,
    TX_CHAR_UUID,
    PipeEvents,
)
from edge_dan.wire.errors import ConnectionLost
from edge_dan.wire.framing.ble import MAX_ATT_MTU, MIN_ATT_MTU

Clock = Callable[[], float]
ACL_HIGH_WATER = 32  # host-queued ACL packets beyond which a sender waits for the controller
DISCONNECT_TIMEOUT = 5.0  # for the controller to confirm a disconnection we asked for
FLUSH_TIMEOUT = 2.0  # for the last queued packets to reach the controller before we disconnect


def _reason_text(reason: int) -> str:
    name: str = hci.HCI_Constant.error_name(reason)  # type: ignore[no-untyped-call]
    return f"{name} (HCI 0x{reason:02X})"


@contextlib.asynccontextmanager
async def open_device(transport: str, *, name: str = "edge-dan") -> AsyncIterator[Device]:
    """A powered-on bumble ``Device`` on a controller reached through ``transport``.

    ``transport`` is a bumble transport name: ``usb:0``, ``serial:/dev/ttyACM0``, ``vhci``,
    ``hci-socket:0``, ``tcp-client:127.0.0.1:9001`` (a controller served over HCI on TCP, as
    bumble's own tools and tests do), among others. The device starts on a fresh
    non-resolvable private address, so even its scan requests carry nothing stable.
    """
    from bumble.transport import open_transport

    async with await open_transport(transport) as (source, sink):
        address = hci.Address.generate_private_address()
        device = Device.with_hci(name, address, source, sink)
        await device.power_on()
        yield device


class BumblePipe(PipeEvents):
    """A ``GattPipe`` on one bumble LE connection, for either role.

    Fragments that arrive before ``set_handlers`` (a central may write as soon as it subscribed)
    are kept and delivered, in order, once handlers are set.
    """

    def __init__(
        self,
        connection: Connection,
        send_fragment: Callable[[bytes], Awaitable[None]],
        att_mtu: Callable[[], int],
    ) -> None:
        super().__init__()
        self._connection = connection
        self._send_fragment = send_fragment
        self._att_mtu = att_mtu
        connection.on(connection.EVENT_DISCONNECTION, self._disconnected)

    @property
    def att_mtu(self) -> int:
        return max(MIN_ATT_MTU, min(self._att_mtu(), MAX_ATT_MTU))

    @property
    def peer_address(self) -> str:
        address: hci.Address = self._connection.peer_address
        return address.to_string(with_type_qualifier=False)

    async def send(self, fragment: bytes) -> None:
        if self._down is not None:
            raise ConnectionLost(f"the BLE link is down: {self._down}")
        try:
            await self._send_fragment(fragment)
        except (core.BaseBumbleError, hci.HCI_Error) as exc:  # the link went as we sent
            raise ConnectionLost(f"the BLE link failed while sending: {exc}") from exc
        await self._pace()

    async def disconnect(self) -> None:
        if self._down is not None:
            return
        # bumble drops host-queued ACL packets at disconnection: let the last fragments go first.
        queue = self._acl_queue()
        if queue is not None:
            with contextlib.suppress(ValueError, TimeoutError):  # ValueError: nothing ever sent
                await asyncio.wait_for(queue.drain(self._connection.handle), FLUSH_TIMEOUT)
        if self._down is None:
            # Already gone, or refused by the controller: either way the link is over for us.
            with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error, TimeoutError):
                await asyncio.wait_for(self._connection.disconnect(), DISCONNECT_TIMEOUT)
        if self._down is None:  # the controller never confirmed: treat the link as gone
            self._disconnected(hci.HCI_CONNECTION_TIMEOUT_ERROR)

    # -- from the stack --------------------------------------------------------------------------

    def fragment_arrived(self, fragment: bytes) -> None:
        super().fragment_arrived(bytes(fragment))  # bumble may hand over a bytearray

    def _disconnected(self, reason: int) -> None:
        self.link_down(f"disconnected: {_reason_text(reason)}")

    def _acl_queue(self) -> Any:
        host = self._connection.device.host
        return host.le_acl_packet_queue or host.acl_packet_queue

    async def _pace(self) -> None:
        """Writes without response and notifications return at once; wait for the controller
        when too many wait in the host, so a 20 KB message does not queue unbounded."""
        queue = self._acl_queue()
        if queue is not None and queue.pending > ACL_HIGH_WATER:
            with contextlib.suppress(ValueError):
                await queue.drain(self._connection.handle)


class BumblePeripheral:
    """Our GATT service and rotating advertisement on a powered-on bumble ``Device``.

    ``rotator`` gives the token; ``clock`` is the wall clock its epochs use. The advertisement
    changes (new token, new address) whenever the rotator's value changes, checked at its
    ``next_change``, or at once with ``rotate`` (call it after opening or closing the pairing
    window, so the flag shows at once). Advertising resumes after each connection (a controller
    stops connectable advertising when a central connects), so several centrals can connect.
    """

    def __init__(
        self,
        device: Device,
        rotator: TokenRotator,
        *,
        clock: Clock = time.time,
        max_mtu: int = MAX_ATT_MTU,
        advertising_interval: float = 200.0,
    ) -> None:
        self._device = device
        self._interval = advertising_interval  # ms; shorter finds faster, costs more power
        self._rotator = rotator
        self._clock = clock
        self._pipes: dict[int, BumblePipe] = {}  # by connection handle
        self._handed_out: set[BumblePipe] = set()  # pipes ``accept`` returned or will
        self._accepted: asyncio.Queue[BumblePipe] = asyncio.Queue()
        self._rotation: asyncio.Task[None] | None = None
        self._generation = -1
        self._payloads = (b"", b"")  # what ``rotate`` advertises now
        self._background: set[asyncio.Task[None]] = set()
        self._advertising = asyncio.Lock()  # one change of advertising at a time
        self._rx: Characteristic[bytes] = Characteristic(
            RX_CHAR_UUID,
            Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            Characteristic.Permissions.WRITEABLE,
            CharacteristicValue(write=self._on_rx_write),
        )
        self._tx: Characteristic[bytes] = Characteristic(
            TX_CHAR_UUID,
            Characteristic.Properties.NOTIFY,
            Characteristic.Permissions.READABLE,
            b"",
        )
        device.add_service(Service(SERVICE_UUID, [self._rx, self._tx]))
        device.gatt_server.max_mtu = max_mtu
        device.on(device.EVENT_CONNECTION, self._on_connection)
        device.gatt_server.on(
            device.gatt_server.EVENT_CHARACTERISTIC_SUBSCRIPTION, self._on_subscription
        )

    @property
    def address(self) -> str:
        """The address advertised now (changes at every rotation)."""
        address: hci.Address = self._device.random_address
        return address.to_string(with_type_qualifier=False)

    async def start(self) -> None:
        await self.rotate()
        self._rotation = asyncio.create_task(self._rotate_when_due())

    async def stop(self) -> None:
        if self._rotation is not None:
            self._rotation.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rotation
            self._rotation = None
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        async with self._advertising:
            await self._device.stop_advertising()
        for pipe in list(self._pipes.values()):
            await pipe.disconnect()

    async def rotate(self) -> None:
        """Advertise the rotator's current token from a fresh random private address."""
        advert = self._rotator.advert(self._clock())
        self._generation = self._rotator.generation
        async with self._advertising:
            await self._device.stop_advertising()
            address = hci.Address.generate_private_address()  # non-resolvable: links to nothing
            # The device-wide address too (a legacy-only controller advertises from it). A
            # controller that refuses while this device also scans still gets the new address
            # on its extended advertising set, which bumble creates from device.random_address.
            with contextlib.suppress(hci.HCI_Error):
                await self._device.send_command(
                    hci.HCI_LE_Set_Random_Address_Command(random_address=address),
                    check_result=True,
                )
            self._device.random_address = address
            self._payloads = advertising_payloads(advert)
        await self._advertise()

    async def _advertise(self) -> None:
        async with self._advertising:
            advertising, scan_response = self._payloads
            await self._device.start_advertising(
                own_address_type=hci.OwnAddressType.RANDOM,
                advertising_data=advertising,
                scan_response_data=scan_response,
                auto_restart=True,
                advertising_interval_min=self._interval,
                advertising_interval_max=self._interval,
            )

    async def accept(self) -> BumblePipe:
        """The next central that connected and subscribed to TX."""
        return await self._accepted.get()

    # -- machinery -------------------------------------------------------------------------------

    async def _rotate_when_due(self) -> None:
        while True:
            delay = self._rotator.next_change(self._clock()) - self._clock()
            await asyncio.sleep(max(0.0, delay) + 0.001)  # just past the boundary
            self._rotator.advert(self._clock())
            if self._rotator.generation != self._generation:
                await self.rotate()

    def _on_connection(self, connection: Connection) -> None:
        if connection.role != hci.Role.PERIPHERAL:
            return  # our own central's links are the central's business

        async def notify(fragment: bytes) -> None:
            await self._device.notify_subscriber(connection, self._tx, fragment)

        pipe = BumblePipe(connection, notify, lambda: int(connection.att_mtu))
        self._pipes[connection.handle] = pipe
        # A connection stops connectable advertising; resume it so more centrals find us.
        if self._rotation is not None:
            task = asyncio.create_task(self._advertise())
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        connection.on(connection.EVENT_DISCONNECTION, lambda _reason: self._forget(connection))

    def _forget(self, connection: Connection) -> None:
        pipe = self._pipes.pop(connection.handle, None)
        if pipe is not None:
            self._handed_out.discard(pipe)

    def _on_subscription(
        self, connection: Connection, characteristic: Characteristic[Any], notify: bool, *_: Any
    ) -> None:
        pipe = self._pipes.get(connection.handle)
        if characteristic is not self._tx or not notify or pipe is None or not pipe.connected:
            return
        if pipe not in self._handed_out:  # a central may subscribe again: still one pipe
            self._handed_out.add(pipe)
            self._accepted.put_nowait(pipe)

    def _on_rx_write(self, connection: Connection, value: bytes) -> None:
        # Synchronous on purpose: bumble runs each write command in its own task, and only a
        # callback that never awaits keeps fragments in arrival order.
        pipe = self._pipes.get(connection.handle)
        if pipe is not None:
            pipe.fragment_arrived(value)


class BumbleCentral:
    """Active scan for agents and GATT connections to them, on a powered-on bumble ``Device``.

    ``mtu``: the ATT MTU to ask for (23 skips the exchange); the peer may grant less.
    ``clock`` stamps sightings (wall clock, as the token epochs use).
    """

    def __init__(self, device: Device, *, mtu: int = MAX_ATT_MTU, clock: Clock = time.time):
        if not MIN_ATT_MTU <= mtu <= MAX_ATT_MTU:
            raise ValueError(f"ATT MTU must be {MIN_ATT_MTU}..{MAX_ATT_MTU}, got {mtu}")
        self._device = device
        self._mtu = mtu
        self._clock = clock
        self._on_sighting: SightingHandler | None = None
        self._addresses: dict[str, hci.Address] = {}  # text form -> bumble address, last seen
        device.on(device.EVENT_ADVERTISEMENT, self._on_advertisement)

    async def start(self, on_sighting: SightingHandler) -> None:
        self._on_sighting = on_sighting
        await self._device.start_scanning(active=True, filter_duplicates=False)

    async def stop(self) -> None:
        self._on_sighting = None
        if self._device.is_scanning:
            await self._device.stop_scanning()

    async def connect(self, sighting: BleSighting, *, timeout: float = 10.0) -> BumblePipe:
        """Connect to a sighted agent and set up RX/TX; ``ConnectionLost`` if that fails."""
        address = self._addresses.get(sighting.address)
        if address is None:
            address = hci.Address(sighting.address, hci.Address.RANDOM_DEVICE_ADDRESS)
        try:
            connection = await self._device.connect(
                address, own_address_type=hci.OwnAddressType.RANDOM, timeout=timeout
            )
        except (hci.HCI_Error, TimeoutError) as exc:
            raise ConnectionLost(f"could not connect to {sighting.address}: {exc}") from exc
        try:
            return await asyncio.wait_for(self._open_pipe(connection), timeout)
        except BaseException as exc:  # leave no half-set-up link behind, whatever happened
            with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error):
                await connection.disconnect()
            if isinstance(exc, core.BaseBumbleError | hci.HCI_Error | TimeoutError):
                raise ConnectionLost(
                    f"could not set up the GATT link with {sighting.address}: {exc}"
                ) from exc
            raise

    async def _open_pipe(self, connection: Connection) -> BumblePipe:
        peer = Peer(connection)
        if self._mtu > MIN_ATT_MTU:
            await peer.request_mtu(self._mtu)
        await peer.discover_services([UUID(SERVICE_UUID)])
        if not peer.get_services_by_uuid(UUID(SERVICE_UUID)):
            raise ConnectionLost("the peer offers no edge_dan GATT service")
        await peer.discover_characteristics()
        rx = self._characteristic(peer, RX_CHAR_UUID)
        tx = self._characteristic(peer, TX_CHAR_UUID)

        async def write(fragment: bytes) -> None:
            await peer.write_value(rx, fragment, with_response=False)

        pipe = BumblePipe(connection, write, lambda: int(peer.gatt_client.mtu))
        await peer.subscribe(tx, pipe.fragment_arrived)
        return pipe

    @staticmethod
    def _characteristic(peer: Peer, uuid: str) -> CharacteristicProxy[bytes]:
        found = peer.get_characteristics_by_uuid(UUID(uuid))
        if not found:
            raise ConnectionLost(f"the peer's edge_dan service lacks characteristic {uuid}")
        return found[0]

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        if self._on_sighting is None:
            return
        data = bytes(advertisement.data)
        if not lists_our_service(data):
            return
        advert = advert_from_advertising_data(data)
        if advert is None:
            return  # the advertising part alone, before its scan response, or not ours
        text = advertisement.address.to_string(with_type_qualifier=False)
        self._addresses[text] = advertisement.address
        rssi = (
            None if advertisement.rssi == Advertisement.RSSI_NOT_AVAILABLE else advertisement.rssi
        )
        self._on_sighting(BleSighting(text, rssi, advert, self._clock()))
