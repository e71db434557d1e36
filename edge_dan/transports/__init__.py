"""Transports: asyncio adapters that run a sans-IO ``edge_dan.wire.session.Session`` over a link.

- ``channel``: ``SessionChannel``, the link-independent async API over a session (inbox with
  back-pressure, timers, orderly close); each transport supplies a small ``FrameLink``.
- ``driver``: the one driver of message-level protocol cores (negotiation, numeric comparison)
  over one or many ``SessionChannel``s.
- ``tcp``: ``connect``/``serve`` over 2-byte length-prefixed frames.
- ``gatt``: ``open_gatt_channel``: a session over an ``edge_dan.ble.GattPipe`` (any BLE
  backend, either role) with the BLE fragment framing; ``serve_gatt`` accepts sessions on a
  peripheral. The BLE stacks themselves live in
  ``edge_dan.ble``; finding agents over BLE lives in ``edge_dan.discovery.ble``.
- ``memory``: two sessions back to back in one process, with a manual clock and a fault injector.

Import the submodule you need; this package stays import-light on purpose.
"""
