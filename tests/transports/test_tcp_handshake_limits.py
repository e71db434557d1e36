"""Silent connections cannot keep genuine peers out of a TCP listener (issue #14, defect 2).

Handshakes in progress are bounded apart from established sessions: a short timeout, a few per
source address, the oldest shed beyond the bounds. The flooding host and the genuine peer are
different loopback addresses (127.0.0.2 and 127.0.0.1), or the same one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from test_transport_tcp import HOST, echo, initiator, note, responder, run

from edge_dan.transports.admission import HandshakeGate, HandshakeLimits
from edge_dan.transports.tcp import Listener, connect, serve
from edge_dan.wire.errors import ConnectionLost, ProtocolError

ATTACKER = "127.0.0.2"


@contextlib.asynccontextmanager
async def silent(port: int, count: int, source: str) -> AsyncIterator[list[asyncio.StreamReader]]:
    """``count`` TCP connections from ``source`` that never send a byte."""
    opened: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for _ in range(count):
            opened.append(await asyncio.open_connection(HOST, port, local_addr=(source, 0)))
        await asyncio.sleep(0.1)  # let the listener accept them all
        yield [reader for reader, _ in opened]
    finally:
        for _, writer in opened:
            writer.transport.abort()


async def echoes(listener: Listener) -> None:
    channel = await asyncio.wait_for(connect(HOST, listener.port, initiator()), 5)
    await channel.send(note("hello"))
    assert await channel.receive() == note("hello")
    await channel.close()


@pytest.mark.parametrize("flood_from", [ATTACKER, HOST])
def test_a_partner_gets_in_during_a_flood_of_silent_connections(flood_from: str) -> None:
    async def main() -> None:
        errors: list[ProtocolError] = []
        listener = await serve(HOST, 0, responder(), echo, on_error=errors.append)
        async with silent(listener.port, 64, flood_from):
            for _ in range(3):
                await echoes(listener)
        await listener.close()

    run(main())


def test_a_silent_connection_is_dropped_after_the_handshake_timeout() -> None:
    async def main() -> None:
        limits = HandshakeLimits(handshake_timeout=0.2)
        listener = await serve(HOST, 0, responder(), echo, handshakes=limits)
        async with silent(listener.port, 1, ATTACKER) as (reader,):
            assert await asyncio.wait_for(reader.read(1), 5) == b""  # closed by the listener
        await listener.close()

    run(main())


def test_one_source_holds_at_most_its_share_of_handshakes() -> None:
    async def main() -> None:
        limits = HandshakeLimits(max_pending=16, max_per_source=3)
        listener = await serve(HOST, 0, responder(), echo, handshakes=limits)
        async with silent(listener.port, 10, ATTACKER) as readers:
            # The seven oldest were shed to keep three; the newest three are still open.
            closed = [await asyncio.wait_for(r.read(1), 5) == b"" for r in readers[:7]]
            assert all(closed)
            assert len(listener.channels) == 3 and not listener.established
        await listener.close()

    run(main())


def test_established_sessions_are_counted_apart_from_handshakes() -> None:
    async def main() -> None:
        errors: list[ProtocolError] = []
        listener = await serve(HOST, 0, responder(), echo, max_sessions=1, on_error=errors.append)
        first = await connect(HOST, listener.port, initiator())
        with pytest.raises(ConnectionLost):
            await connect(HOST, listener.port, initiator())
        await first.close()
        await listener.close()
        assert any("sessions already run" in str(e) for e in errors)

    run(main())


def test_the_gate_sheds_the_sources_oldest_then_the_oldest_of_all() -> None:
    gate: HandshakeGate[str] = HandshakeGate(HandshakeLimits(max_pending=4, max_per_source=2))
    assert gate.admit("a1", "A") == [] and gate.admit("a2", "A") == []
    assert gate.admit("a3", "A") == ["a1"]  # A's oldest makes room for A's newest
    assert gate.admit("b1", "B") == [] and gate.admit("c1", "C") == []
    assert gate.admit("d1", "D") == ["a2"]  # full: the oldest of all goes
    gate.done("b1")
    gate.done("b1")  # twice is harmless
    assert len(gate) == 3 and gate.from_source("A") == 1 and gate.from_source("B") == 0
    with pytest.raises(ValueError, match="max_per_source"):
        HandshakeLimits(max_pending=2, max_per_source=3)


def test_the_gate_sheds_a_silent_handshake_before_one_that_sent_something() -> None:
    gate: HandshakeGate[str] = HandshakeGate(HandshakeLimits(max_pending=4, max_per_source=3))
    talking = {"partner"}

    def silent(key: str) -> bool:
        return key not in talking

    gate.admit("partner", "A", silent)  # the oldest, but its first message is waiting
    gate.admit("x1", "A", silent)
    gate.admit("x2", "A", silent)
    assert gate.admit("x3", "A", silent) == ["x1"]
    assert gate.admit("x4", "A", silent) == ["x2"]
    talking.update({"x3", "x4"})
    assert gate.admit("x5", "A", silent) == ["partner"]  # none silent: the oldest goes
