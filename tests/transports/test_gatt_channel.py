"""Sessions over a GATT pipe on an in-memory pipe pair (no BLE stack): framing and endings.

``MemoryPipe`` keeps the ``GattPipe`` contract (ordered delivery on the event loop, one
disconnect callback per side) so the channel's behaviour can be checked without bumble; the
tests over bumble (``test_gatt_over_bumble``) reuse ``Blob``, ``blob_messages`` and ``exchange``
from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import pytest

from edge_dan.ble.gatt import DisconnectHandler, ValueHandler
from edge_dan.identity import Identity
from edge_dan.transports.channel import SessionChannel
from edge_dan.transports.gatt import open_gatt_channel
from edge_dan.wire.errors import (
    ConnectionLost,
    FrameError,
    PeerAuthenticationError,
    ProtocolError,
    SessionClosed,
)
from edge_dan.wire.framing.ble import MIN_ATT_MTU, chunk_size
from edge_dan.wire.messages import Bytes, CloseCode, Message, Wire, register, schema
from edge_dan.wire.session import Role, Session, SessionLimits

ALICE, BOB, CAROL = Identity.generate(), Identity.generate(), Identity.generate()
FAST = SessionLimits(handshake_timeout=5.0, keepalive_interval=2.0, close_timeout=1.0)
MAX_BLOB = 20 * 1024


@dataclass(frozen=True)
class Blob(Message):
    """A test-only message carrying bytes; registered per test by the ``blob`` fixture."""

    TYPE_ID: ClassVar[int] = 0xFFE1
    data: Annotated[bytes, Wire(0, Bytes(MAX_BLOB))]


@pytest.fixture
def blob(monkeypatch: pytest.MonkeyPatch) -> type[Blob]:
    monkeypatch.setattr(schema, "_REGISTRY", dict(schema._REGISTRY))
    return register(Blob)


def blob_messages(count: int, seed: int) -> list[Blob]:
    """``count`` messages from 0 bytes to 20 KB, shuffled, each with distinct content."""
    rng = random.Random(seed)
    sizes = [i * MAX_BLOB // (count - 1) for i in range(count)]
    rng.shuffle(sizes)
    return [Blob(rng.randbytes(size)) for size in sizes]


async def exchange(a: SessionChannel, b: SessionChannel, count: int = 100) -> None:
    """Both sides send ``count`` blobs at once; each must get the other's, whole and in order."""
    from_a, from_b = blob_messages(count, seed=1), blob_messages(count, seed=2)

    async def send_all(channel: SessionChannel, messages: list[Blob]) -> None:
        for message in messages:
            await channel.send(message)

    async def receive_all(channel: SessionChannel) -> list[Message]:
        return [await channel.receive() for _ in range(count)]

    _, _, got_by_b, got_by_a = await asyncio.gather(
        send_all(a, from_a), send_all(b, from_b), receive_all(b), receive_all(a)
    )
    assert got_by_b == from_a
    assert got_by_a == from_b


def run(coro: Coroutine[Any, Any, None], timeout: float = 60) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout=timeout))
    gc.collect()


def initiator(
    identity: Identity = ALICE, limits: SessionLimits = FAST, **kwargs: Any
) -> Callable[[float], Session]:
    return lambda now: Session(Role.INITIATOR, identity, now=now, limits=limits, **kwargs)


def responder(identity: Identity = BOB, limits: SessionLimits = FAST) -> Callable[[float], Session]:
    return lambda now: Session(Role.RESPONDER, identity, now=now, pattern=None, limits=limits)


