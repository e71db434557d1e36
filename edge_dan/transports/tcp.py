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
A connection that breaks the protocol, sends garbage or stalls its handshake is dropped without
affecting any other connection; ``on_error`` (if given) hears why.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

from edge_dan.wire.errors import ConnectionLost, ProtocolError, SessionClosed, SessionStateError
from edge_dan.wire.framing.tcp import TcpDeframer, encode_frame
from edge_dan.wire.messages import CloseCode, Message
from edge_dan.wire.session import (
    Closed,
    HandshakeComplete,
    MessageReceived,
    ProtocolFailure,
    Session,
    State,
)

SessionFactory = Callable[[float], Session]
Handler = Callable[["SessionChannel"], Awaitable[None]]
ErrorHook = Callable[[ProtocolError], None]
READ_CHUNK = 65536
DEFAULT_MAX_INBOX = 256  # received messages held for the application before reading pauses


class SessionChannel:
    """One session over one TCP connection, as an async API. Create through ``connect``/``serve``.

    Received messages wait in a bounded inbox (``max_inbox`` plus at most one 64 KiB read); when
    it is full the channel stops reading the socket, so a slow consumer pushes back on the peer
    instead of growing memory (and a consumer stalled for the dead-peer timeout loses the peer).
    """

    def __init__(
        self,
        session: Session,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        max_inbox: int = DEFAULT_MAX_INBOX,
    ) -> None:
        self._session = session
        self._reader, self._writer = reader, writer
        self._loop = asyncio.get_running_loop()
        self._deframer = TcpDeframer(session.limits.max_frame_size)
        self._inbox: deque[Message] = deque()
        self._max_inbox = max_inbox
        self._wakeup = asyncio.Event()  # the inbox or the end changed
        self._space = asyncio.Event()  # the inbox has room
        self._space.set()
        self._reschedule = asyncio.Event()  # the session's next deadline may have moved earlier
        self._established: asyncio.Future[HandshakeComplete] = self._loop.create_future()
        self._ended = asyncio.Event()
        self._error: ProtocolError | None = None
        self._flush()
        self._tasks = [
            asyncio.create_task(self._read_loop()),
            asyncio.create_task(self._timer_loop()),
        ]

    # -- public API ------------------------------------------------------------------------------

    @property
    def session(self) -> Session:
        return self._session

    @property
    def peer_identity_key(self) -> bytes:
        return self._peer().peer_identity_key

    @property
    def peer_static_key(self) -> bytes:
        return self._peer().peer_static_key

    @property
    def peer_capabilities(self) -> tuple[str, ...]:
        return self._peer().peer_capabilities

    @property
    def handshake_hash(self) -> bytes:
        return self._peer().handshake_hash

    @property
    def error(self) -> ProtocolError | None:
        """Why the channel ended (``SessionClosed`` for an orderly end), None while it runs."""
        return self._error

    async def wait_established(self) -> HandshakeComplete:
        """Wait for the handshake; raises the ``ProtocolError`` that ended it otherwise."""
        return await asyncio.shield(self._established)

    async def send(self, message: Message) -> None:
        """Encrypt and send ``message``; waits while the socket's buffer is full."""
        self._session.tick(self._loop.time())  # a session that just timed out refuses to send
        self._flush()
        if self._error is not None:
            raise self._error
        self._session.send(message)
        self._flush()
        await self._drain()

    async def receive(self) -> Message:
        """The next message; raises ``SessionClosed`` after an orderly end, or the failure."""
        while True:
            if self._inbox:
                message = self._inbox.popleft()
                self._space.set()
                return message
            if self._error is not None:
                raise self._error
            self._wakeup.clear()
            await self._wakeup.wait()

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        while True:
            try:
                yield await self.receive()
            except SessionClosed:
                return

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Close handshake (bounded by the session's ``close_timeout``), then the connection."""
        if not self._ended.is_set():
            self._session.tick(self._loop.time())
            self._session.close(code, reason)
            self._reschedule.set()
            self._flush()
            with contextlib.suppress(ProtocolError):
                await self._drain()
            # The timer task enforces close_timeout; this bound also holds if it is gone.
            with contextlib.suppress(TimeoutError):
                timeout = self._session.limits.close_timeout + 0.5
                await asyncio.wait_for(self._ended.wait(), timeout=timeout)
            self.abort()  # a no-op once ended
        await self._shutdown()

    def abort(self) -> None:
        """End at once without a close handshake: the peer sees the connection drop."""
        if not self._ended.is_set():
            self._writer.transport.abort()
            self._end(ConnectionLost("the session was aborted on this side"))
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()

    async def wait_closed(self) -> None:
        """Wait until the session has ended, whichever side ended it."""
        await self._ended.wait()

    # -- machinery ---------------------------------------------------------------------------

    def _peer(self) -> HandshakeComplete:
        peer = self._session.peer
        if peer is None:
            raise SessionStateError("the handshake has not completed")
        return peer

    def _flush(self) -> None:
        """Write queued frames and handle the session's events; never awaits, so order holds."""
        frames = self._session.frames_to_send()
        if frames and not self._writer.is_closing():
            self._writer.write(b"".join(encode_frame(frame) for frame in frames))
        for event in self._session.events():
            if isinstance(event, HandshakeComplete):
                if not self._established.done():
                    self._established.set_result(event)
            elif isinstance(event, MessageReceived):
                self._inbox.append(event.message)
                if len(self._inbox) >= self._max_inbox:
                    self._space.clear()
            elif isinstance(event, Closed):
                self._end(SessionClosed(event.code, event.reason, event.by_peer))
            elif isinstance(event, ProtocolFailure):
                self._end(event.error)
        self._wakeup.set()

    async def _drain(self) -> None:
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            self._end(ConnectionLost(f"the TCP connection broke: {exc}"))
            raise ConnectionLost(f"the TCP connection broke: {exc}") from exc

    def _end(self, error: ProtocolError) -> None:
        if self._error is not None:
            return
        self._error = error
        if not self._established.done():
            self._established.set_exception(error)
            self._established.exception()  # retrieved: no "never retrieved" warning
        self._ended.set()
        self._wakeup.set()
        self._space.set()
        self._reschedule.set()
        if self._session.state is State.FAILED or isinstance(error, ConnectionLost):
            self._writer.transport.abort()  # nothing more worth sending
        else:
            self._writer.close()  # after the queued Close frame

    async def _read_loop(self) -> None:
        try:
            while not self._ended.is_set():
                await self._space.wait()
                data = await self._reader.read(READ_CHUNK)
                if not data:
                    self._lost("the peer closed the TCP connection")
                    return
                if self._ended.is_set():
                    return
                try:
                    frames = self._deframer.feed(data)
                except ProtocolError as error:
                    self._end(error)
                    return
                now = self._loop.time()
                for frame in frames:
                    self._session.receive_frame(frame, now=now)
                self._flush()
                self._reschedule.set()
                with contextlib.suppress(ProtocolError):
                    await self._drain()
        except (ConnectionError, OSError) as exc:
            self._lost(f"the TCP connection broke: {exc}")

    def _lost(self, what: str) -> None:
        state = self._session.state
        if state not in (State.CLOSED, State.FAILED):
            self._end(ConnectionLost(f"{what} during the {state.value} state"))
        else:
            self._flush()

    async def _timer_loop(self) -> None:
        while not self._ended.is_set():
            deadline = self._session.next_deadline()
            if deadline is None:
                return
            self._reschedule.clear()
            delay = max(0.0, deadline - self._loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reschedule.wait(), timeout=delay)
            if self._ended.is_set():
                return
            self._session.tick(self._loop.time())
            self._flush()

    async def _shutdown(self) -> None:
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if not self._writer.is_closing():
            self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()


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
    channel = SessionChannel(session, reader, writer, max_inbox=max_inbox)
    try:
        await channel.wait_established()
    except BaseException:  # a failed handshake, or the caller cancelled us: leave nothing behind
        await asyncio.shield(channel._shutdown())
        raise
    return channel


class Listener:
    """A running ``serve``: its port, its live channels, and ``close()``."""

    def __init__(self, server: asyncio.Server, channels: set[SessionChannel]) -> None:
        self.server = server
        self.channels = channels

    @property
    def port(self) -> int:
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def close(self) -> None:
        """Stop accepting, end every live session (SHUTTING_DOWN) and wait for them."""
        self.server.close()
        await asyncio.gather(
            *(
                c.close(CloseCode.SHUTTING_DOWN, "server shutting down")
                for c in list(self.channels)
            ),
            return_exceptions=True,
        )
        await self.server.wait_closed()


async def serve(
    host: str,
    port: int,
    session_factory: SessionFactory,
    handler: Handler,
    *,
    max_sessions: int = 64,
    max_inbox: int = DEFAULT_MAX_INBOX,
    on_error: ErrorHook | None = None,
) -> Listener:
    """Accept TCP connections (port 0: any free port), run ``handler(channel)`` per session.

    ``handler`` runs once the handshake completed; the channel is closed when it returns.
    Connections beyond ``max_sessions`` are closed at once. A session that fails (handshake,
    garbage, timeout) is dropped and reported to ``on_error``; others carry on.
    """
    loop = asyncio.get_running_loop()
    channels: set[SessionChannel] = set()

    def report(error: ProtocolError | None) -> None:
        if on_error is not None and error is not None:
            on_error(error)

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(channels) >= max_sessions:
            writer.transport.abort()
            report(ConnectionLost(f"refused a connection: {max_sessions} sessions already run"))
            return
        try:
            session = session_factory(loop.time())
        except BaseException:
            writer.transport.abort()
            raise
        channel = SessionChannel(session, reader, writer, max_inbox=max_inbox)
        channels.add(channel)
        failure: ProtocolError | None = None
        try:
            try:
                await channel.wait_established()
            except ProtocolError as error:
                failure = error  # any end before the handshake completed is worth reporting
                return
            try:
                await handler(channel)
            except SessionClosed:
                pass
            except ProtocolError as error:
                failure = error
        except asyncio.CancelledError:  # the server or the loop shuts down: no goodbyes
            channel.abort()
            raise
        finally:
            await channel.close()
            channels.discard(channel)
            ended = channel.error
            if failure is None and not isinstance(ended, SessionClosed):
                failure = ended
            report(failure)

    server = await asyncio.start_server(on_connect, host, port)
    return Listener(server, channels)
