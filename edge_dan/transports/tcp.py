"""asyncio TCP transport: a ``Session`` over 2-byte length-prefixed frames (``framing.tcp``).

Thin on purpose: the protocol lives in the sans-IO ``Session``; this module moves its frames,
feeds it ``loop.time()`` and turns its events into an async API::

    channel = await connect("127.0.0.1", port, lambda now: Session(Role.INITIATOR, me, now=now))
    await channel.send(message)
    async for message in channel: ...      # ends when the session closes in order
    await channel.close()

    server = await serve("0.0.0.0", port, lambda now: Session(Role.RESPONDER, me, now=now,
                         pattern=None), handler)

``session_factory`` is called with the event loop's current time and returns a fresh ``Session``.
``SessionChannel`` (timers, inbox, events) lives in ``channel.py``; ``TcpLink`` is the TCP part.
A connection that breaks the protocol, sends garbage or stalls its handshake is dropped without
affecting any other connection; ``on_error`` (if given) hears why.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import socket
import sys
import termios

from edge_dan.transports.admission import HandshakeGate, HandshakeLimits
from edge_dan.transports.channel import (
    DEFAULT_MAX_INBOX,
    ErrorHook,
    GatedSessions,
    Handler,
    SessionChannel,
    SessionFactory,
    established,
    shut_down,
)
from edge_dan.wire.errors import ConnectionLost, ProtocolError
from edge_dan.wire.framing.tcp import TcpDeframer, encode_frame
from edge_dan.wire.session import Session

__all__ = [
    "DEFAULT_MAX_INBOX",
    "HandshakeLimits",
    "Listener",
    "SessionChannel",
    "SessionFactory",
    "TcpLink",
    "connect",
    "serve",
]

READ_CHUNK = 65536


class TcpLink:
    """Session frames on a TCP stream: 2-byte length prefixes, reading paused by a full inbox."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_frame_size: int
    ) -> None:
        self._reader, self._writer = reader, writer
        self._deframer = TcpDeframer(max_frame_size)

    def start(self, channel: SessionChannel) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(self._read_loop(channel))]

    def write(self, frames: list[bytes]) -> None:
        if not self._writer.is_closing():
            self._writer.write(b"".join(encode_frame(frame) for frame in frames))

    async def drain(self) -> None:
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            raise ConnectionLost(f"the TCP connection broke: {exc}") from exc

    def close(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()

    def abort(self) -> None:
        self._writer.transport.abort()

    async def wait_closed(self) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()

    async def _read_loop(self, channel: SessionChannel) -> None:
        try:
            while not channel.has_ended():
                await channel.wait_for_inbox_space()
                data = await self._reader.read(READ_CHUNK)
                if not data:
                    channel.link_lost("the peer closed the TCP connection")
                    return
                if channel.has_ended():
                    return
                try:
                    frames = self._deframer.feed(data)
                except ProtocolError as error:
                    channel.link_failed(error)
                    return
                channel.frames_received(frames)
                with contextlib.suppress(ProtocolError):
                    await channel.drain()
        except (ConnectionError, OSError) as exc:
            channel.link_lost(f"the TCP connection broke: {exc}")


def _channel(
    session: Session,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    max_inbox: int,
) -> SessionChannel:
    link = TcpLink(reader, writer, session.limits.max_frame_size)
    return SessionChannel(session, link, max_inbox=max_inbox)


async def connect(
    host: str,
    port: int,
    session_factory: SessionFactory,
    *,
    max_inbox: int = DEFAULT_MAX_INBOX,
) -> SessionChannel:
    """Open a TCP connection and complete the handshake; raises ``ProtocolError`` if it fails.

    The connection attempt itself is bounded by the session's handshake timeout too.
    """
    loop = asyncio.get_running_loop()
    session = session_factory(loop.time())
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), timeout=session.limits.handshake_timeout
        )
    except (OSError, TimeoutError) as exc:
        raise ConnectionLost(f"could not connect to {host}:{port}: {exc}") from exc
    return await established(_channel(session, reader, writer, max_inbox))


