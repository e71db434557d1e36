"""A bridged device over a BLE UART service (Nordic UART style): a port ``SerialDevice`` can drive.

Microcontrollers with a BLE radio (an ESP32 on NimBLE, an nRF52) carry the bridge's byte stream
(PROTOCOL.md: COBS + CRC32 frames, 0x00-delimited) over a GATT service with two characteristics:
RX, which the host writes, and TX, which the device notifies. Frames are cut into writes of at
most ATT_MTU - 3 bytes and come back as notifications cut anywhere; the bridge's deframer
reassembles them, so the request logic of ``SerialDevice`` runs unchanged on a ``BleUartPort``.

Layers (this module holds the first two):

- sans-IO: ``split_for_att`` (chunking) and ``ReceiveBuffer`` (notification bytes waiting for a
  blocking ``read``; the end of the link wakes a pending read at once with ``BleLinkLost``);
- ``BleUartPort``: the blocking ``SerialPort`` (write/read/close) over a backend that runs on an
  asyncio loop, either a private background thread (``open_ble_device``) or the caller's loop
  (``connect_bleak_port``/``connect_bumble_port``, then call the port from another thread:
  ``asyncio.to_thread``, as ``Agent.apply_to_devices`` does);
- backends: bleak (:mod:`.ble_bleak`: BlueZ, CoreBluetooth, WinRT, Android), and bumble as
  central (:mod:`.ble_bumble`: any HCI controller, or software controllers in tests).

Usage::

    from edge_dan.bridge.ble_bleak import open_ble_device
    with open_ble_device("C4:5A:00:00:00:01") as thermostat:   # or name="edge-thermostat"
        thermostat.hello()
        thermostat.set("setpoint", 215)
    # from async code: device = await asyncio.to_thread(open_ble_device, address)

``service=UartService(...)`` selects another UART-style service (other UUIDs, same roles).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from edge_dan.bridge.link import BridgeError

NUS_SERVICE_UUID = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
NUS_RX_UUID = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"  # host -> device: write (without response)
NUS_TX_UUID = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"  # device -> host: notify

ATT_WRITE_HEADER = 3  # opcode + handle in front of every write and notification
MIN_ATT_MTU = 23
MAX_ATTRIBUTE_VALUE = 512  # the ATT cap on one value, whatever the MTU
READ_TIMEOUT = 0.05  # a read with nothing to return gives b"" after this, as pyserial's does
WRITE_TIMEOUT = 10.0  # one frame's writes; longer means the link is as good as gone
DISCONNECT_TIMEOUT = 5.0
CONNECT_CANCEL_GRACE = 2.0  # for a controller to confirm it gave up connecting

T = TypeVar("T")


@dataclass(frozen=True)
class UartService:
    """A UART-style GATT service: RX written by the host, TX notified by the device."""

    service: str = NUS_SERVICE_UUID
    rx: str = NUS_RX_UUID
    tx: str = NUS_TX_UUID


NUS = UartService()


class BleBridgeError(BridgeError):
    """The BLE link to a bridged device failed."""


class BleDeviceNotFound(BleBridgeError):
    """No device by that address or name answered: is it powered, advertising and in range?"""


class BleConnectFailed(BleBridgeError):
    """The device was there but the connection or its GATT setup failed."""


class UartServiceMissing(BleBridgeError):
    """The device offers no UART service with the expected RX and TX characteristics."""


class BleLinkLost(BleBridgeError):
    """The BLE link went down (the device disconnected, went out of range, or we closed it)."""


# -- sans-IO ---------------------------------------------------------------------------------------


def chunk_size(att_mtu: int) -> int:
    """Bytes one write or notification carries at ``att_mtu``."""
    if att_mtu < MIN_ATT_MTU:
        raise ValueError(f"an ATT MTU is at least {MIN_ATT_MTU}, got {att_mtu}")
    return min(att_mtu - ATT_WRITE_HEADER, MAX_ATTRIBUTE_VALUE)


def split_for_att(data: bytes, att_mtu: int) -> list[bytes]:
    """``data`` cut into writes that each fit one ATT packet at ``att_mtu``, in order."""
    size = chunk_size(att_mtu)
    return [data[start : start + size] for start in range(0, len(data), size)]


class ReceiveBuffer:
    """Bytes notified by the device, waiting for ``read``; safe across threads.

    The stack's thread calls ``feed`` and ``link_down``; the caller's thread calls ``read``. Bytes
    that arrived before the link went down are still read; after them ``read`` raises.
    """

    def __init__(self) -> None:
        self._data = bytearray()
        self._down: str | None = None
        self._changed = threading.Condition()

    @property
    def down(self) -> str | None:
        """Why the link went down, or None while it is up."""
        return self._down

    def feed(self, data: bytes) -> None:
        with self._changed:
            if self._down is None:
                self._data += data
                self._changed.notify_all()

    def link_down(self, reason: str) -> None:
        """Record the end of the link (the first reason counts) and wake pending reads."""
        with self._changed:
            if self._down is None:
                self._down = reason
            self._changed.notify_all()

    def raise_if_down(self) -> None:
        if self._down is not None:
            raise BleLinkLost(f"the BLE link to the device is down: {self._down}")

    def read(self, size: int, timeout: float) -> bytes:
        """Up to ``size`` bytes as soon as any are there; b"" after ``timeout`` without any."""
        with self._changed:
            self._changed.wait_for(lambda: self._data or self._down is not None, timeout)
            if self._data:
                taken = bytes(self._data[:size])
                del self._data[:size]
                return taken
            if self._down is not None:
                self.raise_if_down()
            return b""


# -- the port --------------------------------------------------------------------------------------


class UartLink(Protocol):
    """What a backend offers once connected; its coroutines run on the backend's loop.

    ``with_response``: whether RX writes wait for the device's write response (only when RX
    does not take writes without response).
    """

    with_response: bool

    @property
    def att_mtu(self) -> int: ...

    async def write_chunk(self, chunk: bytes) -> None:
        """One write to RX; raises ``BleLinkLost`` if the link failed."""

    async def disconnect(self) -> None:
        """End the link; idempotent, never raises."""


class LoopThread:
    """An asyncio event loop on a daemon thread, for blocking callers of async BLE stacks."""

    def __init__(self, name: str = "edge-dan-ble") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the loop and wait for its result (or its exception)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        """Cancel what still runs, stop the loop and its thread; idempotent."""
        if self.loop.is_closed():
            return

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):  # a loop already stopped has nothing left to cancel
            self.run(cancel_all(), timeout=DISCONNECT_TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=DISCONNECT_TIMEOUT)
        if not self._thread.is_alive():
            self.loop.close()


class BleUartPort:
    """A ``SerialPort`` over a BLE UART link: blocking, for ``SerialDevice``.

    ``write`` cuts the bytes into ATT-sized writes and waits until the stack took them; ``read``
    returns what notifications brought (up to ``size``, without waiting for more once there is
    some), b"" after ``read_timeout``, and raises ``BleLinkLost`` once the link is down. Call it
    from any thread but the loop's (that one would wait on itself).
    """

    def __init__(
        self,
        link: UartLink,
        received: ReceiveBuffer,
        loop: asyncio.AbstractEventLoop,
        *,
        owned_loop: LoopThread | None = None,
        read_timeout: float = READ_TIMEOUT,
        write_timeout: float = WRITE_TIMEOUT,
    ) -> None:
        self.link = link
        self.received = received
        self._loop = loop
        self.owned_loop = owned_loop  # stopped by ``close``
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self._write_lock = threading.Lock()  # chunks of two frames must never interleave
        self._closed = False

    @property
    def att_mtu(self) -> int:
        return self.link.att_mtu

    def write(self, data: bytes, /) -> int:
        self._refuse_loop_thread("write")
        with self._write_lock:
            self.received.raise_if_down()
            sending = asyncio.run_coroutine_threadsafe(self._send(bytes(data)), self._loop)
            deadline = time.monotonic() + self.write_timeout
            while True:
                try:
                    sending.result(timeout=READ_TIMEOUT)
                    return len(data)
                except concurrent.futures.TimeoutError:
                    pass
                except BleLinkLost as lost:
                    self.received.link_down(str(lost))  # reads end at once too
                    raise
                # A write with response to a vanished device may wait for the stack's own
                # 30 s ATT timeout: the link's end, or ours, decides sooner.
                if self.received.down is not None or time.monotonic() > deadline:
                    sending.cancel()
                    self.received.link_down(f"a write took more than {self.write_timeout} s")
                    self.received.raise_if_down()

    async def _send(self, data: bytes) -> None:
        for chunk in split_for_att(data, self.link.att_mtu):
            await self.link.write_chunk(chunk)

    def read(self, size: int = 1, /) -> bytes:
        self._refuse_loop_thread("read")
        return self.received.read(size, self.read_timeout)

    def close(self) -> None:
        """Disconnect (and stop the private loop, if this port has one); idempotent."""
        if self._closed:
            return
        self._closed = True
        already_down = self.received.down is not None  # nothing left to disconnect
        self.received.link_down("closed by this side")
        if not already_down and not self._loop.is_closed():
            with contextlib.suppress(Exception):  # a link that is gone is closed enough
                asyncio.run_coroutine_threadsafe(self.link.disconnect(), self._loop).result(
                    DISCONNECT_TIMEOUT + 1.0
                )
        if self.owned_loop is not None:
            self.owned_loop.stop()

    def _refuse_loop_thread(self, what: str) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return
        if running is self._loop:
            raise BleBridgeError(
                f"{what} blocks, and was called on the event loop that runs the BLE link: "
                "call the device from another thread (await asyncio.to_thread(...))"
            )


def missing_service_text(described: str, service: UartService, *, found_service: object) -> str:
    if found_service is None:
        return f"the BLE device {described} offers no UART service {service.service}"
    return (
        f"the BLE device {described} has service {service.service} but not both its RX "
        f"{service.rx} and TX {service.tx} characteristics"
    )