class MemoryPipe:
    """One end of an in-memory GATT link; ``drop`` holds indexes of sent fragments to lose."""

    def __init__(self, att_mtu: int) -> None:
        self.att_mtu = att_mtu
        self.peer: MemoryPipe | None = None
        self.sent: list[bytes] = []
        self.drop: set[int] = set()
        self.fail_at: int | None = None  # the stack raises its own error on this send
        self.disconnects = 0
        self._on_fragment: ValueHandler | None = None
        self._on_disconnect: DisconnectHandler | None = None
        self._early: list[bytes] = []
        self._down: str | None = None

    async def send(self, fragment: bytes) -> None:
        if self._down is not None:
            raise ConnectionLost(f"the memory link is down: {self._down}")
        assert len(fragment) <= self.att_mtu - 3, "a fragment must fit one ATT packet"
        index = len(self.sent)
        if index == self.fail_at:
            raise RuntimeError("controller buffer overflow")
        self.sent.append(fragment)
        if index not in self.drop:
            assert self.peer is not None
            asyncio.get_running_loop().call_soon(self.peer.arrive, fragment)
        await asyncio.sleep(0)  # a real stack yields too

    def arrive(self, fragment: bytes) -> None:
        if self._down is not None:
            return
        if self._on_fragment is None:
            self._early.append(fragment)
        else:
            self._on_fragment(fragment)

    def set_handlers(self, on_fragment: ValueHandler, on_disconnect: DisconnectHandler) -> None:
        self._on_fragment, self._on_disconnect = on_fragment, on_disconnect
        for fragment in self._early:
            asyncio.get_running_loop().call_soon(on_fragment, fragment)
        self._early.clear()

    async def disconnect(self) -> None:
        if self._down is None:
            self.disconnects += 1
            self.went_down("disconnected by this side")
            assert self.peer is not None
            asyncio.get_running_loop().call_soon(self.peer.went_down, "disconnected by the peer")

    def went_down(self, reason: str) -> None:
        if self._down is None:
            self._down = reason
            if self._on_disconnect is not None:
                self._on_disconnect(reason)


def pipe_pair(mtu_a: int = MIN_ATT_MTU, mtu_b: int = MIN_ATT_MTU) -> tuple[MemoryPipe, MemoryPipe]:
    a, b = MemoryPipe(mtu_a), MemoryPipe(mtu_b)
    a.peer, b.peer = b, a
    return a, b


async def open_pair(
    a: MemoryPipe, b: MemoryPipe, **kwargs: Any
) -> tuple[SessionChannel, SessionChannel]:
    return await asyncio.gather(
        open_gatt_channel(a, initiator(**kwargs)), open_gatt_channel(b, responder())
    )


@pytest.mark.usefixtures("blob")
@pytest.mark.parametrize(("mtu_a", "mtu_b"), [(23, 23), (185, 247), (517, 23)])
def test_a_hundred_blobs_each_way_arrive_whole_and_in_order(mtu_a: int, mtu_b: int) -> None:
    async def main() -> None:
        pipe_a, pipe_b = pipe_pair(mtu_a, mtu_b)
        a, b = await open_pair(pipe_a, pipe_b)
        assert a.peer_identity_key == BOB.public_key and b.peer_identity_key == ALICE.public_key
        await exchange(a, b)
        # every fragment but a message's last is full: the chunk size follows each side's MTU
        assert max(map(len, pipe_a.sent)) == chunk_size(mtu_a) + 2
        assert max(map(len, pipe_b.sent)) == chunk_size(mtu_b) + 2
        await a.close()
        await b.wait_closed()
        await b.close()
        assert isinstance(a.error, SessionClosed) and not a.error.by_peer
        assert isinstance(b.error, SessionClosed) and b.error.by_peer
        assert pipe_a.disconnects + pipe_b.disconnects >= 1  # the link is let go after the end

    run(main())


@pytest.mark.usefixtures("blob")
def test_a_larger_mtu_after_the_handshake_is_used_from_the_next_message() -> None:
    async def main() -> None:
        pipe_a, pipe_b = pipe_pair(23, 23)
        a, b = await open_pair(pipe_a, pipe_b)
        await a.send(Blob(bytes(1000)))
        assert await b.receive() == Blob(bytes(1000))
        assert max(map(len, pipe_a.sent)) == 20
        pipe_a.att_mtu = 247  # the MTU exchange finished late
        before = len(pipe_a.sent)
        await a.send(Blob(bytes(1000)))
        assert await b.receive() == Blob(bytes(1000))
        assert max(map(len, pipe_a.sent[before:])) == 244
        await a.close()
        await b.close()

    run(main())


