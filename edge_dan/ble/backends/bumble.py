"""Both roles on Google's bumble host stack, on any HCI controller, as ``GattPipe``s.

Why it exists: bumble is a complete host stack in Python. It drives a controller itself over HCI
(USB, UART, ``/dev/vhci``, a TCP HCI server) on any OS, so it can be a peripheral where the OS
offers none (macOS, Windows) and choose its own addresses; in tests and simulations it drives
software controllers (``edge_dan.ble.backends.sim``) that really advertise, scan, connect,
exchange MTUs, write and notify. The caller builds and owns the ``bumble.device.Device`` (or
opens one with ``open_device``) and powers it on; this module adds the roles to it:

- ``BumblePeripheral``: a GATT server with the service's write (without response) and notify
  characteristics; advertises each ``Advertisement`` from a fresh non-resolvable private address
  and resumes after each connection (a controller stops connectable advertising when a central
  connects), so several centrals can connect; yields one ``BumblePipe`` per central once it
  subscribed (``accept``).
- ``BumbleCentral``: an active scan reporting every advertisement, and ``connect``, which
  connects, asks for a larger ATT MTU, finds the characteristics, subscribes and returns a pipe.

Both roles can share one device. Each pipe ends once, with a readable reason, when the link drops.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from bumble import core, hci
from bumble.core import UUID
from bumble.device import Advertisement as BumbleAdvertisement
from bumble.device import Connection, Device, Peer
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.gatt_client import CharacteristicProxy

from edge_dan.ble.advertising import Advertisement, legacy_payloads, report_from_advertising_data
from edge_dan.ble.errors import BleUnavailable, ConnectFailed, DeviceNotFound, ServiceMissing
from edge_dan.ble.gatt import GattService, PipeEvents, clamp_att_mtu
from edge_dan.ble.roles import RecentlySeen, ReportHandler
from edge_dan.wire.errors import ConnectionLost
from edge_dan.wire.framing.ble import MAX_ATT_MTU, MIN_ATT_MTU

ACL_HIGH_WATER = 32  # host-queued ACL packets beyond which a sender waits for the controller
DISCONNECT_TIMEOUT = 5.0  # for the controller to confirm a disconnection we asked for
FLUSH_TIMEOUT = 2.0  # for the last queued packets to reach the controller before we disconnect
CONNECT_CANCEL_GRACE = 2.0  # for a controller to confirm it gave up connecting
POWER_ON_TIMEOUT = 10.0  # for a controller to answer its reset and setup commands
LOST_COMMAND_TIMEOUT = 0.01  # for a command once the controller's transport is lost


def _reason_text(reason: int) -> str:
    name: str = hci.HCI_Constant.error_name(reason)  # type: ignore[no-untyped-call]
    return f"{name} (HCI 0x{reason:02X})"


@contextlib.asynccontextmanager
async def open_device(
    transport: str, *, name: str = "edge-dan", timeout: float = POWER_ON_TIMEOUT
) -> AsyncIterator[Device]:
    """A powered-on bumble ``Device`` on a controller reached through ``transport``.

    ``transport`` is a bumble transport name: ``usb:0``, ``serial:/dev/ttyACM0``, ``vhci``,
    ``hci-socket:0``, ``tcp-client:127.0.0.1:9001`` or ``unix:/path`` (a controller served over
    HCI on a socket, as bumble's own tools and tests do), among others. The device starts on a
    fresh non-resolvable private address, so even its scan requests carry nothing stable.

    ``BleUnavailable`` names the transport and why when it cannot be opened, or when what is
    there does not answer as a controller within ``timeout`` seconds.
    """
    from bumble.transport import open_transport

    try:
        opened = await open_transport(transport)
    except Exception as exc:  # each transport fails its own way: OSError, usb1, ValueError...
        raise BleUnavailable(
            f"cannot open the Bluetooth controller at {transport}: {_failure_text(exc)}"
        ) from exc
    async with opened as (source, sink):
        address = hci.Address.generate_private_address()
        device = Device.with_hci(name, address, source, sink)
        try:
            await asyncio.wait_for(device.power_on(), timeout)
        except TimeoutError:
            raise BleUnavailable(
                f"the Bluetooth controller at {transport} did not answer within {timeout:g} s"
            ) from None
        except (core.BaseBumbleError, hci.HCI_Error, OSError) as exc:
            raise BleUnavailable(
                f"the Bluetooth controller at {transport} failed to start: {_failure_text(exc)}"
            ) from exc

        def lost(_: object) -> None:
            # A controller gone (a dongle pulled, its HCI server stopped) answers nothing more:
            # the commands still to come (stopping the scan and the adverts) fail at once
            # instead of waiting bumble's 10 s each, so the device's owner still stops promptly.
            device.command_timeout = LOST_COMMAND_TIMEOUT

        source.terminated.add_done_callback(lost)
        yield device


def _failure_text(exc: BaseException) -> str:
    """``exc`` in words; some libraries' errors (usb1's, bumble's timeouts) have no message."""
    return str(exc) or type(exc).__name__


@contextlib.contextmanager
def _controller_failure(action: str) -> Iterator[None]:
    """A controller that refuses, times out or is gone, as the ``BleUnavailable`` every backend
    raises for it (bumble's own errors mean nothing to the layers above)."""
    try:
        yield
    except core.CommandTimeoutError as exc:
        raise BleUnavailable(
            f"the Bluetooth controller did not answer (unplugged, or its link is down); cannot"
            f" {action}"
        ) from exc
    except (core.BaseBumbleError, hci.HCI_Error) as exc:
        raise BleUnavailable(
            f"the Bluetooth controller failed to {action}: {_failure_text(exc)}"
        ) from exc


@contextlib.contextmanager
def _controller_gone_is_stopped() -> Iterator[None]:
    """Stopping on a controller that refuses or is gone (a dongle pulled): it is stopped
    either way, and whoever is shutting down must get on with it."""
    with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error):
        yield


