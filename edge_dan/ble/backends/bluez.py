"""The Linux peripheral through BlueZ over D-Bus (dbus-fast): an advertisement, a GATT service.

Why it exists: on Linux bluetoothd owns the controller, and bleak cannot be a peripheral; this
backend describes objects on the system bus and registers them with BlueZ:

- an ``org.bluez.LEAdvertisement1`` (``LEAdvertisingManager1.RegisterAdvertisement``): type
  peripheral, ``ServiceUUIDs`` = the advertised service, ``ServiceData`` under it, no local name,
  no TX power. ``advertise`` re-registers it with the new data. BlueZ 5.66 has no D-Bus way to
  put data in the scan response, and flags + UUID list + an agent's 13 bytes of service data (52
  bytes) exceed a legacy advertisement (with Debian's 6.1 kernel BlueZ refused an extended one,
  ``SecondaryChannel``, as too long as well). When BlueZ refuses the full layout we register the
  compact one: the service data alone (31 bytes; its AD type 0x21 names the 128-bit UUID, so no
  UUID list is needed to know whose it is). A central must then recognise the service by its
  service data, as ``ScanReport.names_service`` does.
- a GATT application (``GattManager1.RegisterApplication``): the service with its write
  (write-without-response) and notify characteristics.

MTU: BlueZ passes ``mtu`` (and ``device``) in the options of every ``WriteValue``; the pipe takes
the ATT MTU from there. We use ``WriteValue``/``StartNotify`` rather than ``AcquireWrite``/
``AcquireNotify``: the acquired sockets would give the MTU before the first write, but they are
per-characteristic sockets whose lifetime BlueZ ends on its own terms; the plain methods need no
file descriptors and carry everything we need, since the central writes first (it starts the
Noise handshake). Until then the pipe reports 23, so early notifications are just smaller.
Notifications go out as ``PropertiesChanged`` of the notify characteristic's ``Value``.

The address: BlueZ advertises from the adapter's identity (public) address unless ``Privacy`` is
enabled in ``/etc/bluetooth/main.conf`` (then the kernel uses resolvable private addresses that it
rotates every ``RPATimeout``, default 15 min, on its own schedule, not at each ``advertise``).
One central at a time: while one is subscribed, another central's subscription and writes are
ignored.
"""

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from typing import Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_property, method

from edge_dan.ble.advertising import Advertisement
from edge_dan.ble.errors import BleUnavailable
from edge_dan.ble.gatt import GattService, PipeEvents, clamp_att_mtu
from edge_dan.wire.errors import ConnectionLost
from edge_dan.wire.framing.ble import MIN_ATT_MTU

BLUEZ = "org.bluez"
ROOT = "/org/edge_dan/ble"
GATT_CHARACTERISTIC = "org.bluez.GattCharacteristic1"
_applications = itertools.count()  # one object tree per peripheral in this process


# dbus-fast reads D-Bus signatures from the annotations, which therefore are signature strings
# (and this module does not postpone annotations); mypy is told they are not Python types.


class _Advertisement(ServiceInterface):
    def __init__(self, advertisement: Advertisement, compact: bool) -> None:
        super().__init__("org.bluez.LEAdvertisement1")
        self.advertisement = advertisement
        self.compact = compact  # service data only, no UUID list (fits 31 bytes)

    @method()
    def Release(self) -> None:
        return

    @dbus_property(access=PropertyAccess.READ)
    def Type(self) -> "s":  # type: ignore[name-defined]  # noqa: F821
        return "peripheral"

    @dbus_property(access=PropertyAccess.READ)
    def ServiceUUIDs(self) -> "as":  # type: ignore[valid-type]  # noqa: F722
        return [] if self.compact else [self.advertisement.service_uuid]

    @dbus_property(access=PropertyAccess.READ)
    def ServiceData(self) -> "a{sv}":  # type: ignore[valid-type]  # noqa: F722
        data = self.advertisement.service_data
        return {self.advertisement.service_uuid: Variant("ay", data)}

    @dbus_property(access=PropertyAccess.READ)
    def Includes(self) -> "as":  # type: ignore[valid-type]  # noqa: F722
        return []  # no local name, no TX power, no appearance: nothing stable to track


class _Service(ServiceInterface):
    def __init__(self, uuid: str) -> None:
        super().__init__("org.bluez.GattService1")
        self.uuid = uuid

    def managed(self) -> dict[str, Variant]:
        return {"UUID": Variant("s", self.uuid), "Primary": Variant("b", True)}

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":  # type: ignore[name-defined]  # noqa: F821
        return self.uuid

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> "b":  # type: ignore[name-defined]  # noqa: F821
        return True


