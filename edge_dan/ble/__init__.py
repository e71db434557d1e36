"""The BLE layer: one GATT pipe, per-platform backends, and the choice between them.

Why it exists: agents' sessions, their advertisements and scans, and the firmware bridge's BLE
UART all run on the same few BLE operations. This layer is the one place that knows BLE stacks;
above it, ``edge_dan.discovery.ble`` advertises and scans for agents, ``edge_dan.transports.gatt``
carries sessions on a pipe, and ``edge_dan.bridge.ble_port`` drives a device's UART on one. It
imports neither of them (nor they each other).

- ``gatt``: ``GattService`` and ``GattPipe``, the bidirectional byte pipe over a write and a
  notify characteristic, MTU-aware; ``AGENT_SERVICE``, the service agents offer.
- ``advertising``: ``Advertisement`` (what a peripheral sends) and ``ScanReport`` (what a central
  saw), and the AD bytes codec behind them.
- ``roles``: the ``Central`` and ``Peripheral`` every backend implements.
- ``errors``: ``BleUnavailable`` and the connection failures, the same from every backend.
- ``choice``: ``backend_for_platform``, ``open_central``, ``open_peripheral``; for an agent's
  two roles, ``agent_backends`` and ``open_roles``.
- ``backends``: ``bleak`` (central), ``bluez`` (Linux peripheral over D-Bus), ``bumble`` (both
  roles on any HCI controller) and ``sim`` (bumble on an in-process software radio).

Importing this package, or any module but a backend, loads no BLE library.
"""

from edge_dan.ble.advertising import Advertisement, ScanReport
from edge_dan.ble.choice import (
    agent_backends,
    backend_for_platform,
    open_central,
    open_peripheral,
    open_roles,
)
from edge_dan.ble.errors import BleUnavailable, ConnectFailed, DeviceNotFound, ServiceMissing
from edge_dan.ble.gatt import AGENT_SERVICE, GattPipe, GattService, att_payload_size
from edge_dan.ble.roles import Central, Peripheral, find_device

__all__ = [
    "AGENT_SERVICE",
    "Advertisement",
    "BleUnavailable",
    "Central",
    "ConnectFailed",
    "DeviceNotFound",
    "GattPipe",
    "GattService",
    "Peripheral",
    "ScanReport",
    "ServiceMissing",
    "agent_backends",
    "att_payload_size",
    "backend_for_platform",
    "find_device",
    "open_central",
    "open_peripheral",
    "open_roles",
]