class BumblePipe(PipeEvents):
    """A ``GattPipe`` on one bumble LE connection, for either role.

    Values that arrive before ``set_handlers`` (a central may write as soon as it subscribed) are
    kept and delivered, in order, once handlers are set.
    """

    def __init__(
        self, connection: Connection, send_value: Callable[[bytes], Awaitable[None]]
    ) -> None:
        super().__init__()
        self._connection = connection
        self._send_value = send_value
        connection.on(connection.EVENT_DISCONNECTION, self._disconnected)

    @property
    def att_mtu(self) -> int:
        return clamp_att_mtu(int(self._connection.att_mtu))

    @property
    def peer_address(self) -> str:
        address: hci.Address = self._connection.peer_address
        return address.to_string(with_type_qualifier=False)

    async def send(self, value: bytes) -> None:
        if self._down is not None:
            raise ConnectionLost(f"the BLE link is down: {self._down}")
        try:
            await self._send_value(value)
        except (core.BaseBumbleError, hci.HCI_Error, TimeoutError) as exc:  # the link went
            raise ConnectionLost(f"the BLE link failed while sending: {exc}") from exc
        await self._pace()

    async def disconnect(self) -> None:
        if self._down is not None:
            return
        # bumble drops host-queued ACL packets at disconnection: let the last values go first.
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
    """A ``GattService`` served, and advertisements sent, from a powered-on bumble ``Device``.

    ``max_mtu``: the largest ATT MTU granted to a central. ``advertising_interval`` in ms:
    shorter finds faster and costs more power.
    """

    def __init__(
        self,
        device: Device,
        service: GattService,
        *,
        max_mtu: int = MAX_ATT_MTU,
        advertising_interval: float = 200.0,
    ) -> None:
        self._device = device
        self._interval = advertising_interval
        self._pipes: dict[int, BumblePipe] = {}  # by connection handle
        self._handed_out: set[BumblePipe] = set()  # pipes ``accept`` returned or will
        self._accepted: asyncio.Queue[BumblePipe] = asyncio.Queue()
        self._payloads: tuple[bytes, bytes] | None = None  # advertised now, or None
        self._background: set[asyncio.Task[None]] = set()
        self._advertising = asyncio.Lock()  # one change of advertising at a time
        self._write: Characteristic[bytes] = Characteristic(
            service.write,
            Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            Characteristic.Permissions.WRITEABLE,
            CharacteristicValue(write=self._on_write),
        )
        self._notify: Characteristic[bytes] = Characteristic(
            service.notify,
            Characteristic.Properties.NOTIFY,
            Characteristic.Permissions.READABLE,
            b"",
        )
        device.add_service(Service(service.uuid, [self._write, self._notify]))
        device.gatt_server.max_mtu = max_mtu
        device.on(device.EVENT_CONNECTION, self._on_connection)
        device.gatt_server.on(
            device.gatt_server.EVENT_CHARACTERISTIC_SUBSCRIPTION, self._on_subscription
        )

    @property
    def address(self) -> str:
        """The address advertised now (changes at every ``advertise``)."""
        address: hci.Address = self._device.random_address
        return address.to_string(with_type_qualifier=False)

    async def start(self) -> None:
        """Nothing to do: the service is served from construction on (the device is on)."""

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.stop_advertising()
        for pipe in list(self._pipes.values()):
            await pipe.disconnect()

    async def advertise(self, advertisement: Advertisement) -> None:
        """Advertise ``advertisement`` from a fresh random private address."""
        payloads = legacy_payloads(advertisement)
        async with self._advertising:
            with _controller_failure("advertise"):
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
            self._payloads = payloads
        await self._advertise()

    async def stop_advertising(self) -> None:
        async with self._advertising:
            self._payloads = None
            with _controller_gone_is_stopped():
                await self._device.stop_advertising()

    async def accept(self) -> BumblePipe:
        """The next central that connected and subscribed to the notify characteristic."""
        return await self._accepted.get()

    # -- machinery -------------------------------------------------------------------------------

    async def _advertise(self) -> None:
        async with self._advertising:
            if self._payloads is None:
                return
            advertising, scan_response = self._payloads
            with _controller_failure("advertise"):
                await self._device.start_advertising(
                    own_address_type=hci.OwnAddressType.RANDOM,
                    advertising_data=advertising,
                    scan_response_data=scan_response,
                    auto_restart=True,
                    advertising_interval_min=self._interval,
                    advertising_interval_max=self._interval,
                )

    def _on_connection(self, connection: Connection) -> None:
        if connection.role != hci.Role.PERIPHERAL:
            return  # our own central's links are the central's business

        async def notify(value: bytes) -> None:
            await self._device.notify_subscriber(connection, self._notify, value)

        pipe = BumblePipe(connection, notify)
        self._pipes[connection.handle] = pipe
        # A connection stops connectable advertising; resume it so more centrals find us.
        if self._payloads is not None:
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
        if characteristic is not self._notify or not notify or pipe is None or not pipe.connected:
            return
        if pipe not in self._handed_out:  # a central may subscribe again: still one pipe
            self._handed_out.add(pipe)
            self._accepted.put_nowait(pipe)

    def _on_write(self, connection: Connection, value: bytes) -> None:
        # Synchronous on purpose: bumble runs each write command in its own task, and only a
        # callback that never awaits keeps values in arrival order.
        pipe = self._pipes.get(connection.handle)
        if pipe is not None:
            pipe.value_arrived(value)


