"""The BLE stacks the layer runs on, one module each; ``edge_dan.ble.choice`` picks among them.

Why a folder of their own: each backend imports its stack's library (bleak, dbus-fast, bumble),
which the rest of the layer must not. Import a backend module only when it is to run:

- ``bleak``: the central on the OS's stack (BlueZ, CoreBluetooth, WinRT, Android); also the one
  place that handles BlueZ's late-published ATT MTU.
- ``bluez``: the Linux peripheral, an advertisement and a GATT application over D-Bus.
- ``bumble``: central and peripheral on Google's host stack, on any HCI controller.
- ``sim``: bumble's software controllers on one in-process link, with two fixes to bumble's
  simulation; for tests, simulations and the blevm VM.
"""
