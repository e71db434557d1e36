"""The transport-agnostic half of a session channel: a sans-IO ``Session`` as an async API.

A ``SessionChannel`` drives the session through the core contract (:mod:`edge_dan.wire.core`):
frames from the link go to ``receive``, what ``take_outgoing`` returns goes to the link, a timer
task calls ``tick`` at the session's ``next_deadline``, and ``take_events`` feeds a bounded inbox
of received messages and the mapping to ``wait_established``, ``receive``, ``close`` and the error
that ended it. What moves the session's frames is a
``FrameLink``: TCP (length-prefixed frames on a stream, ``tcp.py``) and BLE (fragments on a GATT
pipe, ``ble.py``) each provide one, so timers, back-pressure and error handling exist once.

A link writes whole session frames (it frames or fragments them itself) and, from its own tasks
or callbacks, hands received frames to ``frames_received``, a broken link to ``link_lost`` and a
malformed stream to ``link_failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Protocol

from edge_dan.transports.admission import HandshakeGate
from edge_dan.wire.errors import ConnectionLost, ProtocolError, SessionClosed, SessionStateError
from edge_dan.wire.messages import CloseCode, Message
from edge_dan.wire.session import (
    Closed,
    HandshakeComplete,
    MessageReceived,
    ProtocolFailure,
    Session,
    State,
)

DEFAULT_MAX_INBOX = 256  # received messages held for the application before reading pauses
SessionFactory = Callable[[float], Session]  # the event loop's time -> a fresh Session
Handler = Callable[["SessionChannel"], Awaitable[None]]  # runs an accepted, established session
ErrorHook = Callable[[ProtocolError], None]


class FrameLink(Protocol):
    """What a channel needs from the link under it.

    - ``start(channel)``: begin delivering to ``channel``; returns tasks the channel cancels when
      it shuts down (a read loop, a sender).
    - ``write(frames)``: queue whole session frames, in order, without waiting; frames written
      after the link began closing are dropped.
    - ``drain()``: wait until the link took the queued frames (back-pressure for ``send``);
      raises ``ConnectionLost`` if it broke.
    - ``close()``: end the link once the queued frames are out (after an orderly end).
    - ``abort()``: end it now, dropping whatever is queued. Both are idempotent.
    - ``wait_closed()``: wait until the link is released; never raises for a broken link.
    """

    def start(self, channel: SessionChannel) -> list[asyncio.Task[None]]: ...

    def write(self, frames: list[bytes]) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...

    async def wait_closed(self) -> None: ...


class SessionChannel:
    """One session over one link, as an async API. Create through a transport's ``connect``,
    ``serve`` or ``open_gatt_channel``.

    Received messages wait in a bounded inbox (``max_inbox``); links that can pause their peer
    (TCP) stop reading while it is full, so a slow consumer pushes back on the peer instead of
    growing memory (and a consumer stalled for the dead-peer timeout loses the peer).
    """

    def __init__(
        self, session: Session, link: FrameLink, *, max_inbox: int = DEFAULT_MAX_INBOX
    ) -> None:
        self._session = session
        self._link = link
        self._loop = asyncio.get_running_loop()
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
        self._tasks = [*link.start(self), asyncio.create_task(self._timer_loop())]

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

    def has_ended(self) -> bool:
        return self._ended.is_set()

    async def wait_established(self) -> HandshakeComplete:
        """Wait for the handshake; raises the ``ProtocolError`` that ended it otherwise."""
        return await asyncio.shield(self._established)

    async def send(self, message: Message) -> None:
        """Encrypt and send ``message``; waits while the link's buffer is full."""
        self._session.tick(self._loop.time())  # a session that just timed out refuses to send
        self._flush()
        if self._error is not None:
            raise self._error
        self._session.send(message)
        self._flush()
        await self.drain()

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
        """Close handshake (bounded by the session's ``close_timeout``), then the link."""
        if not self._ended.is_set():
            self._session.tick(self._loop.time())
            self._session.close(code, reason)
            self._reschedule.set()
            self._flush()
            with contextlib.suppress(ProtocolError):
                await self.drain()
            # The timer task enforces close_timeout; this bound also holds if it is gone.
            with contextlib.suppress(TimeoutError):
                timeout = self._session.limits.close_timeout + 0.5
                await asyncio.wait_for(self._ended.wait(), timeout=timeout)
            self.abort()  # a no-op once ended
        await self.release()

    def abort(self) -> None:
        """End at once without a close handshake: the peer sees the link drop."""
        if not self._ended.is_set():
            self._link.abort()
            self._end(ConnectionLost("the session was aborted on this side"))
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()

    async def wait_closed(self) -> None:
        """Wait until the session has ended, whichever side ended it."""
        await self._ended.wait()

    async def release(self) -> None:
        """Stop the channel's tasks and wait until the link is let go (after an end or abort)."""
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._link.close()
        await self._link.wait_closed()

    # -- called by the link ----------------------------------------------------------------------

    def frames_received(self, frames: list[bytes]) -> None:
        """Whole session frames arrived from the peer, in order."""
        now = self._loop.time()
        for frame in frames:
            self._session.receive(frame, now)
        self._flush()
        self._reschedule.set()

    def link_lost(self, what: str) -> None:
        """The link went away (``what`` says how); a failure unless the session already ended."""
        if not self._session.finished:
            self._end(ConnectionLost(f"{what} during the {self._session.state.value} state"))
        else:
            self._flush()

    def link_failed(self, error: ProtocolError, *, tell_peer: bool = False) -> None:
        """The peer's bytes broke the link's framing. With ``tell_peer`` an established session
        first queues a Close (PROTOCOL_ERROR) so the peer learns why, on links where the other
        direction still works (BLE fragments)."""
        if tell_peer and self._session.state is State.ESTABLISHED:
            self._session.close(CloseCode.PROTOCOL_ERROR, str(error))
            self._flush()
        self._end(error)

    async def wait_for_inbox_space(self) -> None:
        await self._space.wait()

    async def drain(self) -> None:
        """Wait for the link to take queued frames; a broken link ends the channel."""
        try:
            await self._link.drain()
        except ConnectionLost as error:
            self._end(error)
            if self._error is not None and self._error is not error:
                raise self._error from error  # it had ended already: that says more
            raise

    # -- machinery -------------------------------------------------------------------------------

    def _peer(self) -> HandshakeComplete:
        peer = self._session.peer
        if peer is None:
            raise SessionStateError("the handshake has not completed")
        return peer

    def _flush(self) -> None:
        """Write queued frames and handle the session's events; never awaits, so order holds."""
        frames = self._session.take_outgoing()
        if frames:
            self._link.write(frames)
        for event in self._session.take_events():
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
            self._link.abort()  # nothing more worth sending
        else:
            self._link.close()  # after the queued Close frame

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


