"""The GATT pipe: one connected BLE link carrying bytes both ways over two characteristics.

Why it exists: agents' sessions (``edge_dan.transports.gatt``) and the firmware bridge's BLE UART
(``edge_dan.bridge.ble_port``) move bytes over BLE the same way: the central writes a *write*
characteristic, the peripheral notifies a *notify* characteristic, and each write or notification
carries at most ATT_MTU - 3 bytes. One abstraction serves both, whatever the backend and role:

- ``GattService``: the three UUIDs (service, write, notify) a pipe runs on;
- ``GattPipe``: a connected link as the layers above see it;
- ``PipeEvents``: the bookkeeping every backend's pipe shares (early values, one end);
- ``att_payload_size`` / ``clamp_att_mtu``: what one packet carries at an MTU.

``AGENT_SERVICE`` is the service agents offer. It is defined here, below both, because discovery
advertises its UUID and transports carry sessions over its characteristics, and neither of those
may import the other. Its UUIDs are our own (random, version 4); never change them: they are how
agents find each other::

    service  ce80a294-c3ef-46a6-8f6b-339743a066f4
      write  ce80a295-...  write without response   central -> peripheral
      notify ce80a296-...  notify                   peripheral -> central
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from edge_dan.wire.framing.ble import MAX_ATT_MTU, MAX_ATT_VALUE, MIN_ATT_MTU

ATT_HEADER = 3  # opcode + handle in front of every write and notification

ValueHandler = Callable[[bytes], None]
DisconnectHandler = Callable[[str], None]


@dataclass(frozen=True)
class GattService:
    """A service carrying a byte pipe: ``write`` written by the central, ``notify`` notified by the
    peripheral. ``label`` names it in error messages ("the device offers no {label} service")."""

    uuid: str
    write: str
    notify: str
    label: str = "GATT"


AGENT_SERVICE = GattService(
    "ce80a294-c3ef-46a6-8f6b-339743a066f4",
    write="ce80a295-c3ef-46a6-8f6b-339743a066f4",
    notify="ce80a296-c3ef-46a6-8f6b-339743a066f4",
    label="edge_dan GATT",
)


def att_payload_size(att_mtu: int) -> int:
    """Bytes one write or notification carries at ``att_mtu`` (the ATT cap on a value included)."""
    if att_mtu < MIN_ATT_MTU:
        raise ValueError(f"an ATT MTU is at least {MIN_ATT_MTU}, got {att_mtu}")
    return min(att_mtu - ATT_HEADER, MAX_ATT_VALUE)


def clamp_att_mtu(value: int, cap: int = MAX_ATT_MTU) -> int:
    """A stack's MTU figure brought into 23..``cap`` (stacks report 0, or more than ATT allows)."""
    return max(MIN_ATT_MTU, min(value, cap))


class GattPipe(Protocol):
    """One connected GATT link carrying values both ways.

    - ``att_mtu``: the ATT MTU in force now (23 until an exchange raised it; may grow later).
    - ``send(value)``: one write (central) or one notification (peripheral) of at most
      ``att_payload_size(att_mtu)`` bytes; returns once the stack has taken it. Raises
      ``ConnectionLost`` once the link is gone.
    - ``set_handlers``: where received values and the disconnection go. Values are delivered in
      order, one call each, on the event loop's thread; call it on that loop. ``on_disconnect`` is
      called once, with a reason a person can read.
    - ``disconnect()``: end the link; idempotent.
    """

    @property
    def att_mtu(self) -> int: ...

    async def send(self, value: bytes) -> None: ...

    def set_handlers(self, on_value: ValueHandler, on_disconnect: DisconnectHandler) -> None: ...

    async def disconnect(self) -> None: ...


class PipeEvents:
    """The bookkeeping every ``GattPipe`` shares, whatever the stack underneath.

    Values that arrive before ``set_handlers`` (a central may write as soon as it subscribed) are
    kept and delivered in order once handlers are set; the end of the link is reported once, and
    only after the values that came before it. Stacks call ``value_arrived`` and ``link_down``;
    ``link_down`` returns True for the call that ended the link. ``with_response``: whether this
    side's sends wait for the peer's acknowledgement (a central writing a characteristic that
    takes only writes with response).
    """

    with_response = False

    def __init__(self) -> None:
        self._early: deque[bytes] = deque()
        self._on_value: ValueHandler | None = None
        self._on_disconnect: DisconnectHandler | None = None
        self._down: str | None = None
        self._down_event = asyncio.Event()
        self._reported = False

    @property
    def connected(self) -> bool:
        return self._down is None

    def set_handlers(self, on_value: ValueHandler, on_disconnect: DisconnectHandler) -> None:
        self._on_value, self._on_disconnect = on_value, on_disconnect
        asyncio.get_running_loop().call_soon(self._deliver_early)

    async def wait_disconnected(self) -> str:
        await self._down_event.wait()
        assert self._down is not None
        return self._down

    def value_arrived(self, value: bytes | bytearray) -> None:
        if self._down is not None:
            return
        taken = bytes(value)  # stacks may hand over a bytearray they reuse
        if self._on_value is None or self._early:
            self._early.append(taken)
        else:
            self._on_value(taken)

    def link_down(self, reason: str) -> bool:
        if self._down is not None:
            return False
        self._down = reason
        self._down_event.set()
        if not self._early:  # else _deliver_early reports the end after the values
            self._report_down()
        return True

    def _deliver_early(self) -> None:
        while self._early and self._on_value is not None:
            self._on_value(self._early.popleft())
        self._report_down()

    def _report_down(self) -> None:
        if self._down is not None and self._on_disconnect is not None and not self._reported:
            self._reported = True
            self._on_disconnect(self._down)
