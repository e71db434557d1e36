"""What can go wrong below a GATT pipe, in the words the layers above act on.

Why it exists: each backend meets the same failures in its own exception types (bleak's
``BleakError``, bumble's ``HCI_Error``, a D-Bus error reply). Backends translate them here, so
transports and the bridge handle one set whatever ran underneath. Connection failures are
``ConnectionLost``s, as any link's failure to come up is for a session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge_dan.errors import EdgeDanError
from edge_dan.wire.errors import ConnectionLost

if TYPE_CHECKING:
    from edge_dan.ble.gatt import GattService


class BleUnavailable(EdgeDanError):
    """No usable BLE here: the backend's library is missing, the platform has no backend for
    the role, there is no adapter, or the stack (BlueZ) refused or is not running."""


class ConnectFailed(ConnectionLost):
    """The device was there but the connection or its GATT setup failed."""


class DeviceNotFound(ConnectFailed):
    """No device answered at that address: is it powered, advertising and in range?"""


class ServiceMissing(ConnectFailed):
    """The device offers no such service, or lacks its write or notify characteristic."""

    @classmethod
    def at(cls, where: str, service: GattService, *, service_found: bool) -> ServiceMissing:
        if not service_found:
            return cls(f"the BLE device {where} offers no {service.label} service {service.uuid}")
        return cls(
            f"the BLE device {where} has {service.label} service {service.uuid} but not both its "
            f"write {service.write} and notify {service.notify} characteristics"
        )