class Listener:
    """A running ``serve``: its port, its live channels, and ``close()``.

    ``channels`` holds every connection it serves, handshakes in progress included;
    ``established`` only those whose handshake completed.
    """

    def __init__(
        self,
        server: asyncio.Server,
        channels: set[SessionChannel],
        established: set[SessionChannel] | None = None,
        tasks: set[asyncio.Task[None]] | None = None,
    ) -> None:
        self.server = server
        self.channels = channels
        self.established: set[SessionChannel] = established if established is not None else set()
        self._tasks: set[asyncio.Task[None]] = tasks if tasks is not None else set()

    @property
    def port(self) -> int:
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def close(self) -> None:
        """Stop accepting, end every live session (SHUTTING_DOWN) and wait for them; a handler
        still running after that is cancelled, so nothing of the listener outlives it."""
        self.server.close()
        await shut_down(self.channels, "server shutting down")
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.server.wait_closed()


def _source(writer: asyncio.StreamWriter) -> str:
    """The peer's address, without its port (one host, whatever ports it opens)."""
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "?"


async def serve(
    host: str,
    port: int,
    session_factory: SessionFactory,
    handler: Handler,
    *,
    max_sessions: int = 64,
    handshakes: HandshakeLimits | None = None,
    max_inbox: int = DEFAULT_MAX_INBOX,
    on_error: ErrorHook | None = None,
    sock: socket.socket | None = None,
) -> Listener:
    """Accept TCP connections (port 0: any free port), run ``handler(channel)`` per session.

    ``sock``, instead of ``host`` and ``port``: a socket already bound and listening (the agent
    binds one synchronously when its advertisement rotates, so the new port is known at once).

    ``handler`` runs once the handshake completed; the channel is closed when it returns.
    ``max_sessions`` bounds the sessions whose handshake completed: connections beyond it are
    closed at once. Handshakes in progress are bounded apart (``handshakes``, see
    ``edge_dan.transports.admission``: a short timeout, a few per source address, the oldest
    shed beyond the bounds), so silent connections cannot keep genuine peers out. A session that
    fails (handshake, garbage, timeout, shed) is dropped and reported to ``on_error``; others
    carry on.
    """
    accepting = _Accepting(
        session_factory,
        handler,
        max_sessions=max_sessions,
        handshakes=handshakes,
        max_inbox=max_inbox,
        on_error=on_error,
    )
    if sock is not None:
        server = await asyncio.start_server(accepting.on_connect, sock=sock)
    else:
        server = await asyncio.start_server(accepting.on_connect, host, port)
    sessions = accepting.sessions
    return Listener(server, sessions.channels, sessions.established, accepting.tasks)


class _Accepting:
    """What a ``serve`` does with each connection it accepts (see ``serve``)."""

    def __init__(
        self,
        session_factory: SessionFactory,
        handler: Handler,
        *,
        max_sessions: int,
        handshakes: HandshakeLimits | None,
        max_inbox: int,
        on_error: ErrorHook | None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._session_factory = session_factory
        self._max_inbox = max_inbox
        self._on_error = on_error
        gate: HandshakeGate[SessionChannel] = HandshakeGate(handshakes or HandshakeLimits())
        self.sessions = GatedSessions(gate, handler, max_sessions=max_sessions, on_error=on_error)
        self.tasks: set[asyncio.Task[None]] = set()
        self._links: dict[SessionChannel, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}

    async def on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            # Only the listener's close (or the end of the loop) cancels a connection, and the
            # channel was aborted on the way out. Ended quietly: asyncio's stream callback (3.11)
            # would log a cancelled connection task as an error with its traceback.
            return
        finally:
            self.tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.sessions.full:
            writer.transport.abort()
            if self._on_error is not None:
                self._on_error(self.sessions.refusal("a connection"))
            return
        try:
            session = self._session_factory(self._loop.time())
        except BaseException:
            writer.transport.abort()
            raise
        channel = _channel(session, reader, writer, self._max_inbox)
        self._links[channel] = (reader, writer)
        try:
            await self.sessions.serve(channel, _source(writer), self._silent)
        finally:
            self._links.pop(channel, None)

    def _silent(self, channel: SessionChannel) -> bool:
        """Whether nothing came from this connection yet (neither read nor waiting to be)."""
        link = self._links.get(channel)
        if link is None:
            return True
        reader, writer = link
        if channel.session.pattern is not None:  # a responder learns it from message 1
            return False
        # Bytes the stream read but the channel did not take yet (asyncio keeps no public count).
        if len(getattr(reader, "_buffer", b"")):
            return False
        sock = writer.get_extra_info("socket")
        if sock is None or sock.fileno() < 0:  # closed meanwhile
            return True
        try:  # bytes the kernel holds for us: FIONREAD, without reading them
            waiting = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
        except (OSError, ValueError):
            return True
        return int.from_bytes(waiting, sys.byteorder) == 0
