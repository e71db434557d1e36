"""BLE peripheral on Linux through BlueZ over D-Bus (dbus-fast): our advertisement and GATT service.

BlueZ owns the controller; we only describe objects on the system bus and register them:

- an ``org.bluez.LEAdvertisement1`` (``LEAdvertisingManager1.RegisterAdvertisement``): type
  peripheral, ``ServiceUUIDs`` = our service, ``ServiceData`` = the 13-byte ``Advert`` under it, no
  local name, no TX power. ``rotate`` re-registers it with the rotator's new token.
  BlueZ 5.66 has no D-Bus way to put data in the scan response, and flags + UUID list + service
  data (52 bytes) exceed a legacy advertisement (with Debian's 6.1 kernel BlueZ refused an
  extended one, ``SecondaryChannel``, as too long as well). When BlueZ refuses the full layout we
  register the compact one: the service data alone (31 bytes; its AD type 0x21 names our 128-bit
  UUID, so no UUID list is needed to know whose it is). A central must then recognise us by the
  service data, as ``ble_bleak`` does.
- a GATT application (``GattManager1.RegisterApplication``): our service with RX
  (write-without-response) and TX (notify).

MTU: BlueZ passes ``mtu`` (and ``device``) in the options of every ``WriteValue``; the pipe takes
the ATT MTU from there. We use ``WriteValue``/``StartNotify`` rather than ``AcquireWrite``/
``AcquireNotify``: the acquired sockets would give the MTU before the first write, but they are
per-characteristic sockets whose lifetime BlueZ ends on its own terms; the plain methods need no
file descriptors and carry everything we need, since the central always writes first (it starts
the Noise handshake). Until then the pipe reports 23, so early notifications are just smaller.
Notifications go out as ``PropertiesChanged`` of TX's ``Value``.

The address: BlueZ advertises from the adapter's identity (public) address unless ``Privacy`` is
enabled in ``/etc/bluetooth/main.conf`` (then the kernel uses resolvable private addresses that it
rotates every ``RPATimeout``, default 15 min, on its own schedule, not at our token rotations).
One central at a time: while one is subscribed, another central's subscription and writes are
ignored.
"""

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_property, method

from edge_dan.discovery.tokens import Advert, TokenRotator
from edge_dan.errors import EdgeDanError
from edge_dan.transports.gatt import (
    RX_CHAR_UUID,
    SERVICE_UUID,
    TX_CHAR_UUID,
    PipeEvents,
)
from edge_dan.wire.errors import ConnectionLost
from edge_dan.wire.framing.ble import MAX_ATT_MTU, MIN_ATT_MTU

BLUEZ = "org.bluez"
ROOT = "/org/edge_dan/ble"
Clock = Callable[[], float]


class BluezUnavailable(EdgeDanError):
    """BlueZ refused the advertisement or GATT application, or is not running."""


# dbus-fast reads D-Bus signatures from the annotations, which therefore are signature strings
# (and this module does not postpone annotations); mypy is told they are not Python types.


class _Advertisement(ServiceInterface):
    def __init__(self, advert: Advert, compact: bool) -> None:
        super().__init__("org.bluez.LEAdvertisement1")
        self.advert = advert
        self.compact = compact  # service data only, no UUID list (fits 31 bytes)

    @method()
    def Release(self) -> None:
        return

    @dbus_property(access=PropertyAccess.READ)
    def Type(self) -> "s":  # type: ignore[name-defined]  # noqa: F821
        return "peripheral"

    @dbus_property(access=PropertyAccess.READ)
    def ServiceUUIDs(self) -> "as":  # type: ignore[valid-type]  # noqa: F722
        return [] if self.compact else [SERVICE_UUID]

    @dbus_property(access=PropertyAccess.READ)
    def ServiceData(self) -> "a{sv}":  # type: ignore[valid-type]  # noqa: F722
        return {SERVICE_UUID: Variant("ay", self.advert.service_data())}

    @dbus_property(access=PropertyAccess.READ)
    def Includes(self) -> "as":  # type: ignore[valid-type]  # noqa: F722
        return []  # no local name, no TX power, no appearance: nothing stable to track


