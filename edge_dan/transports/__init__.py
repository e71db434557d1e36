"""Transports: asyncio adapters that run a sans-IO ``edge_dan.wire.session.Session`` over a link.

- ``channel``: ``SessionChannel``, the link-independent async API over a session (inbox with
  back-pressure, timers, orderly close); each transport supplies a small ``FrameLink``.
- ``driver``: the one driver of message-level protocol cores (negotiation, numeric comparison)
  over one or many ``SessionChannel``s.
- ``tcp``: ``connect``/``serve`` over 2-byte length-prefixed frames.
- ``gatt``: the GATT service layout and the ``GattPipe`` interface every BLE stack adapts to.
- ``ble``: ``open_ble_channel``: a session over a ``GattPipe`` with the BLE fragment framing.
- ``ble_bumble``: a BLE backend on Google's bumble host stack (any HCI controller: USB, vhci,
  TCP), peripheral and central; ``ble_bleak``: the central on bleak; ``ble_bluez``: the Linux
  peripheral through BlueZ over D-Bus.
- ``memory``: two sessions back to back in one process, with a manual clock and a fault injector.

Import the submodule you need; this package stays import-light on purpose.
"""
