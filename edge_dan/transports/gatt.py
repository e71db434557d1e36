"""Sessions over a BLE GATT pipe: the Noise ``Session`` of TCP, on ``framing.ble`` fragments.

Why it exists: carrying session bytes is the transports' job, whatever the link; this module
turns any backend's ``edge_dan.ble.GattPipe`` on ``AGENT_SERVICE`` (bumble, bleak, BlueZ, either
role) into a ``SessionChannel``::

    pipe = await central.connect(sighting.address, AGENT_SERVICE)   # or a peripheral's accept()
    channel = await open_gatt_channel(pipe, lambda now: Session(Role.INITIATOR, me, now=now))
    await channel.send(message)
    async for message in channel: ...
    await channel.close()

Each session frame is cut by ``BleFragmenter`` at the pipe's ATT MTU as it is *now* (an MTU
exchange may finish after the channel opened, so the MTU is read again before every frame) and
rebuilt by ``BleReassembler``. Write-commands and notifications are never retransmitted, so a
lost, repeated or reordered fragment cannot be repaired: the side that notices tells the peer
(a Close with PROTOCOL_ERROR, since the other direction still works) and ends with the
``FrameError``; the peer ends with ``SessionClosed``. A disconnect ends both with
``ConnectionLost`` (unless the session had already closed in order).

A peripheral accepts sessions with ``serve_gatt`` (a responder session on every pipe it
accepts, then the handler; ``GattListener.close`` ends them), as ``tcp.serve`` does on a port,
with the same bounds on handshakes in progress (``edge_dan.transports.admission``), a central's
address standing for the source address.

Unlike TCP, a GATT peer cannot be paused: received messages queue up beyond ``max_inbox`` if
the application does not read them, bounded in practice by BLE's own throughput.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from edge_dan.ble.gatt import GattPipe
from edge_dan.ble.roles import Peripheral
from edge_dan.lifecycle import cancel_and_wait
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
from edge_dan.wire.errors import ConnectionLost, FrameError
from edge_dan.wire.framing.ble import DEFAULT_MAX_MESSAGE, BleFragmenter, BleReassembler
from edge_dan.wire.session import Session

CLOSE_FLUSH_TIMEOUT = 5.0  # the last fragments (a Close) get this long to leave before we cut
HANDLER_GRACE = 5.0  # handlers get this long to return once their sessions ended at close


class GattLink:
    """Session frames as fragments on a ``GattPipe``, sent one at a time by a sender task."""

    def __init__(self, pipe: GattPipe, max_frame_size: int) -> None:
        if max_frame_size > DEFAULT_MAX_MESSAGE:
            raise ValueError(f"BLE framing carries frames up to {DEFAULT_MAX_MESSAGE} bytes")
        self._pipe = pipe
        self._fragmenter = BleFragmenter(pipe.att_mtu, max_message=max_frame_size)
        self._reassembler = BleReassembler(max_message=max_frame_size)
        self._outgoing: deque[bytes] = deque()
        self._queued = asyncio.Event()  # fragments wait in _outgoing
        self._idle = asyncio.Event()  # _outgoing is empty (or will never empty: the link is down)
        self._idle.set()
        self._closing = False  # disconnect once the queue is empty
        self._lost: str | None = None  # why the link went down
        self._channel: SessionChannel | None = None
        self._released = asyncio.Event()
        self._disconnecting: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self.heard = False  # a fragment came from the peer (it is not a silent connection)

    def start(self, channel: SessionChannel) -> list[asyncio.Task[None]]:
        self._channel = channel
        self._pipe.set_handlers(self._on_fragment, self._on_disconnect)
        # Not handed to the channel: it cancels its tasks at release, and the last frames (a
        # Close) must still go out; ``wait_closed`` bounds how long that takes.
        self._sender = asyncio.create_task(self._send_loop())
        return []

    def write(self, frames: list[bytes]) -> None:
        if self._closing or self._lost is not None:
            return
        for frame in frames:
            self._fragmenter.set_att_mtu(self._pipe.att_mtu)
            self._outgoing.extend(self._fragmenter.fragment(frame))
        self._idle.clear()
        self._queued.set()

    async def drain(self) -> None:
        await self._idle.wait()
        if self._lost is not None:
            raise ConnectionLost(f"the BLE link went down: {self._lost}")

    def close(self) -> None:
        self._closing = True
        self._queued.set()  # wakes the sender, which disconnects once the queue is empty
        if self._sender is None:  # never started: nothing will send the queue
            self._disconnect()

    def abort(self) -> None:
        self._closing = True
        self._outgoing.clear()
        self._idle.set()
        if self._sender is not None:
            self._sender.cancel()
        self._disconnect()

    async def wait_closed(self) -> None:
        sender = self._sender
        if sender is not None and not sender.done():
            try:
                await asyncio.wait_for(asyncio.shield(sender), timeout=CLOSE_FLUSH_TIMEOUT)
            except TimeoutError:  # the stack stalled: cut the link with the rest unsent
                self.abort()
            except asyncio.CancelledError:
                self.abort()
                raise
        self._disconnect()
        await self._released.wait()

    # -- machinery -------------------------------------------------------------------------------

    def _on_fragment(self, fragment: bytes) -> None:
        self.heard = True
        channel = self._channel
        if channel is None or channel.has_ended() or self._reassembler.failed:
            return  # after the end (or the first framing error) nothing from the peer is used
        try:
            frame = self._reassembler.feed(fragment)
        except FrameError as error:
            channel.link_failed(error, tell_peer=True)
            return
        if frame is not None:
            channel.frames_received([frame])

    def _on_disconnect(self, reason: str) -> None:
        if self._lost is None:
            self._lost = reason
        self._outgoing.clear()
        self._idle.set()
        self._queued.set()
        self._released.set()
        if self._channel is not None:
            self._channel.link_lost(f"the BLE link went down ({reason})")

    async def _send_loop(self) -> None:
        while self._lost is None:
            if not self._outgoing:
                self._idle.set()
                if self._closing:
                    break
                self._queued.clear()
                await self._queued.wait()
                continue
            try:
                await self._pipe.send(self._outgoing.popleft())
            except ConnectionLost as error:
                self._on_disconnect(str(error))
                return
            except Exception as error:  # a stack's own error: the link is unusable all the same
                self._on_disconnect(f"the BLE stack failed to send: {error!r}")
                break
        self._disconnect()

    def _disconnect(self) -> None:
        if self._disconnecting is None:
            self._disconnecting = asyncio.create_task(self._disconnect_pipe())

    async def _disconnect_pipe(self) -> None:
        try:
            with contextlib.suppress(ConnectionLost):
                await self._pipe.disconnect()
        finally:
            self._released.set()  # whatever the stack did, nobody waits for this link again


def _channel(pipe: GattPipe, session: Session, max_inbox: int) -> SessionChannel:
    return SessionChannel(
        session, GattLink(pipe, session.limits.max_frame_size), max_inbox=max_inbox
    )


async def open_gatt_channel(
    pipe: GattPipe,
    session_factory: SessionFactory,
    *,
    max_inbox: int = DEFAULT_MAX_INBOX,
) -> SessionChannel:
    """Run a session on a connected GATT pipe and complete its handshake.

    Either role works on either side of the link (usually the central initiates). Raises the
    ``ProtocolError`` that ended the handshake; the pipe is then disconnected.
    """
    return await established(
        _channel(pipe, session_factory(asyncio.get_running_loop().time()), max_inbox)
    )


class GattListener:
    """A running ``serve_gatt``: its live channels, and ``close()``.

    ``channels`` holds every pipe it serves, handshakes in progress included; ``established``
    only those whose handshake completed.
    """

    def __init__(
        self,
        accepting: asyncio.Task[None],
        channels: set[SessionChannel],
        served: set[asyncio.Task[None]],
        established: set[SessionChannel] | None = None,
    ) -> None:
        self._accepting = accepting
        self.channels = channels
        self._served = served
        self.established: set[SessionChannel] = established if established is not None else set()

    async def close(self) -> None:
        """Stop accepting, end every live session (SHUTTING_DOWN) and wait for their handlers
        (cancelled after ``HANDLER_GRACE`` seconds). The peripheral itself stays the caller's."""
        await cancel_and_wait(self._accepting)
        await shut_down(self.channels, "no longer accepting sessions over BLE")
        served = set(self._served)
        if served:
            _, late = await asyncio.wait(served, timeout=HANDLER_GRACE)
            for task in late:
                task.cancel()
            await asyncio.gather(*served, return_exceptions=True)