class BumbleCentral:
    """Active scans and GATT connections on a powered-on bumble ``Device``.

    ``mtu``: the ATT MTU to ask for at each connection (23 skips the exchange); the peer may
    grant less.
    """

    def __init__(self, device: Device, *, mtu: int = MAX_ATT_MTU) -> None:
        if not MIN_ATT_MTU <= mtu <= MAX_ATT_MTU:
            raise ValueError(f"ATT MTU must be {MIN_ATT_MTU}..{MAX_ATT_MTU}, got {mtu}")
        self.device = device
        self._mtu = mtu
        self._on_report: ReportHandler | None = None
        self._addresses: RecentlySeen[hci.Address] = RecentlySeen()  # with their address type
        device.on(device.EVENT_ADVERTISEMENT, self._on_advertisement)

    async def start_scan(self, on_report: ReportHandler) -> None:
        self._on_report = on_report
        if not self.device.is_scanning:
            with _controller_failure("scan"):
                await self.device.start_scanning(active=True, filter_duplicates=False)

    async def stop_scan(self) -> None:
        self._on_report = None
        if self.device.is_scanning:
            with _controller_gone_is_stopped():
                await self.device.stop_scanning()

    async def connect(
        self, address: str | hci.Address, service: GattService, *, timeout: float = 10.0
    ) -> BumblePipe:
        """Connect, set up the service's characteristics and subscribe to its notifications."""
        if isinstance(address, str):
            seen = self._addresses.get(address)
            address = seen or hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS)
        where = address.to_string(with_type_qualifier=False)
        try:
            # The outer limit: after its own timeout bumble cancels and waits for the controller
            # to confirm, which a controller that lost track of the attempt never does.
            connection = await asyncio.wait_for(
                self.device.connect(
                    address, own_address_type=hci.OwnAddressType.RANDOM, timeout=timeout
                ),
                timeout + CONNECT_CANCEL_GRACE,
            )
        except (hci.HCI_Error, core.BaseBumbleError, TimeoutError) as exc:
            raise DeviceNotFound(
                f"no BLE device answered at {where} within {timeout} s: is it powered, "
                f"advertising and in range? ({exc!r})"
            ) from exc
        try:
            return await asyncio.wait_for(self._open_pipe(connection, service, where), timeout)
        except BaseException as exc:  # leave no half-set-up link behind, whatever happened
            with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error, TimeoutError):
                await asyncio.wait_for(connection.disconnect(), DISCONNECT_TIMEOUT)
            if isinstance(exc, core.BaseBumbleError | hci.HCI_Error | TimeoutError):
                raise ConnectFailed(
                    f"could not set up the GATT link with {where}: {exc!r}"
                ) from exc
            raise

    async def _open_pipe(
        self, connection: Connection, service: GattService, where: str
    ) -> BumblePipe:
        peer = Peer(connection)
        if self._mtu > MIN_ATT_MTU:
            await peer.request_mtu(self._mtu)
        await peer.discover_services([UUID(service.uuid)])
        found = peer.get_services_by_uuid(UUID(service.uuid))
        if found:
            await peer.discover_characteristics(service=found[0])
        write = self._characteristic(peer, service.write, found)
        notify = self._characteristic(peer, service.notify, found)
        if write is None or notify is None:
            raise ServiceMissing.at(where, service, service_found=bool(found))
        with_response = not write.properties & Characteristic.Properties.WRITE_WITHOUT_RESPONSE

        async def write_value(value: bytes) -> None:
            await peer.write_value(write, value, with_response=with_response)

        pipe = BumblePipe(connection, write_value)
        pipe.with_response = bool(with_response)
        await peer.subscribe(notify, pipe.value_arrived)
        return pipe

    @staticmethod
    def _characteristic(
        peer: Peer, uuid: str, services: list[Any]
    ) -> CharacteristicProxy[bytes] | None:
        found = peer.get_characteristics_by_uuid(UUID(uuid), services[0]) if services else []
        return found[0] if found else None

    def _on_advertisement(self, advertisement: BumbleAdvertisement) -> None:
        if self._on_report is None:
            return
        text = advertisement.address.to_string(with_type_qualifier=False)
        self._addresses.add(text, advertisement.address)
        rssi = advertisement.rssi
        self._on_report(
            report_from_advertising_data(
                text,
                None if rssi == BumbleAdvertisement.RSSI_NOT_AVAILABLE else rssi,
                bytes(advertisement.data),
            )
        )
