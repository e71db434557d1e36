"""The wire layer: everything that turns agent messages into bytes on a link and back.

Every core here is sans-IO (bytes in, bytes out; no sockets, no clocks), so the same code runs over
TCP, BLE, serial and the in-memory link. ``core`` writes down the contract every protocol core of
the SDK follows (this layer's session and the pairing and negotiation cores above it). Import the
pieces from their submodules, e.g. ``edge_dan.wire.noise``; this package stays import-light on
purpose.
"""