async def established(channel: SessionChannel) -> SessionChannel:
    """Wait for ``channel``'s handshake and return it; if it fails, or the caller is cancelled,
    release the channel (leaving nothing behind) and raise."""
    try:
        await channel.wait_established()
    except BaseException:  # a failed handshake, or the caller cancelled us
        await asyncio.shield(channel.release())
        raise
    return channel


async def serve_accepted(
    channel: SessionChannel,
    handler: Handler,
    channels: set[SessionChannel],
    on_error: ErrorHook | None = None,
) -> None:
    """Run ``handler`` on a channel a listener accepted, once its handshake completed; close the
    channel when it returns. ``channels`` holds it meanwhile (so the listener can end it);
    ``on_error`` hears why a session failed (handshake, garbage, timeout), if it did."""
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
    except asyncio.CancelledError:  # the listener or the loop shuts down: no goodbyes
        channel.abort()
        raise
    finally:
        await channel.close()
        channels.discard(channel)
        ended = channel.error
        if failure is None and not isinstance(ended, SessionClosed):
            failure = ended
        if on_error is not None and failure is not None:
            on_error(failure)


class GatedSessions:
    """The sessions one listener accepted, bounded twice: handshakes in progress by a
    ``HandshakeGate`` (a short timeout, a few per source, the oldest silent one shed), and
    sessions whose handshake completed by ``max_sessions``. One policy for every listener
    (TCP, GATT), so a flood of silent peers keeps partners out of none of them."""

    def __init__(
        self,
        gate: HandshakeGate[SessionChannel],
        handler: Handler,
        *,
        max_sessions: int,
        on_error: ErrorHook | None,
    ) -> None:
        self.gate = gate
        self.max_sessions = max_sessions
        self._handler = handler
        self._on_error = on_error
        self.channels: set[SessionChannel] = set()  # every one served, handshakes included
        self.established: set[SessionChannel] = set()

    @property
    def full(self) -> bool:
        return len(self.established) >= self.max_sessions

    def refusal(self, what: str) -> ConnectionLost:
        return ConnectionLost(f"refused {what}: {self.max_sessions} sessions already run")

    async def serve(
        self, channel: SessionChannel, source: str, silent: Callable[[SessionChannel], bool]
    ) -> None:
        """Admit ``channel`` (from ``source``) through the gate, shedding whom it says, give its
        handshake the gate's time, then run the handler once it is established."""
        for shed in self.gate.admit(channel, source, silent):
            shed.abort()  # its own serve sees the handshake fail and reports it
        loop = asyncio.get_running_loop()
        expire = loop.call_later(self.gate.limits.handshake_timeout, channel.abort)

        async def run(channel: SessionChannel) -> None:
            expire.cancel()  # authenticated: the session's own limits apply from here
            self.gate.done(channel)
            if self.full:
                channel.abort()
                raise self.refusal("a session")
            self.established.add(channel)
            try:
                await self._handler(channel)
            finally:
                self.established.discard(channel)

        try:
            await serve_accepted(channel, run, self.channels, self._on_error)
        finally:
            expire.cancel()
            self.gate.done(channel)


async def shut_down(channels: Collection[SessionChannel], reason: str) -> None:
    """End every channel with a close handshake (``SHUTTING_DOWN``), together."""
    await asyncio.gather(
        *(channel.close(CloseCode.SHUTTING_DOWN, reason) for channel in list(channels)),
        return_exceptions=True,
    )
