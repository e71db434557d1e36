"""bumble's software radio as Bluetooth adapters for other processes: ``SimRadio``.

One simulated link (``edge_dan.ble.backends.sim``) in a thread of the test process, with one
software controller per Unix socket path, each served over HCI as a USB dongle or a serial
controller would be. A process given ``--hci unix:PATH`` (``edge-dan run``) drives the controller
at PATH with its own bumble host stack, so real ``edge-dan`` processes advertise, scan, connect
and carry sessions over GATT on the same radio; only the radio is simulated. A Unix socket is a
file, so processes in different network namespaces share the radio while their LANs stay apart.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from bumble.transport.common import Transport
from bumble.transport.unix import open_unix_server_transport

from edge_dan.ble.backends.sim import ScanResponseController, new_link

MAX_UNIX_PATH = 107  # bytes of sun_path, less its terminating NUL


class SimRadio:
    """Software controllers on one shared link, served at ``paths`` (``with SimRadio(...)``)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        for path in paths:
            if len(str(path).encode()) > MAX_UNIX_PATH:
                raise ValueError(f"a Unix socket path is at most {MAX_UNIX_PATH} bytes: {path}")
        self.paths = list(paths)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sim-radio")
        self._transports: list[Transport] = []

    def transport(self, index: int) -> str:
        """What ``--hci`` names for the controller at ``paths[index]``."""
        return f"unix:{self.paths[index]}"

    def __enter__(self) -> Self:
        self._thread.start()
        try:
            self._call(self._serve()).result(timeout=30)
        except BaseException:
            self._shut()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._shut()

    def unplug(self) -> None:
        """Take every controller away, as pulling its dongle would: each host's transport ends."""
        self._call(self._close()).result(timeout=30)

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> Future[None]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    async def _serve(self) -> None:
        link = new_link()
        for index, path in enumerate(self.paths):
            served = await open_unix_server_transport(str(path))
            self._transports.append(served)
            ScanResponseController(
                f"radio{index}", host_source=served.source, host_sink=served.sink, link=link
            )

    async def _close(self) -> None:
        transports, self._transports = self._transports, []
        for served in transports:
            await served.close()
            # bumble's Unix server transport leaves its listener and its connection open.
            server = getattr(served, "server", None)
            if server is not None:
                server.close()
            connection = getattr(served.sink, "transport", None)
            if connection is not None:
                connection.close()

    def _shut(self) -> None:
        if self._thread.is_alive():
            self._call(self._close()).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        self._loop.close()
        for path in self.paths:
            path.unlink(missing_ok=True)