async def a_lost_fragment_ends_both(
    sender: SessionChannel, receiver: SessionChannel, message: Message
) -> None:
    """``sender`` sends ``message`` and one of its fragments is lost: the receiver fails with a
    sequence gap and tells the sender why, on the direction that still works."""
    with contextlib.suppress(SessionClosed):  # the end may overtake the send itself
        await sender.send(message)
    with pytest.raises(FrameError, match="BLE sequence gap"):
        await receiver.receive()
    with pytest.raises(SessionClosed) as closed:
        await sender.receive()
    assert closed.value.by_peer and closed.value.code == CloseCode.PROTOCOL_ERROR
    assert "sequence gap" in closed.value.reason


@pytest.mark.usefixtures("blob")
@pytest.mark.parametrize("dropped_by", ["initiator", "responder"])
def test_a_lost_fragment_ends_both_sides_with_a_clear_error(dropped_by: str) -> None:
    async def main() -> None:
        pipe_a, pipe_b = pipe_pair(23, 23)
        a, b = await open_pair(pipe_a, pipe_b)
        sender, receiver = (a, b) if dropped_by == "initiator" else (b, a)
        sender_pipe = pipe_a if sender is a else pipe_b
        sender_pipe.drop.add(len(sender_pipe.sent) + 3)  # the fourth fragment of the next message
        await a_lost_fragment_ends_both(sender, receiver, Blob(bytes(500)))
        await a.close()
        await b.close()

    run(main())


@pytest.mark.usefixtures("blob")
def test_a_disconnect_mid_message_ends_both_sides() -> None:
    async def main() -> None:
        pipe_a, pipe_b = pipe_pair(23, 23)
        a, b = await open_pair(pipe_a, pipe_b)
        sending = asyncio.create_task(a.send(Blob(bytes(MAX_BLOB))))
        while len(pipe_a.sent) < 50:  # well inside the message (about 1100 fragments)
            await asyncio.sleep(0)
        await pipe_b.disconnect()
        with pytest.raises(ConnectionLost, match="BLE link went down"):
            await sending
        for channel in (a, b):
            with pytest.raises(ConnectionLost, match="during the established state"):
                await channel.receive()
        await a.close()
        await b.close()

    run(main())


def test_a_failed_handshake_raises_and_lets_the_link_go() -> None:
    async def main() -> None:
        pipe_a, pipe_b = pipe_pair()
        results = await asyncio.gather(
            open_gatt_channel(pipe_a, initiator(expected_peer_identity=CAROL.public_key)),
            open_gatt_channel(pipe_b, responder()),
            return_exceptions=True,
        )
        assert isinstance(results[0], PeerAuthenticationError)
        assert isinstance(results[1], ProtocolError)
        assert pipe_a.disconnects + pipe_b.disconnects >= 1

    run(main())


@pytest.mark.usefixtures("blob")
def test_a_frame_over_the_session_limit_is_refused_while_it_is_still_arriving() -> None:
    async def main() -> None:
        small = SessionLimits(max_frame_size=1024, handshake_timeout=3.0, close_timeout=1.0)
        pipe_a, pipe_b = pipe_pair(23, 23)
        a, b = await asyncio.gather(
            open_gatt_channel(pipe_a, initiator()),
            open_gatt_channel(
                pipe_b,
                lambda now: Session(Role.RESPONDER, BOB, now=now, pattern=None, limits=small),
            ),
        )
        with contextlib.suppress(SessionClosed):
            await a.send(Blob(bytes(5000)))
        with pytest.raises(FrameError, match="exceeds the limit of 1024"):
            await b.receive()
        # (the reassembler refused it mid-message: the session would say "limit 1024")
        with pytest.raises(SessionClosed, match="limit of 1024"):
            await a.receive()
        await a.close()
        await b.close()

    run(main())


@pytest.mark.usefixtures("blob")
def test_a_stack_error_while_sending_ends_both_sides_instead_of_hanging() -> None:
    async def main() -> None:
        pipe_a, pipe_b = pipe_pair(23, 23)
        a, b = await open_pair(pipe_a, pipe_b)
        pipe_a.fail_at = len(pipe_a.sent) + 10
        with pytest.raises(ConnectionLost, match="BLE stack failed to send"):
            await a.send(Blob(bytes(1000)))
        with pytest.raises(ConnectionLost, match="controller buffer overflow"):
            await a.receive()
        with pytest.raises(ConnectionLost, match="disconnected by the peer"):
            await b.receive()
        await a.close()
        await b.close()

    run(main())
