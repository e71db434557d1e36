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
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import AsyncIterator
from typing import Literal

from edge_dan.ble.errors import BleUnavailable
from edge_dan.ble.gatt import GattService
from edge_dan.ble.roles import Central, Peripheral
from edge_dan.wire.framing.ble import MAX_ATT_MTU

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


def _chosen(backend: str | None, role: Role, hci_transport: str | None) -> str:
    name = backend or backend_for_platform(role, hci_transport=hci_transport)
    check_backend(name, role, hci_transport=hci_transport)
    return name


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
    central: Central
    if name == "bumble":
        from edge_dan.ble.backends.bumble import BumbleCentral, open_device

        assert hci_transport is not None
        async with open_device(hci_transport) as device:
            central = BumbleCentral(device, mtu=max_mtu)
            try:
                yield central
            finally:
                await central.stop_scan()
        return
    from edge_dan.ble.backends.bleak import BleakCentral

    central = BleakCentral(adapter=adapter, max_mtu=max_mtu)
    try:
        yield central
    finally:
        await central.stop_scan()


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
    peripheral: Peripheral
    if name == "bumble":
        from edge_dan.ble.backends.bumble import BumblePeripheral, open_device

        assert hci_transport is not None
        async with open_device(hci_transport) as device:
            peripheral = BumblePeripheral(device, service, max_mtu=max_mtu)
            await peripheral.start()
            try:
                yield peripheral
            finally:
                await peripheral.stop()
        return
    from edge_dan.ble.backends.bluez import BluezPeripheral

    peripheral = BluezPeripheral(service, adapter=adapter or "hci0")
    await peripheral.start()
    try:
        yield peripheral
    finally:
        await peripheral.stop()
