"""A session with a partner, as the agent hands it to whoever serves it.

Kept apart from ``core`` so that the parts of the agent that serve sessions (``negotiations``)
depend on this small type and on the ``AgentServices`` they need, not on the Agent itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from edge_dan.discovery.directory import Transport
from edge_dan.identity import Identity
from edge_dan.owner import Owner
from edge_dan.owner.peers import Peer
from edge_dan.transports.channel import SessionChannel

if TYPE_CHECKING:
    from edge_dan.bridge.accords import AccordReceipt
    from edge_dan.model import ValueModel
    from edge_dan.negotiation.accords.accord import Accord


@dataclass(frozen=True)
class PartnerSession:
    """An established session with a paired peer, its advertising keys already exchanged.

    ::

        session = await agent.connect(partner_identity_key)
        await session.channel.send(message)       # any registered wire message
        print(session.peer.name, session.via)     # the owner's name for them, "lan" or "ble"
    """

    channel: SessionChannel
    peer: Peer
    via: Transport


SessionHandler = Callable[[PartnerSession], Awaitable[None]]


class AgentServices(Protocol):
    """What the agent offers the parts that run over its sessions."""

    owner: Owner
    identity: Identity
    value_model: ValueModel | None

    def clock(self) -> float: ...

    def spawn(self, work: Coroutine[object, object, None]) -> None: ...

    async def connect(self, identity_key: bytes) -> PartnerSession: ...

    async def apply_to_devices(self, accord: Accord) -> tuple[AccordReceipt, ...]: ...
