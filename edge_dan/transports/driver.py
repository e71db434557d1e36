"""The one asyncio driver for message-level protocol cores: a core over session channels.

Any core that follows the contract of :mod:`edge_dan.wire.core` with messages as its items (a
negotiation party, numeric comparison) runs here over one or many ``SessionChannel``s, keyed by
the peer's identity key (the key the channel's handshake proved)::

    async with CoreDriver(party, {key: channel for ...}, clock=time.time) as driver:
        async for event in driver.events():
            ...  # act on the event; may call the core (an owner's answer)

or, with a callback, ``await drive(party, channels, on_event=handle, clock=time.time)``.

The driver feeds ``receive`` what each channel delivers (with the sender's key), ticks the core
when its ``next_deadline`` comes (and at least every ``tick_interval`` seconds, so a clock that
jumps is seen), sends every outgoing message on its recipient's channel and hands each event to
the caller, until the core finishes, ``timeout`` seconds pass, or no peer can reach the core any
more (every channel ended, after delivering what it held; with no channel at all, when no timer
is pending). A core whose every session ended is over: its deadline, however far, no longer keeps
the driver (and whatever the core holds) alive. Events are handed over one at a time and the
core is not touched meanwhile: what the caller does to the core (``decide``, ``confirm``) is sent
before anything else is received. A two-party core whose items are plain messages runs through
:class:`OnePeer` (or :func:`drive_pair`).

Reading: the driver keeps at most one ``receive`` waiting per channel and starts it only when it
can take the message, so it never reads a message it would not hand to the core; when it stops,
the waiting reads are cancelled and the channels stay usable for whatever comes next (a message
that had already arrived on another channel as the core finished goes to the core, which ignores
it once finished). A message for a peer without a channel, or whose channel ended, is dropped:
the core's own deadline covers a peer it cannot reach. The driver never closes a channel.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Generic, TypeVar

from edge_dan.transports.channel import SessionChannel
from edge_dan.wire.core import Core, Incoming, Outgoing
from edge_dan.wire.errors import ProtocolError
from edge_dan.wire.messages import Message

E = TypeVar("E")
TICK_INTERVAL = 0.25  # seconds between ticks when no deadline comes sooner


class OnePeer(Generic[E]):
    """A two-party core (plain messages in and out) as a core of addressed messages, for the
    driver: what ``peer`` sends goes to ``core``, what ``core`` sends goes to ``peer``; anything
    from another sender is dropped."""

    def __init__(self, core: Core[Message, Message, E], peer: bytes) -> None:
        self.core = core
        self.peer = peer

    @property
    def finished(self) -> bool:
        return self.core.finished

    def receive(self, item: Incoming, now: float) -> None:
        if item.sender == self.peer:
            self.core.receive(item.message, now)

    def tick(self, now: float) -> None:
        self.core.tick(now)

    def next_deadline(self) -> float | None:
        return self.core.next_deadline()

    def take_outgoing(self) -> list[Outgoing]:
        return [Outgoing(self.peer, message) for message in self.core.take_outgoing()]

    def take_events(self) -> Sequence[E]:
        return self.core.take_events()


class CoreDriver(Generic[E]):
    """Runs ``core`` over ``channels`` (peer key -> channel); see the module docstring.

    ``clock``: the time the core expects, in seconds (default: the event loop's monotonic clock;
    negotiation parties want wall-clock time). ``timeout``: seconds, on the event loop's clock,
    after which the driver stops even if the core has not finished (None: no limit); the time
    the caller takes over an event (an owner thinking) does not count, only the driver's own.

    After a run: ``timed_out`` says the timeout stopped it, ``ended`` holds the error that ended
    each channel that ended meanwhile (``SessionClosed`` for an orderly end).
    """

    def __init__(
        self,
        core: Core[Incoming, Outgoing, E],
        channels: Mapping[bytes, SessionChannel],
        *,
        clock: Callable[[], float] | None = None,
        timeout: float | None = None,
        tick_interval: float = TICK_INTERVAL,
    ) -> None:
        if tick_interval <= 0 or (timeout is not None and timeout < 0):
            raise ValueError("tick_interval must be positive and timeout not negative")
        self.core = core
        self.channels = dict(channels)
        self.timed_out = False
        self.ended: dict[bytes, ProtocolError] = {}
        self._loop = asyncio.get_running_loop()
        self._clock = clock or self._loop.time
        self._stop_at = None if timeout is None else self._loop.time() + timeout
        self._tick_interval = tick_interval
        self._reads: dict[bytes, asyncio.Task[Message]] = {}

    async def __aenter__(self) -> CoreDriver[E]:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def events(self) -> AsyncIterator[E]:
        """Every event of the core, in order, until the driver stops (see the module docstring).

        Use inside ``async with`` (or call ``aclose`` after), so the waiting reads are cancelled.
        """
        while True:
            await self._send_outgoing()
            while events := self.core.take_events():
                for event in events:
                    handed = self._loop.time()
                    yield event
                    if self._stop_at is not None:  # the caller's time does not count
                        self._stop_at += self._loop.time() - handed
                    await self._send_outgoing()  # what the caller made the core say
            if self._should_stop():
                return
            await self._step()

    async def run(self, on_event: Callable[[E], Awaitable[None]] | None = None) -> CoreDriver[E]:
        """Drive until the core finishes (or the driver stops); ``on_event`` gets every event."""
        try:
            async for event in self.events():
                if on_event is not None:
                    await on_event(event)
        finally:
            await self.aclose()
        return self

    async def aclose(self) -> None:
        """Cancel the waiting reads; a read that had already completed is handed to the core."""
        reads, self._reads = self._reads, {}
        for task in reads.values():
            task.cancel()
        await asyncio.gather(*reads.values(), return_exceptions=True)
        for peer, task in reads.items():
            if not task.cancelled():
                self._take(peer, task)

    # -- machinery -------------------------------------------------------------------------------

    def _should_stop(self) -> bool:
        if self.core.finished:
            return True
        if self._stop_at is not None and self._loop.time() >= self._stop_at:
            self.timed_out = True
            return True
        if len(self.ended) < len(self.channels):
            return False
        return bool(self.channels) or self.core.next_deadline() is None

    async def _send_outgoing(self) -> None:
        for out in self.core.take_outgoing():
            channel = self.channels.get(out.recipient)
            if channel is not None and out.recipient not in self.ended:
                with contextlib.suppress(ProtocolError):  # its reader learns why it ended
                    await channel.send(out.message)

    async def _step(self) -> None:
        """Wait for a message on any channel or for the next tick, and feed it to the core."""
        for peer, channel in self.channels.items():
            if peer not in self._reads and peer not in self.ended:
                self._reads[peer] = asyncio.ensure_future(channel.receive())
        if self._reads:
            done, _ = await asyncio.wait(
                self._reads.values(), timeout=self._wait(), return_when=asyncio.FIRST_COMPLETED
            )
        else:
            await asyncio.sleep(self._wait())
            done = set()
        self._tick_if_due(force=not done)
        for peer, task in list(self._reads.items()):
            if task in done:
                del self._reads[peer]
                self._take(peer, task)

    def _take(self, peer: bytes, task: asyncio.Task[Message]) -> None:
        error = task.exception()
        if isinstance(error, ProtocolError):
            self.ended[peer] = error
        elif error is not None:
            raise error
        else:
            self.core.receive(Incoming(peer, task.result()), self._clock())

    def _wait(self) -> float:
        """Seconds until the core's next deadline, the tick interval or the timeout."""
        wait = self._tick_interval
        deadline = self.core.next_deadline()
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - self._clock()))
        if self._stop_at is not None:
            wait = min(wait, max(0.0, self._stop_at - self._loop.time()))
        return wait

    def _tick_if_due(self, *, force: bool) -> None:
        now = self._clock()
        deadline = self.core.next_deadline()
        if force or (deadline is not None and now >= deadline):
            self.core.tick(now)


async def drive(
    core: Core[Incoming, Outgoing, E],
    channels: Mapping[bytes, SessionChannel],
    *,
    on_event: Callable[[E], Awaitable[None]] | None = None,
    clock: Callable[[], float] | None = None,
    timeout: float | None = None,
    tick_interval: float = TICK_INTERVAL,
) -> CoreDriver[E]:
    """Run ``core`` over ``channels`` until it finishes; the driver, to read how it stopped."""
    driver = CoreDriver(core, channels, clock=clock, timeout=timeout, tick_interval=tick_interval)
    return await driver.run(on_event)


async def drive_pair(
    core: Core[Message, Message, E],
    channel: SessionChannel,
    *,
    on_event: Callable[[E], Awaitable[None]] | None = None,
    clock: Callable[[], float] | None = None,
    timeout: float | None = None,
    tick_interval: float = TICK_INTERVAL,
) -> CoreDriver[E]:
    """Run a two-party ``core`` over one established ``channel`` (see :class:`OnePeer`)."""
    peer = channel.peer_identity_key
    return await drive(
        OnePeer(core, peer),
        {peer: channel},
        on_event=on_event,
        clock=clock,
        timeout=timeout,
        tick_interval=tick_interval,
    )