def _source(pipe: GattPipe) -> str:
    """The central's address (the backends that know it offer ``peer_address``); pipes of a
    backend that does not share one source, so they are bounded together."""
    address = getattr(pipe, "peer_address", None)
    return address if isinstance(address, str) and address else "?"


async def serve_gatt(
    peripheral: Peripheral,
    session_factory: SessionFactory,
    handler: Handler,
    *,
    max_sessions: int = 8,
    handshakes: HandshakeLimits | None = None,
    max_inbox: int = DEFAULT_MAX_INBOX,
    on_error: ErrorHook | None = None,
) -> GattListener:
    """Accept sessions on a started ``peripheral``: a session from ``session_factory`` on each
    pipe it accepts, and ``handler(channel)`` once its handshake completed, as ``tcp.serve`` does
    for connections (the channel is closed when the handler returns).

    ``max_sessions`` bounds the sessions whose handshake completed: pipes beyond it are
    disconnected at once. Handshakes in progress are bounded apart (``handshakes``, see
    ``edge_dan.transports.admission``: a short timeout, a few per central address, the oldest
    silent one shed beyond the bounds), so centrals that connect and say nothing cannot keep
    partners out. A session that fails (handshake, timeout, shed) is reported to ``on_error``.
    """
    accepting = _Accepting(
        session_factory,
        handler,
        max_sessions=max_sessions,
        gate=HandshakeGate(handshakes or HandshakeLimits()),
        max_inbox=max_inbox,
        on_error=on_error,
    )

    async def accept_pipes() -> None:
        while True:
            pipe = await peripheral.accept()
            task = asyncio.create_task(accepting.serve_pipe(pipe))
            accepting.served.add(task)
            task.add_done_callback(accepting.served.discard)

    return GattListener(
        asyncio.create_task(accept_pipes()),
        accepting.sessions.channels,
        accepting.served,
        accepting.sessions.established,
    )


