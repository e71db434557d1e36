"""Which backend runs BLE here: decided in one place, as bleak picks its own per platform.

Why it exists: callers (``edge-dan peers``, the bridge's ``open_ble_device``, an app) should say
what they need (a central, a peripheral, maybe a controller to drive) and not which stack each OS
has. What each backend can do:

==========  =======  ==========  ====================================================
backend     central  peripheral  needs
==========  =======  ==========  ====================================================
``bleak``   yes      no          ``bleak``; the OS's stack (BlueZ, CoreBluetooth, WinRT)
``bluez``   no       yes         Linux, ``dbus-fast``, bluetoothd running
``bumble``  yes      yes         ``bumble`` and an HCI controller it drives itself
``sim``     yes      yes         ``bumble``; in-process only (tests, simulations)
==========  =======  ==========  ====================================================

The rule (``backend_for_platform``), first match wins:

1. an HCI transport is given (``usb:0``, ``serial:/dev/ttyACM0``, ``hci-socket:0``, ``vhci``,
   ``tcp-client:host:port``): **bumble**, in either role. It talks HCI to that controller itself,
   on any OS, and picks its own private addresses.
2. a central: **bleak**, the OS's own stack, on every platform bleak supports.
3. a peripheral on Linux: **bluez**, our service and advertisement registered with bluetoothd.
4. a peripheral elsewhere: none. bleak cannot be a peripheral and CoreBluetooth/WinRT backends
   do not exist here, so ``BleUnavailable`` says to give an HCI transport for bumble.

Then the backend's library must import, or ``BleUnavailable`` names the package to install.
``sim`` is never chosen: tests build its devices with ``edge_dan.ble.backends.sim`` and hand
them to the bumble roles. ``open_central``/``open_peripheral`` apply the rule (or a backend named
by the caller) and hand out a ready ``Central``/``Peripheral``, closing it afterwards.

An agent plays both roles (it advertises and accepts as a peripheral, scans and connects as a
central): ``agent_backends`` says which two backends that takes here, or raises
``BleUnavailable`` naming what is missing, without opening or importing anything; ``open_roles``
opens both, on one bumble device when an HCI transport is given.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Literal

from edge_dan.ble.errors import BleUnavailable
from edge_dan.ble.gatt import GattService
from edge_dan.ble.roles import Central, Peripheral
from edge_dan.wire.framing.ble import MAX_ATT_MTU

if TYPE_CHECKING:  # bumble loads only when a bumble role is built
    from bumble.device import Device

Role = Literal["central", "peripheral"]
ROLES: dict[str, tuple[Role, ...]] = {
    "bleak": ("central",),
    "bluez": ("peripheral",),
    "bumble": ("central", "peripheral"),
}
PACKAGES = {
    "bleak": ("bleak", "bleak"),
    "bluez": ("dbus_fast", "dbus-fast"),
    "bumble": ("bumble", "bumble"),
}
INSTALL_HINT = "(or edge-dan's ble extra: pip install 'edge-dan[ble]')"


def backend_for_platform(
    role: Role, *, hci_transport: str | None = None, platform: str = sys.platform
) -> str:
    """The backend the rule above picks for ``role`` (not checked for being installed)."""
    if hci_transport:
        return "bumble"
    if role == "central":
        return "bleak"
    if platform.startswith("linux"):
        return "bluez"
    raise BleUnavailable(
        f"no BLE peripheral backend on {platform}: bleak is central-only. Give an HCI transport "
        f"(e.g. usb:0 for a USB dongle) to run bumble as the peripheral: pip install bumble "
        f"{INSTALL_HINT}"
    )


def check_backend(
    name: str, role: Role, *, hci_transport: str | None = None, platform: str = sys.platform
) -> None:
    """Raise ``BleUnavailable`` saying what is missing if ``name`` cannot play ``role`` here."""
    if name not in ROLES:
        raise BleUnavailable(f"no BLE backend {name!r}: choose one of {', '.join(ROLES)}")
    if role not in ROLES[name]:
        raise BleUnavailable(f"the {name} backend cannot be a BLE {role}")
    if name == "bumble" and not hci_transport:
        raise BleUnavailable("the bumble backend needs an HCI transport, e.g. usb:0 or vhci")
    if name == "bluez" and not platform.startswith("linux"):
        raise BleUnavailable(f"the bluez backend is Linux's stack, not {platform}'s")
    module, package = PACKAGES[name]
    if importlib.util.find_spec(module) is None:
        raise BleUnavailable(
            f"the {name} backend needs {package}: pip install {package} {INSTALL_HINT}"
        )


def agent_backends(
    *, hci_transport: str | None = None, platform: str = sys.platform
) -> tuple[str, str]:
    """The (central, peripheral) backends an agent runs here, both checked: ``BleUnavailable``
    naming what to give or install when either role cannot run. Opens and imports nothing."""
    central = backend_for_platform("central", hci_transport=hci_transport, platform=platform)
    peripheral = backend_for_platform("peripheral", hci_transport=hci_transport, platform=platform)
    check_backend(central, "central", hci_transport=hci_transport, platform=platform)
    check_backend(peripheral, "peripheral", hci_transport=hci_transport, platform=platform)
    return central, peripheral


def _chosen(backend: str | None, role: Role, hci_transport: str | None) -> str:
    name = backend or backend_for_platform(role, hci_transport=hci_transport)
    check_backend(name, role, hci_transport=hci_transport)
    return name


class _Roles:
    """Builds roles whose lives end with ``stack``: a central stops scanning, a peripheral stops
    (advertising, links, registration), then the bumble device closes. Bumble roles share one
    device, as one controller serves both."""

    def __init__(
        self,
        stack: contextlib.AsyncExitStack,
        *,
        hci_transport: str | None,
        adapter: str | None,
        max_mtu: int,
    ) -> None:
        self._stack = stack
        self._hci_transport = hci_transport
        self._adapter = adapter
        self._max_mtu = max_mtu
        self._device: Device | None = None

    async def _bumble_device(self) -> Device:
        if self._device is None:
            from edge_dan.ble.backends.bumble import open_device

            assert self._hci_transport is not None
            self._device = await self._stack.enter_async_context(open_device(self._hci_transport))
        return self._device

    async def central(self, name: str) -> Central:
        central: Central
        if name == "bumble":
            from edge_dan.ble.backends.bumble import BumbleCentral

            central = BumbleCentral(await self._bumble_device(), mtu=self._max_mtu)
        else:
            from edge_dan.ble.backends.bleak import BleakCentral

            central = BleakCentral(adapter=self._adapter, max_mtu=self._max_mtu)
        self._stack.push_async_callback(central.stop_scan)
        return central

    async def peripheral(self, name: str, service: GattService) -> Peripheral:
        peripheral: Peripheral
        if name == "bumble":
            from edge_dan.ble.backends.bumble import BumblePeripheral

            device = await self._bumble_device()
            peripheral = BumblePeripheral(device, service, max_mtu=self._max_mtu)
        else:
            from edge_dan.ble.backends.bluez import BluezPeripheral

            peripheral = BluezPeripheral(service, adapter=self._adapter or "hci0")
        await peripheral.start()
        self._stack.push_async_callback(peripheral.stop)
        return peripheral


@contextlib.asynccontextmanager
async def open_central(
    backend: str | None = None,
    *,
    hci_transport: str | None = None,
    adapter: str | None = None,
    max_mtu: int = MAX_ATT_MTU,
) -> AsyncIterator[Central]:
    """A ``Central`` on ``backend`` (default: the rule above); scanning stops on the way out.

    ``adapter`` names the OS adapter for bleak (``hci1``); ``max_mtu`` caps the ATT MTU (bumble
    asks for it, bleak caps what BlueZ negotiated).
    """
    name = _chosen(backend, "central", hci_transport)
    async with contextlib.AsyncExitStack() as stack:
        roles = _Roles(stack, hci_transport=hci_transport, adapter=adapter, max_mtu=max_mtu)
        yield await roles.central(name)


@contextlib.asynccontextmanager
async def open_peripheral(
    service: GattService,
    backend: str | None = None,
    *,
    hci_transport: str | None = None,
    adapter: str | None = None,
    max_mtu: int = MAX_ATT_MTU,
) -> AsyncIterator[Peripheral]:
    """A started ``Peripheral`` serving ``service`` on ``backend`` (default: the rule above);
    stopped (advertising, links, registration) on the way out. ``adapter``: BlueZ's (``hci0``)."""
    name = _chosen(backend, "peripheral", hci_transport)
    async with contextlib.AsyncExitStack() as stack:
        roles = _Roles(stack, hci_transport=hci_transport, adapter=adapter, max_mtu=max_mtu)
        yield await roles.peripheral(name, service)


@contextlib.asynccontextmanager
async def open_roles(
    service: GattService,
    *,
    hci_transport: str | None = None,
    adapter: str | None = None,
    max_mtu: int = MAX_ATT_MTU,
) -> AsyncIterator[tuple[Central, Peripheral]]:
    """Both roles an agent plays, on the backends ``agent_backends`` picks: a ``Central`` and a
    started ``Peripheral`` serving ``service`` (on one device when bumble drives a controller),
    both stopped on the way out."""
    central_name, peripheral_name = agent_backends(hci_transport=hci_transport)
    async with contextlib.AsyncExitStack() as stack:
        roles = _Roles(stack, hci_transport=hci_transport, adapter=adapter, max_mtu=max_mtu)
        central = await roles.central(central_name)
        yield central, await roles.peripheral(peripheral_name, service)
