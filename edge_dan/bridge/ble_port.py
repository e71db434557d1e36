"""A bridged device over a BLE UART service (Nordic UART style): a port ``SerialDevice`` can drive.

Microcontrollers with a BLE radio (an ESP32 on NimBLE, an nRF52) carry the bridge's byte stream
(PROTOCOL.md: COBS + CRC32 frames, 0x00-delimited) over a GATT service with two characteristics:
RX, which the host writes, and TX, which the device notifies. That is the BLE layer's
``GattPipe`` (``edge_dan.ble``) on the ``NUS`` service, on whichever backend runs here (the same
pipe, MTU handling included, as agents' sessions use). Frames are cut into writes of at most
ATT_MTU - 3 bytes and come back as notifications cut anywhere; the bridge's deframer reassembles
them, so the request logic of ``SerialDevice`` runs unchanged on a ``BleUartPort``.

Why it exists: ``SerialDevice`` is blocking and byte-stream shaped; a GATT pipe is asynchronous
and packet shaped. This module fits the one to the other:

- sans-IO: ``split_for_att`` (chunking) and ``ReceiveBuffer`` (notified bytes waiting for a
  blocking ``read``; the end of the link wakes a pending read at once with ``BleLinkLost``);
- ``BleUartPort``: the blocking ``SerialPort`` (write/read/close) over a pipe that runs on an
  asyncio loop, either a private background thread (``open_ble_device``) or the caller's loop
  (``connect_port`` with any ``edge_dan.ble.Central``, then call the port from another thread:
  ``asyncio.to_thread``, as ``Agent.apply_to_devices`` does).

Usage::

    from edge_dan.bridge.ble_port import open_ble_device
    with open_ble_device("C4:5A:00:00:00:01") as thermostat:   # or name="edge-thermostat"
        thermostat.hello()
        thermostat.set("setpoint", 215)
    # from async code: device = await asyncio.to_thread(open_ble_device, address)

The backend is the platform's central (``edge_dan.ble.choice``: bleak), or bumble with
``hci_transport="usb:0"``. ``service=GattService(...)`` selects another UART-style service (other
UUIDs, same roles).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from edge_dan.ble import (
    Central,
    ConnectFailed,
    DeviceNotFound,
    GattPipe,
    GattService,
    ScanReport,
    ServiceMissing,
    att_payload_size,
    find_device,
    open_central,
)
from edge_dan.bridge.link import BridgeError, SerialDevice
from edge_dan.wire.errors import ConnectionLost

NUS = GattService(
    "6e400001-b5a3-f393-e0a9-e50e24dcca9e",
    write="6e400002-b5a3-f393-e0a9-e50e24dcca9e",  # RX: host -> device, write (without response)
    notify="6e400003-b5a3-f393-e0a9-e50e24dcca9e",  # TX: device -> host, notify
    label="UART",
)
READ_TIMEOUT = 0.05  # a read with nothing to return gives b"" after this, as pyserial's does
WRITE_TIMEOUT = 10.0  # one frame's writes; longer means the link is as good as gone
CLOSE_TIMEOUT = 15.0  # for the backend to end the link (it bounds its own waits below this)
STOP_TIMEOUT = 5.0  # for a private loop's tasks and thread to end

T = TypeVar("T")


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


def split_for_att(data: bytes, att_mtu: int) -> list[bytes]:
    """``data`` cut into writes that each fit one ATT packet at ``att_mtu``, in order."""
    size = att_payload_size(att_mtu)
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
            self.run(cancel_all(), timeout=STOP_TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=STOP_TIMEOUT)
        if not self._thread.is_alive():
            self.loop.close()


class BleUartPort:
    """A ``SerialPort`` over a BLE UART's ``GattPipe``: blocking, for ``SerialDevice``.

    ``write`` cuts the bytes into ATT-sized writes and waits until the stack took them; ``read``
    returns what notifications brought (up to ``size``, without waiting for more once there is
    some), b"" after ``read_timeout``, and raises ``BleLinkLost`` once the link is down. Call it
    from any thread but the loop's (that one would wait on itself). ``close`` disconnects, then
    runs ``on_close`` on the loop (what opened the backend closes it) and stops ``owned_loop``.
    """

    def __init__(
        self,
        pipe: GattPipe,
        received: ReceiveBuffer,
        loop: asyncio.AbstractEventLoop,
        *,
        owned_loop: LoopThread | None = None,
        on_close: Callable[[], Awaitable[object]] | None = None,
        read_timeout: float = READ_TIMEOUT,
        write_timeout: float = WRITE_TIMEOUT,
    ) -> None:
        self.pipe = pipe
        self.received = received
        self._loop = loop
        self.owned_loop = owned_loop
        self.on_close = on_close
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self._write_lock = threading.Lock()  # chunks of two frames must never interleave
        self._closed = False

    @property
    def att_mtu(self) -> int:
        return self.pipe.att_mtu

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
        for chunk in split_for_att(data, self.pipe.att_mtu):
            try:
                await self.pipe.send(chunk)
            except ConnectionLost as exc:
                raise BleLinkLost(f"a write to the device failed: {exc}") from exc

    def read(self, size: int = 1, /) -> bytes:
        self._refuse_loop_thread("read")
        return self.received.read(size, self.read_timeout)

    def close(self) -> None:
        """Disconnect, close the backend and stop the private loop, as this port has them;
        idempotent."""
        if self._closed:
            return
        self._closed = True
        already_down = self.received.down is not None  # nothing left to disconnect
        self.received.link_down("closed by this side")
        if not self._loop.is_closed():
            if not already_down:
                self._on_loop(self.pipe.disconnect())
            if self.on_close is not None:
                self._on_loop(self.on_close())
        if self.owned_loop is not None:
            self.owned_loop.stop()

    def _on_loop(self, step: Awaitable[object]) -> None:
        async def run() -> None:
            await step

        with contextlib.suppress(Exception):  # a link or backend that is gone is closed enough
            asyncio.run_coroutine_threadsafe(run(), self._loop).result(CLOSE_TIMEOUT)

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


async def connect_port(
    central: Central,
    address: str | None = None,
    *,
    name: str | None = None,
    service: GattService = NUS,
    timeout: float = 20.0,
) -> BleUartPort:
    """Connect ``central`` (any backend) to a UART device; run on the central's loop, then use
    the port from another thread.

    ``address`` connects directly; without it, a scan of up to ``timeout`` seconds picks the
    first device advertising ``name`` (or, without a name, naming ``service``).
    """
    if address is None:
        address = await _scan_for(central, name, service, timeout)
    described = address if name is None else f"{address} ({name!r})"
    try:
        pipe = await central.connect(address, service, timeout=timeout)
    except DeviceNotFound as exc:
        raise BleDeviceNotFound(str(exc)) from exc
    except ServiceMissing as exc:
        raise UartServiceMissing(str(exc)) from exc
    except ConnectFailed as exc:
        raise BleConnectFailed(f"could not open the UART of {described}: {exc}") from exc
    received = ReceiveBuffer()
    pipe.set_handlers(
        received.feed,
        lambda reason: received.link_down(
            f"the device disconnected or the link was lost: {reason}"
        ),
    )
    return BleUartPort(pipe, received, asyncio.get_running_loop())


async def _scan_for(
    central: Central, name: str | None, service: GattService, timeout: float
) -> str:
    def matches(report: ScanReport) -> bool:
        if name is not None:
            return report.local_name == name
        return report.names_service(service.uuid)

    found = await find_device(central, matches, timeout)
    if found is None:
        what = f"named {name!r}" if name else f"offering service {service.uuid}"
        raise BleDeviceNotFound(f"no BLE device {what} advertised within {timeout} s")
    return found.address


def open_ble_device(
    address: str | None = None,
    *,
    name: str | None = None,
    service: GattService = NUS,
    backend: str | None = None,
    hci_transport: str | None = None,
    adapter: str | None = None,
    timeout: float = 20.0,
    answer_timeout: float = 2.0,
    attempts: int = 3,
) -> SerialDevice:
    """A ``SerialDevice`` on a BLE UART device, on a private background loop.

    Blocking, like ``SerialDevice.open``; closing the device disconnects, closes the backend and
    stops the loop. The central is ``edge_dan.ble.open_central(backend, hci_transport=...,
    adapter=...)``: the platform's (bleak) unless an HCI transport asks for bumble.
    """
    thread = LoopThread()
    backend_stack = contextlib.AsyncExitStack()

    async def connect() -> BleUartPort:
        try:
            central = await backend_stack.enter_async_context(
                open_central(backend, hci_transport=hci_transport, adapter=adapter)
            )
            port = await connect_port(central, address, name=name, service=service, timeout=timeout)
        except BaseException:
            await backend_stack.aclose()
            raise
        port.on_close = backend_stack.aclose
        return port

    try:
        port = thread.run(connect())
    except BaseException:
        thread.stop()
        raise
    port.owned_loop = thread
    return SerialDevice(port, answer_timeout=answer_timeout, attempts=attempts)