class _Accepting:
    """What a ``serve_gatt`` does with each pipe it accepts (see ``serve_gatt``)."""

    def __init__(
        self,
        session_factory: SessionFactory,
        handler: Handler,
        *,
        max_sessions: int,
        gate: HandshakeGate[SessionChannel],
        max_inbox: int,
        on_error: ErrorHook | None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._session_factory = session_factory
        self._max_inbox = max_inbox
        self._on_error = on_error
        self.sessions = GatedSessions(gate, handler, max_sessions=max_sessions, on_error=on_error)
        self.served: set[asyncio.Task[None]] = set()
        self._links: dict[SessionChannel, GattLink] = {}

    async def serve_pipe(self, pipe: GattPipe) -> None:
        if self.sessions.full:
            await pipe.disconnect()
            if self._on_error is not None:
                self._on_error(self.sessions.refusal("a central"))
            return
        try:
            session = self._session_factory(self._loop.time())
        except BaseException:
            await pipe.disconnect()
            raise
        link = GattLink(pipe, session.limits.max_frame_size)
        channel = SessionChannel(session, link, max_inbox=self._max_inbox)
        self._links[channel] = link
        try:
            await self.sessions.serve(channel, _source(pipe), self._silent)
        finally:
            self._links.pop(channel, None)

    def _silent(self, channel: SessionChannel) -> bool:
        """Whether not a single fragment came from this central yet."""
        link = self._links.get(channel)
        return link is None or not link.heard
