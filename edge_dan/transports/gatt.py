"""The GATT service an agent offers over BLE, and the one interface every BLE stack adapts to.

Layout (UUIDs of our own, random version 4; never change them: they are how agents find each
other)::

    service  SERVICE_UUID
      RX  RX_CHAR_UUID  write without response   central -> peripheral fragments
      TX  TX_CHAR_UUID  notify                   peripheral -> central fragments

Each write or notification is one fragment of ``edge_dan.wire.framing.ble``. The advertisement
lists ``SERVICE_UUID`` and carries ``edge_dan.discovery.tokens.Advert.service_data()`` as service
data under the same UUID (in the scan response when the advertisement itself is full).

``GattPipe`` is what a connected link looks like to the session layer, whatever the stack (bumble,
bleak as central, BlueZ over D-Bus as peripheral) and whichever role this side plays.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Protocol

SERVICE_UUID = "ce80a294-c3ef-46a6-8f6b-339743a066f4"
RX_CHAR_UUID = "ce80a295-c3ef-46a6-8f6b-339743a066f4"
TX_CHAR_UUID = "ce80a296-c3ef-46a6-8f6b-339743a066f4"

FragmentHandler = Callable[[bytes], None]
DisconnectHandler = Callable[[str], None]


class GattPipe(Protocol):
    """One connected GATT link carrying fragments both ways.

    - ``att_mtu``: the ATT MTU in force now (23 until an exchange raised it; may grow later).
    - ``send(fragment)``: one write without response (central) or one notification (peripheral);
      returns once the stack has taken it. Raises ``ConnectionLost`` once the link is gone.
    - ``set_handlers``: where received fragments and the disconnection go. Fragments are delivered
      in order, one call each, on the event loop's thread. ``on_disconnect`` is called once, with
      a reason a person can read.
    - ``disconnect()``: end the link; idempotent.
    """

    @property
    def att_mtu(self) -> int: ...

    async def send(self, fragment: bytes) -> None: ...

    def set_handlers(
        self, on_fragment: FragmentHandler, on_disconnect: DisconnectHandler
    ) -> None: ...

    async def disconnect(self) -> None: ...


class PipeEvents:
    """The bookkeeping every ``GattPipe`` shares, whatever the stack underneath.

    Fragments that arrive before ``set_handlers`` (a central may write as soon as it subscribed)
    are kept and delivered in order once handlers are set; the end of the link is reported once,
    and only after the fragments that came before it. Stacks call ``fragment_arrived`` and
    ``link_down``; ``link_down`` returns True for the call that ended the link.
    """

    def __init__(self) -> None:
        self._early: deque[bytes] = deque()
        self._on_fragment: FragmentHandler | None = None
        self._on_disconnect: DisconnectHandler | None = None
        self._down: str | None = None
        self._down_event = asyncio.Event()
        self._reported = False

    @property
    def connected(self) -> bool:
        return self._down is None

    def set_handlers(self, on_fragment: FragmentHandler, on_disconnect: DisconnectHandler) -> None:
        self._on_fragment, self._on_disconnect = on_fragment, on_disconnect
        asyncio.get_running_loop().call_soon(self._deliver_early)

    async def wait_disconnected(self) -> str:
        await self._down_event.wait()
        assert self._down is not None
        return self._down

    def fragment_arrived(self, fragment: bytes) -> None:
        if self._down is not None:
            return
        if self._on_fragment is None or self._early:
            self._early.append(fragment)
        else:
            self._on_fragment(fragment)

    def link_down(self, reason: str) -> bool:
        if self._down is not None:
            return False
        self._down = reason
        self._down_event.set()
        if not self._early:  # else _deliver_early reports the end after the fragments
            self._report_down()
        return True

    def _deliver_early(self) -> None:
        while self._early and self._on_fragment is not None:
            self._on_fragment(self._early.popleft())
        self._report_down()

    def _report_down(self) -> None:
        if self._down is not None and self._on_disconnect is not None and not self._reported:
            self._reported = True
            self._on_disconnect(self._down)