class _Characteristic(ServiceInterface):
    """One characteristic: written by the central (``on_write``) or notified (``notify``)."""

    def __init__(
        self,
        uuid: str,
        service_path: str,
        flag: str,
        *,
        on_write: Callable[[bytes, dict[str, Variant]], None] = lambda _value, _options: None,
        on_subscription: Callable[[bool], None] = lambda _subscribed: None,
    ) -> None:
        super().__init__(GATT_CHARACTERISTIC)
        self.uuid, self.service_path, self.flag = uuid, service_path, flag
        self._on_write = on_write
        self._on_subscription = on_subscription
        self._value = b""
        self.notifying = False

    def managed(self) -> dict[str, Variant]:
        return {
            "UUID": Variant("s", self.uuid),
            "Service": Variant("o", self.service_path),
            "Flags": Variant("as", [self.flag]),
        }

    def notify(self, value: bytes) -> None:
        self._value = value
        self.emit_properties_changed({"Value": value})

    @method()
    def WriteValue(self, value: "ay", options: "a{sv}") -> None:  # type: ignore[name-defined, valid-type]  # noqa: F722, F821
        self._on_write(bytes(value), options)

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
        return self.uuid

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> "o":  # type: ignore[name-defined]  # noqa: F821
        return self.service_path

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> "as":  # type: ignore[valid-type]  # noqa: F722
        return [self.flag]


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
        return clamp_att_mtu(self.mtu)

    async def send(self, value: bytes) -> None:
        if self._down is not None:
            raise ConnectionLost(f"the BLE link is down: {self._down}")
        self._peripheral.notify_characteristic.notify(value)
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
    """A ``GattService`` and an advertisement on a BlueZ adapter (``hci0`` by default)."""

    def __init__(self, service: GattService, *, adapter: str = "hci0") -> None:
        self._adapter_path = f"/org/bluez/{adapter}"
        self._root = f"{ROOT}/app{next(_applications)}"
        self._bus: MessageBus | None = None
        self._advertisement: _Advertisement | None = None
        self._advert_serial = 0
        self.compact = False  # True once BlueZ refused the full layout (see the module doc)
        service_path = f"{self._root}/service0"
        self._write = _Characteristic(
            service.write, service_path, "write-without-response", on_write=self._on_write
        )
        self.notify_characteristic = _Characteristic(
            service.notify, service_path, "notify", on_subscription=self._on_subscription
        )
        self._objects: dict[str, _Service | _Characteristic] = {
            service_path: _Service(service.uuid),
            f"{service_path}/write": self._write,
            f"{service_path}/notify": self.notify_characteristic,
        }
        self._pipe: BluezPipe | None = None
        self._accepted: asyncio.Queue[BluezPipe] = asyncio.Queue()

    async def start(self) -> None:
        """Connect to the system bus and register the GATT application with BlueZ."""
        try:
            self._bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        except (OSError, EOFError) as exc:
            raise BleUnavailable(f"cannot reach the system D-Bus for BlueZ: {exc}") from exc
        bus = self._bus
        bus.export(self._root, _ObjectManager(self._managed_objects))
        for path, interface in self._objects.items():
            bus.export(path, interface)
        await self.call(
            self._adapter_path,
            "org.bluez.GattManager1",
            "RegisterApplication",
            "oa{sv}",
            [self._root, {}],
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

    async def stop(self) -> None:
        if self._pipe is not None:
            await self._pipe.disconnect()
        with contextlib.suppress(BleUnavailable):
            await self.stop_advertising()
        with contextlib.suppress(BleUnavailable):
            await self.call(
                self._adapter_path,
                "org.bluez.GattManager1",
                "UnregisterApplication",
                "o",
                [self._root],
            )
        if self._bus is not None:
            self._bus.disconnect()
            self._bus = None

    async def advertise(self, advertisement: Advertisement) -> None:
        """Advertise ``advertisement`` instead of what was (re-registers the advertisement)."""
        await self.stop_advertising()
        try:
            await self._register_advertisement(advertisement, self.compact)
        except BleUnavailable:
            if self.compact:
                raise
            self.compact = True  # too long for this BlueZ and kernel: the compact layout
            await self._register_advertisement(advertisement, True)

    async def stop_advertising(self) -> None:
        if self._advertisement is None or self._bus is None:
            return
        path = f"{self._root}/advert{self._advert_serial}"
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

    async def accept(self) -> BluezPipe:
        """The next central that connected and subscribed to the notify characteristic."""
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
            raise BleUnavailable("the BlueZ peripheral is not started")
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
            raise BleUnavailable(f"BlueZ refused {interface}.{member} on {path}: {detail}")
        return list(reply.body)

    async def _register_advertisement(self, advertisement: Advertisement, compact: bool) -> None:
        if self._bus is None:
            raise BleUnavailable("the BlueZ peripheral is not started")
        self._advert_serial += 1
        path = f"{self._root}/advert{self._advert_serial}"
        exported = _Advertisement(advertisement, compact)
        self._bus.export(path, exported)
        try:
            await self.call(
                self._adapter_path,
                "org.bluez.LEAdvertisingManager1",
                "RegisterAdvertisement",
                "oa{sv}",
                [path, {}],
            )
        except BleUnavailable:
            self._bus.unexport(path)
            raise
        self._advertisement = exported

    def _managed_objects(self) -> dict[str, dict[str, dict[str, Variant]]]:
        return {
            path: {interface.name: interface.managed()} for path, interface in self._objects.items()
        }

    def _on_subscription(self, subscribed: bool) -> None:
        if subscribed and self._pipe is None:
            self._pipe = BluezPipe(self)
            self._accepted.put_nowait(self._pipe)
        elif not subscribed and self._pipe is not None:
            self._pipe.link_down("the central unsubscribed from notifications")

    def _on_write(self, value: bytes, options: dict[str, Variant]) -> None:
        pipe = self._pipe
        if pipe is None:
            return  # a write before subscribing: nobody to feed yet
        device = str(options["device"].value) if "device" in options else None
        if pipe.device_path is None:
            pipe.device_path = device
        elif device is not None and device != pipe.device_path:
            return  # another central: this pipe belongs to the first one
        if "mtu" in options:
            pipe.mtu = int(options["mtu"].value)
        pipe.value_arrived(value)

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
            self.notify_characteristic.notifying = False
