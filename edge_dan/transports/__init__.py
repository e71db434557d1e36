"""Transports: asyncio adapters that run a sans-IO ``edge_dan.wire.session.Session`` over a link.

- ``tcp``: ``connect``/``serve`` over 2-byte length-prefixed frames, an async ``SessionChannel``.
- ``memory``: two sessions back to back in one process, with a manual clock and a fault injector.

Import the submodule you need; this package stays import-light on purpose.
"""
