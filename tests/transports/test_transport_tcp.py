"""The asyncio TCP transport on 127.0.0.1 with ephemeral ports."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest

from edge_dan.identity import Identity
from edge_dan.transports.tcp import HandshakeLimits, Listener, SessionChannel, connect, serve
from edge_dan.wire.errors import (
    ConnectionLost,
    DecryptError,
    FrameError,
    PeerAuthenticationError,
    ProtocolError,
    SessionClosed,
)
from edge_dan.wire.framing.tcp import encode_frame
from edge_dan.wire.messages import CloseCode, Error, ErrorCode, encode
from edge_dan.wire.session import Role, Session, SessionLimits, State

ALICE, BOB, CAROL = Identity.generate(), Identity.generate(), Identity.generate()
HOST = "127.0.0.1"
FAST = SessionLimits(handshake_timeout=2.0, keepalive_interval=0.2, close_timeout=1.0)


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout=20))
    gc.collect()  # a leaked socket or transport warns here, inside the test that leaked it


def note(text: str) -> Error:
    return Error(ErrorCode.INTERNAL, 0, text)


def responder(identity: Identity = BOB, limits: SessionLimits = FAST) -> Callable[[float], Session]:
    return lambda now: Session(Role.RESPONDER, identity, now=now, pattern=None, limits=limits)


def initiator(
    identity: Identity = ALICE,
    pattern: str = "XX",
    rs: bytes | None = None,
    limits: SessionLimits = FAST,
) -> Callable[[float], Session]:
    return lambda now: Session(
        Role.INITIATOR, identity, now=now, pattern=pattern, remote_static=rs, limits=limits
    )


async def echo(channel: SessionChannel) -> None:
    async for message in channel:
        await channel.send(message)


async def start(
    handler: Callable[[SessionChannel], Awaitable[None]] = echo,
    errors: list[ProtocolError] | None = None,
    **kwargs: Any,
) -> Listener:
    hook = errors.append if errors is not None else None
    return await serve(HOST, 0, responder(), handler, on_error=hook, **kwargs)


@pytest.mark.parametrize("pattern", ["XX", "IK"])
def test_handshake_and_a_hundred_messages_each_way(pattern: str) -> None:
    async def main() -> None:
        received_by_server: list[Error] = []

        async def handler(channel: SessionChannel) -> None:
            assert channel.peer_identity_key == ALICE.public_key
            for i in range(100):
                await channel.send(note(f"s{i}"))
            async for message in channel:
                assert isinstance(message, Error)
                received_by_server.append(message)

        listener = await start(handler)
        rs = BOB.static_public_key if pattern == "IK" else None
        channel = await connect(HOST, listener.port, initiator(pattern=pattern, rs=rs))
        assert channel.peer_identity_key == BOB.public_key
        assert channel.peer_static_key == BOB.static_public_key
        for i in range(100):
            await channel.send(note(f"c{i}"))
        got = [await channel.receive() for _ in range(100)]
        assert got == [note(f"s{i}") for i in range(100)]
        await channel.close()
        assert isinstance(channel.error, SessionClosed) and not channel.error.by_peer
        await listener.close()
        assert received_by_server == [note(f"c{i}") for i in range(100)]

    run(main())


def test_server_close_handshake_ends_the_clients_iteration() -> None:
    async def main() -> None:
        async def handler(channel: SessionChannel) -> None:
            await channel.send(note("goodbye"))
            await channel.close(CloseCode.REFUSED, "not today")

        listener = await start(handler)
        channel = await connect(HOST, listener.port, initiator())
        assert [m async for m in channel] == [note("goodbye")]
        error = channel.error
        assert isinstance(error, SessionClosed)
        assert (error.code, error.reason, error.by_peer) == (CloseCode.REFUSED, "not today", True)
        with pytest.raises(SessionClosed):
            await channel.send(note("anyone?"))
        await channel.close()
        await listener.close()

    run(main())


def test_identity_and_static_key_failures_over_tcp() -> None:
    async def main() -> None:
        errors: list[ProtocolError] = []
        listener = await start(errors=errors)
        wrong = CAROL.static_public_key
        with pytest.raises(ProtocolError):
            await connect(HOST, listener.port, initiator(pattern="IK", rs=wrong))
        expect_carol = lambda now: Session(  # noqa: E731
            Role.INITIATOR, ALICE, now=now, expected_peer_identity=CAROL.public_key, limits=FAST
        )
        with pytest.raises(PeerAuthenticationError):
            await connect(HOST, listener.port, expect_carol)
        await asyncio.sleep(0.05)
        await listener.close()
        assert isinstance(errors[0], DecryptError)  # Bob could not read the IK message
        assert isinstance(errors[1], ConnectionLost)  # Alice hung up mid-handshake

    run(main())


def test_peer_disconnect_mid_handshake_is_a_clean_error_on_both_sides() -> None:
    async def main() -> None:
        errors: list[ProtocolError] = []
        listener = await start(errors=errors)
        # A client that sends XX message 1 and hangs up.
        reader, writer = await asyncio.open_connection(HOST, listener.port)
        first = Session(Role.INITIATOR, ALICE, now=0.0).take_outgoing()[0]
        writer.write(encode_frame(first))
        await reader.readexactly(2)  # the server's message 2 is on its way
        writer.close()
        await writer.wait_closed()
        for _ in range(100):
            if errors:
                break
            await asyncio.sleep(0.01)
        assert len(errors) == 1 and isinstance(errors[0], ConnectionLost)
        assert "handshake" in str(errors[0])

        # A server that accepts and hangs up at once.
        async def hang_up(_: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.close()

        rude = await asyncio.start_server(hang_up, HOST, 0)
        port = rude.sockets[0].getsockname()[1]
        with pytest.raises(ConnectionLost, match="handshake"):
            await connect(HOST, port, initiator())
        rude.close()
        await rude.wait_closed()
        await listener.close()

    run(main())


def test_garbage_client_is_dropped_without_affecting_another() -> None:
    async def main() -> None:
        errors: list[ProtocolError] = []
        listener = await start(errors=errors)
        good = await connect(HOST, listener.port, initiator())
        await good.send(note("before"))
        assert await good.receive() == note("before")
        for garbage in (os.urandom(3000), b"\x00\x00junk", encode_frame(os.urandom(500))):
            reader, writer = await asyncio.open_connection(HOST, listener.port)
            writer.write(garbage)
            # The server hangs up: read until EOF (it may have sent its handshake message first).
            assert len(await asyncio.wait_for(reader.read(-1), timeout=5)) < 1000
            writer.close()
        await good.send(note("after"))
        assert await good.receive() == note("after")
        assert good.session.state is State.ESTABLISHED
        await good.close()
        await listener.close()
        assert len(errors) == 3
        assert all(isinstance(e, ProtocolError) for e in errors)
        assert any(isinstance(e, FrameError) for e in errors)

    run(main())


def test_stalled_handshake_times_out() -> None:
    async def main() -> None:
        errors: list[ProtocolError] = []
        limits = SessionLimits(handshake_timeout=0.2)
        listener = await serve(HOST, 0, responder(limits=limits), echo, on_error=errors.append)
        reader, writer = await asyncio.open_connection(HOST, listener.port)
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(-1), timeout=5) == b""
        assert 0.15 < time.monotonic() - started < 2.0
        writer.close()
        await listener.close()
        (error,) = errors
        assert isinstance(error, SessionClosed) and error.code == CloseCode.TIMEOUT

    run(main())


def test_keepalives_keep_an_idle_session_open() -> None:
    async def main() -> None:
        listener = await start()
        channel = await connect(HOST, listener.port, initiator())
        await asyncio.sleep(1.0)  # five keepalive intervals, three make a dead peer
        assert channel.session.state is State.ESTABLISHED and channel.error is None
        await channel.send(note("still there?"))
        assert await channel.receive() == note("still there?")
        await channel.close()
        await listener.close()

    run(main())


def test_silent_peer_is_declared_dead_over_tcp() -> None:
    async def main() -> None:
        # A "server" that completes the handshake by hand and then never reads again.
        async def zombie(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            session = Session(Role.RESPONDER, BOB, now=0.0)
            header = await reader.readexactly(2)
            session.receive(await reader.readexactly(int.from_bytes(header, "big")), 0.0)
            writer.write(b"".join(encode_frame(f) for f in session.take_outgoing()))
            try:
                await asyncio.sleep(5)
            finally:
                writer.close()

        server = await asyncio.start_server(zombie, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        channel = await connect(HOST, port, initiator())
        started = time.monotonic()
        await channel.wait_closed()
        elapsed = time.monotonic() - started
        assert isinstance(channel.error, SessionClosed)
        assert channel.error.code == CloseCode.TIMEOUT
        assert 0.5 <= elapsed < 2.0  # 3 intervals of 0.2 s
        await channel.close()
        server.close()

    run(main())


def test_max_sessions_is_enforced() -> None:
    async def main() -> None:
        errors: list[ProtocolError] = []
        listener = await start(errors=errors, max_sessions=2)
        first = await connect(HOST, listener.port, initiator())
        second = await connect(HOST, listener.port, initiator())
        with pytest.raises(ConnectionLost):
            await connect(HOST, listener.port, initiator())
        await first.send(note("ok"))
        assert await first.receive() == note("ok")
        for channel in (first, second):
            await channel.close()
        await listener.close()
        assert any("sessions already run" in str(e) for e in errors)

    run(main())


def test_handshake_time_over_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    """Rough figure for the report: XX and IK connect-to-established over loopback TCP."""
    figures: dict[str, float] = {}

    async def main() -> None:
        listener = await start()
        for pattern in ("XX", "IK"):
            rs = BOB.static_public_key if pattern == "IK" else None
            times = []
            for _ in range(20):
                started = time.perf_counter()
                channel = await connect(HOST, listener.port, initiator(pattern=pattern, rs=rs))
                times.append(time.perf_counter() - started)
                await channel.close()
            figures[pattern] = statistics.median(times) * 1000
        await listener.close()

    run(main())
    with capsys.disabled():
        print(f"\nloopback TCP handshake, median of 20: {figures}")
    assert all(ms < 500 for ms in figures.values())


def test_fifty_concurrent_clients_a_hundred_messages_each() -> None:
    async def main() -> None:
        errors: list[ProtocolError] = []
        # Fifty handshakes at once from one address: more than a listener allows one host by
        # default (test_tcp_handshake_limits), so this load test raises the per-source bound.
        one_host = HandshakeLimits(max_pending=64, max_per_source=64)
        # What is tested is that every message arrives in order, not liveness: keepalives of
        # 0.2 s (dead after 0.6 s) end sessions whenever a loaded 2-core machine stalls the
        # loop that long, so this test gives the peers the default intervals.
        calm = SessionLimits(handshake_timeout=10.0, close_timeout=2.0)
        listener = await serve(
            HOST, 0, responder(limits=calm), echo, on_error=errors.append,
            max_sessions=64, handshakes=one_host,
        )  # fmt: skip
        clients = [Identity.generate() for _ in range(50)]

        async def client(me: Identity, n: int) -> None:
            channel = await connect(HOST, listener.port, initiator(me, limits=calm))
            for i in range(100):
                await channel.send(note(f"{n}:{i}"))
            got = [await channel.receive() for _ in range(100)]
            assert got == [note(f"{n}:{i}") for i in range(100)]
            await channel.close()

        started = time.perf_counter()
        await asyncio.gather(*(client(me, n) for n, me in enumerate(clients)))
        elapsed = time.perf_counter() - started
        await listener.close()
        assert errors == []
        assert not listener.channels
        print(f"\n50 clients x 100 echoed messages over loopback TCP: {elapsed:.2f} s")

    run(main())


def test_cancelled_connect_leaves_nothing_behind() -> None:
    async def main() -> None:
        async def mute(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await asyncio.sleep(5)
            finally:
                writer.close()

        server = await asyncio.start_server(mute, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(connect(HOST, port, initiator()), timeout=0.2)
        server.close()

    run(main())  # run() collects garbage: a leaked socket would warn (an error under -W error)


def test_oversize_frame_header_is_refused_before_buffering() -> None:
    async def main() -> None:
        errors: list[ProtocolError] = []
        limits = SessionLimits(max_frame_size=1024)
        listener = await serve(HOST, 0, responder(limits=limits), echo, on_error=errors.append)
        reader, writer = await asyncio.open_connection(HOST, listener.port)
        writer.write((2000).to_bytes(2, "big"))  # announces 2000 bytes it never needs to send
        assert await asyncio.wait_for(reader.read(-1), timeout=5) == b""
        writer.close()
        await listener.close()
        (error,) = errors
        assert isinstance(error, FrameError) and "limit 1024" in str(error)

    run(main())


def test_a_slow_reader_pushes_back_with_a_bounded_inbox() -> None:
    async def main() -> None:
        sent = 0

        async def flood(channel: SessionChannel) -> None:
            nonlocal sent
            for i in range(2000):
                await channel.send(note(f"flood {i}"))
                sent += 1
            await channel.wait_closed()

        listener = await start(flood)
        channel = await connect(HOST, listener.port, initiator(), max_inbox=8)
        await asyncio.sleep(0.5)  # not reading: the server's writes back up in TCP buffers
        inbox = len(channel._inbox)
        smallest_frame = 2 + 16 + len(encode(note("flood 0")))
        assert inbox <= 8 + 65536 // smallest_frame  # the bound plus one read's worth of frames
        got = [await channel.receive() for _ in range(2000)]
        assert got[-1] == note("flood 1999") and sent == 2000
        await channel.close()
        await listener.close()

    run(main())


def test_closing_the_listener_ends_every_handler_quietly(caplog: pytest.LogCaptureFixture) -> None:
    """A handler that does not return when its session closes is cancelled by ``close()``:
    nothing of the listener outlives it and ``asyncio.run`` has nothing to cancel and log."""

    async def stubborn(channel: SessionChannel) -> None:
        while True:
            with contextlib.suppress(ProtocolError):
                await channel.receive()
            await asyncio.sleep(0.01)

    async def main() -> None:
        listener = await start(stubborn)
        clients = [await connect(HOST, listener.port, initiator()) for _ in range(3)]
        await asyncio.wait_for(listener.close(), 10)
        for client in clients:
            await client.close()
        current = asyncio.current_task()
        assert [task for task in asyncio.all_tasks() if task is not current] == []

    with caplog.at_level("ERROR", logger="asyncio"):
        asyncio.run(main())
    assert [record.getMessage() for record in caplog.records] == []
