"""The host end of a bridge link: requests out, answers in, as a sans-IO core plus a serial driver.

``BridgeLink`` is the protocol core (PROTOCOL.md section 3): it numbers requests, frames them,
takes received bytes, drops what does not deframe or decode (counting it) and hands back decoded
messages. It never touches a port or a clock, so tests can drive it byte by byte.

``SerialDevice`` drives a link over pyserial's ``serial_for_url`` (a UART, USB CDC, or
``socket://host:port`` for QEMU's emulated UART): one request at a time, an answer matched by its
seq, the same request resent after a timeout (every request is idempotent, so a retry after a lost
answer is safe), and an ERROR answer raised as ``DeviceRefused``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from edge_dan.bridge.codec import (
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    Ack,
    AnyMessage,
    ApplyAccord,
    BridgeMessage,
    BridgeMessageError,
    Capabilities,
    Error,
    ErrorCode,
    GetState,
    Hello,
    Set,
    State,
    decode,
    encode,
)
from edge_dan.errors import EdgeDanError
from edge_dan.wire.framing.serial import SerialDeframer, SerialErrors, encode_serial_frame


class BridgeError(EdgeDanError):
    """Talking to a bridged device failed."""


class DeviceTimeout(BridgeError):
    """The device sent no answer to a request, even after retries: is it powered and connected?"""


class DeviceRefused(BridgeError):
    """The device answered a request with ERROR; ``code`` says why (see PROTOCOL.md section 4)."""

    def __init__(self, request: str, code: int, detail: str) -> None:
        known = code in ErrorCode._value2member_map_
        name = ErrorCode(code).name.lower() if known else f"code {code}"
        super().__init__(f"the device refused {request}: {name} ({detail or 'no detail'})")
        self.code = code
        self.detail = detail


class UnknownPoint(BridgeError):
    """A point name the device did not list in its capabilities."""


@dataclass
class LinkCounters:
    """What the link dropped: frames (by cause, from the deframer), undecodable messages."""

    frames: SerialErrors
    messages_refused: int = 0


class BridgeLink:
    """Sans-IO core of the host side: ``frame`` gives bytes to send, ``receive`` takes bytes."""

    def __init__(self) -> None:
        self._deframer = SerialDeframer(MAX_PAYLOAD)
        self._last_seq = 0
        self.counters = LinkCounters(self._deframer.errors)

    def next_seq(self) -> int:
        """1..65535, then around again; 0 is reserved for messages that answer no request."""
        self._last_seq = self._last_seq % 0xFFFF + 1
        return self._last_seq

    def frame(self, message: BridgeMessage) -> bytes:
        """The bytes that carry ``message`` to the device."""
        return encode_serial_frame(encode(message), max_payload=MAX_PAYLOAD)

    def receive(self, data: bytes) -> list[AnyMessage]:
        """Messages completed by ``data``; bad frames and messages are counted and dropped."""
        messages: list[AnyMessage] = []
        for payload in self._deframer.feed(data):
            try:
                messages.append(decode(payload))
            except BridgeMessageError:
                self.counters.messages_refused += 1
        return messages


class SerialPort(Protocol):
    """The part of ``serial.Serial`` the driver uses."""

    def write(self, data: bytes, /) -> int | None: ...

    def read(self, size: int = 1, /) -> bytes: ...

    def close(self) -> None: ...


M = TypeVar("M", bound=BridgeMessage)


class SerialDevice:
    """A bridged device behind a serial URL; ``hello`` first, then state, set and accords."""

    def __init__(
        self,
        port: SerialPort,
        *,
        answer_timeout: float = 1.0,
        attempts: int = 3,
    ) -> None:
        self.port = port
        self.link = BridgeLink()
        self.answer_timeout = answer_timeout
        self.attempts = attempts
        self.capabilities: Capabilities | None = None
        self.unsolicited: list[AnyMessage] = []  # STATE seq 0, ERROR seq 0, stale answers

    @classmethod
    def open(
        cls,
        url: str,
        *,
        baudrate: int = 115200,
        answer_timeout: float = 1.0,
        attempts: int = 3,
    ) -> SerialDevice:
        """Open ``url`` with pyserial (``/dev/ttyACM0``, ``socket://127.0.0.1:5555``, ...)."""
        import serial  # type: ignore[import-untyped]  # only the serial driver needs pyserial

        port: SerialPort = serial.serial_for_url(url, baudrate=baudrate, timeout=0.05)
        return cls(port, answer_timeout=answer_timeout, attempts=attempts)

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> SerialDevice:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _request(self, build: Callable[[int], BridgeMessage], expect: type[M]) -> M:
        seq = self.link.next_seq()
        request = build(seq)
        frame = self.link.frame(request)
        what = type(request).__name__
        for _ in range(self.attempts):
            # A leading 0x00 ends whatever noise the device may have half-received.
            self.port.write(b"\x00" + frame)
            deadline = time.monotonic() + self.answer_timeout
            while time.monotonic() < deadline:
                for message in self.link.receive(self.port.read(256)):
                    if message.seq != seq:
                        self.unsolicited.append(message)
                    elif isinstance(message, Error):
                        raise DeviceRefused(what, message.code, message.detail)
                    elif isinstance(message, expect):
                        return message
                    else:
                        raise BridgeError(f"{what} was answered by {type(message).__name__}")
        raise DeviceTimeout(f"no answer to {what} after {self.attempts} attempts")

    def hello(self) -> Capabilities:
        """Introduce the host; the device's capabilities are kept for name lookups."""
        self.capabilities = self._request(lambda seq: Hello(seq, PROTOCOL_VERSION), Capabilities)
        return self.capabilities

    def point_id(self, name: str) -> int:
        """The id of the point called ``name`` (after ``hello``)."""
        caps = self.capabilities or self.hello()
        for spec in caps.points:
            if spec.name == name:
                return spec.id
        raise UnknownPoint(
            f"the {caps.kind} has no point {name!r}; it has {[spec.name for spec in caps.points]}"
        )

    def state(self) -> State:
        return self._request(GetState, State)

    def values(self) -> dict[str, int]:
        """Current values by point name."""
        caps = self.capabilities or self.hello()
        names = {spec.id: spec.name for spec in caps.points}
        return {names.get(point, str(point)): value for point, value in self.state().values.items()}

    def set(self, name: str, value: int) -> Ack:
        point = self.point_id(name)
        return self._request(lambda seq: Set(seq, point, value), Ack)

    def apply_accord(self, accord_id: bytes, values: Mapping[str, int]) -> Ack:
        """Apply ``values`` (point name to value) under ``accord_id``, all or nothing."""
        by_id = {self.point_id(name): value for name, value in values.items()}
        return self._request(lambda seq: ApplyAccord(seq, accord_id, by_id), Ack)
