"""What a backend does in each BLE role: a central scans and connects, a peripheral advertises
and serves.

Why it exists: discovery (adverts, scans), transports (sessions on a pipe) and the bridge (a
device's UART) are written against these two protocols only, so the backend is chosen at run time
(``edge_dan.ble.choice``) and none of them names bleak, BlueZ or bumble.

- ``Central``: ``start_scan`` reports every advertisement (repeats included) as a ``ScanReport``
  until ``stop_scan``; ``connect`` opens a ``GattPipe`` on a service of a device seen (or known by
  address), subscribed to its notify characteristic. It raises ``DeviceNotFound``,
  ``ServiceMissing`` or ``ConnectFailed``, leaving no half-open link behind.
- ``Peripheral``: serves one ``GattService`` once ``start``ed; ``advertise`` replaces what it
  advertises (from a fresh private address where the backend can choose); ``accept`` yields a
  pipe for each central that subscribed to the notify characteristic.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from edge_dan.ble.advertising import Advertisement, ScanReport
from edge_dan.ble.gatt import GattPipe, GattService

ReportHandler = Callable[[ScanReport], None]
T = TypeVar("T")


class Central(Protocol):
    async def start_scan(self, on_report: ReportHandler) -> None: ...

    async def stop_scan(self) -> None: ...

    async def connect(
        self, address: str, service: GattService, *, timeout: float = ...
    ) -> GattPipe: ...


class Peripheral(Protocol):
    async def start(self) -> None: ...

    async def advertise(self, advertisement: Advertisement) -> None: ...

    async def stop_advertising(self) -> None: ...

    async def accept(self) -> GattPipe: ...

    async def stop(self) -> None: ...


async def find_device(
    central: Central, match: Callable[[ScanReport], bool], timeout: float
) -> ScanReport | None:
    """Scan until a report ``match``es (that report) or ``timeout`` seconds pass (None)."""
    found: asyncio.Future[ScanReport] = asyncio.get_running_loop().create_future()

    def on_report(report: ScanReport) -> None:
        if not found.done() and match(report):
            found.set_result(report)

    await central.start_scan(on_report)
    try:
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(found, timeout)
        return None
    finally:
        await central.stop_scan()


class RecentlySeen(Generic[T]):
    """What a central keeps per address seen (to connect to it later), the latest ``limit`` only:
    a long scan in a crowded place must not grow without bound."""

    def __init__(self, limit: int = 512) -> None:
        self._limit = limit
        self._items: OrderedDict[str, T] = OrderedDict()

    def add(self, address: str, item: T) -> None:
        self._items[address] = item
        self._items.move_to_end(address)
        while len(self._items) > self._limit:
            self._items.popitem(last=False)

    def get(self, address: str) -> T | None:
        return self._items.get(address)
