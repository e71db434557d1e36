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
