"""Pairing two agents over a live session: numeric comparison with commit and reveal.

The sans-IO ``NumericComparison`` (``edge_dan.pairing.numeric``) runs inside an XX session
between strangers; both owners see the same six digits and answer. ``ask_owner`` is the owner's
side: it gets the code and the peer's fingerprint and returns the name to keep the peer under,
or None to decline. Only when both said yes is the peer kept (``Peers.add``); the caller then
hands over advertising keys in the same session.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from edge_dan.identity import Identity, fingerprint
from edge_dan.owner.peers import Peer, Peers
from edge_dan.pairing.numeric import NumericComparison
from edge_dan.transports.channel import SessionChannel
from edge_dan.wire.errors import PairingError, PairingRejected, ProtocolError
from edge_dan.wire.messages import decode, encode

AskOwner = Callable[[str, str], Awaitable[str | None]]  # (code, peer fingerprint) -> name or None
PAIRING_TIMEOUT = 120.0  # seconds for the other owner to read the code and answer


async def pair_over(
    channel: SessionChannel,
    peers: Peers,
    identity: Identity,
    *,
    initiator: bool,
    ask_owner: AskOwner,
) -> Peer:
    """Run numeric comparison on ``channel``; the peer kept in ``peers``, or ``PairingError``."""
    handshake = await channel.wait_established()
    comparison = NumericComparison.from_session(
        initiator=initiator,
        handshake_hash=handshake.handshake_hash,
        local_static=identity.static_public_key,
        peer_static=handshake.peer_static_key,
    )

    async def send(data: bytes) -> None:
        await channel.send(decode(data))

    async def step() -> None:
        async with asyncio.timeout(PAIRING_TIMEOUT):
            message = await channel.receive()
        reply = comparison.receive(encode(message))
        if reply is not None:
            await send(reply)

    try:
        if initiator:
            await send(comparison.start())
        while comparison.code is None:
            await step()
        name = await ask_owner(comparison.code, fingerprint(handshake.peer_identity_key))
        await send(comparison.confirm(name is not None))
        if name is None:
            raise PairingRejected("this owner declined the pairing")
        while comparison.result is None:
            await step()
    except (PairingError, TimeoutError) as error:
        if comparison.failure is None or not isinstance(error, PairingRejected):
            with contextlib.suppress(ProtocolError, PairingError):
                await send(comparison.abort_message(str(error)))
        if isinstance(error, TimeoutError):
            raise PairingError("the other owner did not answer in time") from error
        raise
    return peers.add(handshake.peer_identity_key, comparison.result, name)
