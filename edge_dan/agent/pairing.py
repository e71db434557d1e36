"""Pairing two agents over a live session: numeric comparison with commit and reveal.

The sans-IO ``NumericComparison`` (``edge_dan.pairing.numeric``) runs inside an XX session
between strangers, driven over the channel by the transports' one driver
(``edge_dan.transports.driver``); both owners see the same six digits and answer. What stays here
is the owner's side: ``ask_owner`` gets the code and the peer's fingerprint and returns the name
to keep the peer under, or None to decline. Only when both said yes is the peer kept
(``Peers.add``); the caller then hands over advertising keys in the same session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from edge_dan.identity import Identity, fingerprint
from edge_dan.owner.peers import Peer, Peers
from edge_dan.pairing.numeric import Event, NumericComparison, ShowCode, State
from edge_dan.transports.channel import SessionChannel
from edge_dan.transports.driver import drive_pair
from edge_dan.wire.errors import PairingError

AskOwner = Callable[[str, str], Awaitable[str | None]]  # (code, peer fingerprint) -> name or None
PAIRING_TIMEOUT = 120.0  # seconds for both owners to read the code and answer


async def pair_over(
    channel: SessionChannel,
    peers: Peers,
    identity: Identity,
    *,
    initiator: bool,
    ask_owner: AskOwner,
) -> Peer:
    """Run numeric comparison on ``channel``; the peer kept in ``peers``, or ``PairingError``
    (or the ``ProtocolError`` that ended the session first)."""
    handshake = await channel.wait_established()
    comparison = NumericComparison.from_session(
        initiator=initiator,
        handshake_hash=handshake.handshake_hash,
        local_static=identity.static_public_key,
        peer_static=handshake.peer_static_key,
    )
    name: str | None = None

    async def answer(event: Event) -> None:
        nonlocal name
        if isinstance(event, ShowCode) and comparison.state is State.COMPARE:
            name = await ask_owner(event.code, fingerprint(handshake.peer_identity_key))
            comparison.confirm(name is not None)

    if initiator:
        comparison.start()
    driver = await drive_pair(comparison, channel, on_event=answer, timeout=PAIRING_TIMEOUT)
    if comparison.result is not None and name is not None:
        return peers.add(handshake.peer_identity_key, comparison.result, name)
    if comparison.failure is not None:
        raise comparison.failure
    if driver.timed_out:
        raise PairingError("the other owner did not answer in time")
    raise next(iter(driver.ended.values()), PairingError("the pairing ended unfinished"))