class _Service(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.bluez.GattService1")

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":  # type: ignore[name-defined]  # noqa: F821
        return SERVICE_UUID

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> "b":  # type: ignore[name-defined]  # noqa: F821
        return True


class _Rx(ServiceInterface):
    def __init__(self, on_write: Callable[[bytes, dict[str, Variant]], None]) -> None:
        super().__init__("org.bluez.GattCharacteristic1")
        self._on_write = on_write

    @method()
    def WriteValue(self, value: "ay", options: "a{sv}") -> None:  # type: ignore[name-defined, valid-type]  # noqa: F722, F821
        self._on_write(bytes(value), options)

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":  # type: ignore[name-defined]  # noqa: F821
        return RX_CHAR_UUID

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> "o":  # type: ignore[name-defined]  # noqa: F821
        return f"{ROOT}/service0"

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> "as":  # type: ignore[valid-type]  # noqa: F722
        return ["write-without-response"]


class _Tx(ServiceInterface):
    def __init__(self, on_subscription: Callable[[bool], None]) -> None:
        super().__init__("org.bluez.GattCharacteristic1")
        self._on_subscription = on_subscription
        self._value = b""
        self.notifying = False

    def notify(self, value: bytes) -> None:
        self._value = value
        self.emit_properties_changed({"Value": value})

    @method()
    def StartNotify(self) -> None:
        self.notifying = True
        self._on_subscription(True)

    @method()
    def StopNotify(self) -> None:
        self.notifying = False
        self._on_subscription(False)

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> "ay":  # type: ignore[name-defined]  # noqa: F821
        return self._value

    @dbus_property(access=PropertyAccess.READ)
    def Notifying(self) -> "b":  # type: ignore[name-defined]  # noqa: F821
        return self.notifying

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":  # type: ignore[name-defined]  # noqa: F821
        return TX_CHAR_UUID

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> "o":  # type: ignore[name-defined]  # noqa: F821
        return f"{ROOT}/service0"

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> "as":  # type: ignore[valid-type]  # noqa: F722
        return ["notify"]


class _ObjectManager(ServiceInterface):
    def __init__(self, objects: Callable[[], dict[str, dict[str, dict[str, Variant]]]]) -> None:
        super().__init__("org.freedesktop.DBus.ObjectManager")
        self._objects = objects

    @method()
    def GetManagedObjects(self) -> "a{oa{sa{sv}}}":  # type: ignore[valid-type]  # noqa: F722
        return self._objects()


class BluezPipe(PipeEvents):
    """A ``GattPipe`` for the central connected to our BlueZ peripheral."""

    def __init__(self, peripheral: "BluezPeripheral") -> None:
        super().__init__()
        self._peripheral = peripheral
        self.device_path: str | None = None  # learnt from the first write's options
        self.mtu = MIN_ATT_MTU

    @property
    def att_mtu(self) -> int:
        return max(MIN_ATT_MTU, min(self.mtu, MAX_ATT_MTU))

    async def send(self, fragment: bytes) -> None:
        if self._down is not None:
            raise ConnectionLost(f"the BLE link is down: {self._down}")
        self._peripheral.tx.notify(fragment)
        await asyncio.sleep(0)  # let the bus write it out in order with other traffic

    async def disconnect(self) -> None:
        if self._down is not None:
            return
        if self.device_path is not None:
            with contextlib.suppress(Exception):
                await self._peripheral.call(self.device_path, "org.bluez.Device1", "Disconnect")
        self.link_down("disconnected by this side")

    def link_down(self, reason: str) -> bool:
        ended = super().link_down(reason)
        if ended:
            self._peripheral.pipe_ended(self)
        return ended


class BluezPeripheral:
    """Our advertisement and GATT service on a BlueZ adapter (``hci0`` by default)."""

    def __init__(
        self, rotator: TokenRotator, *, adapter: str = "hci0", clock: Clock = time.time
    ) -> None:
        self._rotator = rotator
        self._adapter_path = f"/org/bluez/{adapter}"
        self._clock = clock
        self._bus: MessageBus | None = None
        self._advertisement: _Advertisement | None = None
        self._advert_serial = 0
        self.compact = False  # True once BlueZ refused the full layout (see the module doc)
        self.tx = _Tx(self._on_subscription)
        self._rx = _Rx(self._on_write)
        self._pipe: BluezPipe | None = None
        self._accepted: asyncio.Queue[BluezPipe] = asyncio.Queue()
        self._rotation: asyncio.Task[None] | None = None
        self._generation = -1

    @property
    def advertised(self) -> Advert:
        if self._advertisement is None:
            raise BluezUnavailable("the peripheral is not advertising (call start first)")
        return self._advertisement.advert

    async def start(self) -> None:
        try:
            self._bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        except (OSError, EOFError) as exc:
            raise BluezUnavailable(f"cannot reach the system D-Bus for BlueZ: {exc}") from exc
        bus = self._bus
        bus.export(ROOT, _ObjectManager(self._managed_objects))
        bus.export(f"{ROOT}/service0", _Service())
        bus.export(f"{ROOT}/service0/rx", self._rx)
        bus.export(f"{ROOT}/service0/tx", self.tx)
        await self.call(
            self._adapter_path,
            "org.bluez.GattManager1",
            "RegisterApplication",
            "oa{sv}",
            [ROOT, {}],
        )
        await self.call(
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "AddMatch",
            "s",
            [
                f"type='signal',sender='{BLUEZ}',interface='org.freedesktop.DBus.Properties',"
                f"member='PropertiesChanged',path_namespace='{self._adapter_path}'"
            ],
            destination="org.freedesktop.DBus",
        )
        bus.add_message_handler(self._on_signal)
        await self.rotate()
        self._rotation = asyncio.create_task(self._rotate_when_due())

    async def stop(self) -> None:
        if self._rotation is not None:
            self._rotation.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rotation
            self._rotation = None
        if self._pipe is not None:
            await self._pipe.disconnect()
        with contextlib.suppress(BluezUnavailable):
            await self._unregister_advertisement()
        with contextlib.suppress(BluezUnavailable):
            await self.call(
                self._adapter_path, "org.bluez.GattManager1", "UnregisterApplication", "o", [ROOT]
            )
        if self._bus is not None:
            self._bus.disconnect()
            self._bus = None

    async def rotate(self) -> None:
        """Advertise the rotator's current token (re-registers the advertisement)."""
        advert = self._rotator.advert(self._clock())
        self._generation = self._rotator.generation
        await self._unregister_advertisement()
        try:
            await self._register_advertisement(advert, self.compact)
        except BluezUnavailable:
            if self.compact:
                raise
            self.compact = True  # too long for this BlueZ and kernel: the compact layout
            await self._register_advertisement(advert, True)

    async def accept(self) -> BluezPipe:
        """The next central that connected and subscribed to TX."""
        return await self._accepted.get()

    # -- D-Bus plumbing --------------------------------------------------------------------------

    async def call(
        self,
        path: str,
        interface: str,
        member: str,
        signature: str = "",
        body: list[Any] | None = None,
        *,
        destination: str = BLUEZ,
    ) -> list[Any]:
        if self._bus is None:
            raise BluezUnavailable("the peripheral is not started")
        reply = await self._bus.call(
            Message(
                destination=destination,
                path=path,
                interface=interface,
                member=member,
                signature=signature,
                body=body or [],
            )
        )
        if reply is None or reply.message_type is MessageType.ERROR:
            detail = (reply.error_name, reply.body) if reply is not None else "no reply"
            raise BluezUnavailable(f"BlueZ refused {interface}.{member} on {path}: {detail}")
        return list(reply.body)

    async def _register_advertisement(self, advert: Advert, compact: bool) -> None:
        assert self._bus is not None
        self._advert_serial += 1
        path = f"{ROOT}/advert{self._advert_serial}"
        advertisement = _Advertisement(advert, compact)
        self._bus.export(path, advertisement)
        try:
            await self.call(
                self._adapter_path,
                "org.bluez.LEAdvertisingManager1",
                "RegisterAdvertisement",
                "oa{sv}",
                [path, {}],
            )
        except BluezUnavailable:
            self._bus.unexport(path)
            raise
        self._advertisement = advertisement

    async def _unregister_advertisement(self) -> None:
        if self._advertisement is None or self._bus is None:
            return
        path = f"{ROOT}/advert{self._advert_serial}"
        self._advertisement = None
        try:
            await self.call(
                self._adapter_path,
                "org.bluez.LEAdvertisingManager1",
                "UnregisterAdvertisement",
                "o",
                [path],
            )
        finally:
            self._bus.unexport(path)

    def _managed_objects(self) -> dict[str, dict[str, dict[str, Variant]]]:
        return {
            f"{ROOT}/service0": {
                "org.bluez.GattService1": {
                    "UUID": Variant("s", SERVICE_UUID),
                    "Primary": Variant("b", True),
                }
            },
            f"{ROOT}/service0/rx": {
                "org.bluez.GattCharacteristic1": {
                    "UUID": Variant("s", RX_CHAR_UUID),
                    "Service": Variant("o", f"{ROOT}/service0"),
                    "Flags": Variant("as", ["write-without-response"]),
                }
            },
            f"{ROOT}/service0/tx": {
                "org.bluez.GattCharacteristic1": {
                    "UUID": Variant("s", TX_CHAR_UUID),
                    "Service": Variant("o", f"{ROOT}/service0"),
                    "Flags": Variant("as", ["notify"]),
                }
            },
        }

    def _on_subscription(self, subscribed: bool) -> None:
        if subscribed and self._pipe is None:
            self._pipe = BluezPipe(self)
            self._accepted.put_nowait(self._pipe)
        elif not subscribed and self._pipe is not None:
            self._pipe.link_down("the central unsubscribed from TX")

    def _on_write(self, value: bytes, options: dict[str, Variant]) -> None:
        pipe = self._pipe
        if pipe is None:
            return  # a write before subscribing: no session to feed yet
        device = str(options["device"].value) if "device" in options else None
        if pipe.device_path is None:
            pipe.device_path = device
        elif device is not None and device != pipe.device_path:
            return  # another central: this pipe belongs to the first one
        if "mtu" in options:
            pipe.mtu = int(options["mtu"].value)
        pipe.fragment_arrived(value)

    def _on_signal(self, message: Message) -> bool:
        pipe = self._pipe
        if (
            pipe is not None
            and message.member == "PropertiesChanged"
            and message.body
            and message.body[0] == "org.bluez.Device1"
            and (pipe.device_path is None or message.path == pipe.device_path)
        ):
            connected = message.body[1].get("Connected")
            if connected is not None and connected.value is False:
                pipe.link_down("the central disconnected")
        return False  # not consumed: other handlers may want it too

    def pipe_ended(self, pipe: BluezPipe) -> None:
        if self._pipe is pipe:
            self._pipe = None
            self.tx.notifying = False

    async def _rotate_when_due(self) -> None:
        while True:
            delay = self._rotator.next_change(self._clock()) - self._clock()
            await asyncio.sleep(max(0.0, delay) + 0.001)
            self._rotator.advert(self._clock())
            if self._rotator.generation != self._generation:
                await self.rotate()
