"""The host side of the firmware bridge: microcontroller devices that take part through an agent.

- ``codec``: the bridge's messages (``firmware_bridge/PROTOCOL.md``), strict both ways.
- ``link``: ``BridgeLink``, the sans-IO conversation with one device, and ``SerialDevice``, the
  pyserial driver (``serial_for_url``, so ``socket://`` reaches an emulated UART).
- ``ble_port``: the same ``SerialDevice`` over a BLE UART service (Nordic UART style): the
  blocking port on the BLE layer's ``GattPipe`` (``edge_dan.ble``), whichever backend connects
  it (the platform's central, or bumble on any HCI controller).
- ``accords``: ``DeviceBinding``: apply the terms of a signed accord that concern a device.

The C library, example firmware and shared test vectors live in ``firmware_bridge/``.
"""
