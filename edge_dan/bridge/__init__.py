"""The host side of the firmware bridge: microcontroller devices that take part through an agent.

- ``codec``: the bridge's messages (``firmware_bridge/PROTOCOL.md``), strict both ways.
- ``link``: ``BridgeLink``, the sans-IO conversation with one device, and ``SerialDevice``, the
  pyserial driver (``serial_for_url``, so ``socket://`` reaches an emulated UART).
- ``ble``: the same ``SerialDevice`` over a BLE UART service (Nordic UART style): chunking, the
  blocking port; ``ble_bleak`` (the platform's stack) and ``ble_bumble`` (any HCI controller)
  connect it.
- ``accords``: ``DeviceBinding``: apply the terms of a signed accord that concern a device.

The C library, example firmware and shared test vectors live in ``firmware_bridge/``.
"""
