"""The one driver of message-level cores, over real sessions on 127.0.0.1: pairing and a
three-party negotiation end to end, owners answering through events, deadlines by ticks, a
timeout, a peer that leaves, and nothing read that the core did not take."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from typing import Any

from edge_dan.identity import Identity
from edge_dan.negotiation.domain.outcomes import DiscreteIssue, OutcomeSpace, Value
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility, Profile
from edge_dan.negotiation.protocols.core import Agreed, Event, Failed
from edge_dan.negotiation.protocols.mediated import Mediator, Participant
from edge_dan.negotiation.strategy import LittleDan
from edge_dan.pairing.numeric import Event as PairingEvent
from edge_dan.pairing.numeric import NumericComparison, PairingFailed, ShowCode, State
from edge_dan.transports.driver import CoreDriver, OnePeer, drive, drive_pair
from edge_dan.transports.tcp import SessionChannel, connect, serve
from edge_dan.wire.core import Incoming
from edge_dan.wire.errors import SessionClosed
from edge_dan.wire.messages import Error, ErrorCode
from edge_dan.wire.messages.negotiation import Invite, Withdraw, WithdrawCode
from edge_dan.wire.messages.pairing import PairConfirm
from edge_dan.wire.session import Role, Session, SessionLimits

ALICE, BOB, CAROL = Identity.generate(), Identity.generate(), Identity.generate()
LIMITS = SessionLimits(handshake_timeout=2.0, keepalive_interval=0.5, close_timeout=1.0)
SPACE = OutcomeSpace([DiscreteIssue("dinner", ("pizza", "curry", "salad"))])
NID = b"driver-test-nego"


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout=20))


def note(text: str) -> Error:
    return Error(ErrorCode.INTERNAL, 0, text)


async def linked(
    stack: AsyncExitStack, client: Identity, server: Identity
) -> tuple[SessionChannel, SessionChannel]:
    """An established session between ``client`` and ``server``: (client's end, server's end)."""
    accepted: asyncio.Queue[SessionChannel] = asyncio.Queue()
    done = asyncio.Event()

    async def handler(channel: SessionChannel) -> None:
        accepted.put_nowait(channel)
        await done.wait()

    listener = await serve(
        "127.0.0.1",
        0,
        lambda now: Session(Role.RESPONDER, server, now=now, pattern=None, limits=LIMITS),
        handler,
    )
    ours = await connect(
        "127.0.0.1",
        listener.port,
        lambda now: Session(Role.INITIATOR, client, now=now, limits=LIMITS),
    )
    theirs = await accepted.get()

    async def cleanup() -> None:
        await ours.close()
        done.set()
        await listener.close()

    stack.push_async_callback(cleanup)
    return ours, theirs


def comparison(channel: SessionChannel, me: Identity, *, initiator: bool) -> NumericComparison:
    return NumericComparison.from_session(
        initiator=initiator,
        handshake_hash=channel.handshake_hash,
        local_static=me.static_public_key,
        peer_static=channel.peer_static_key,
    )


def test_pairing_runs_on_the_driver_and_leaves_the_next_message_on_the_channel() -> None:
    async def main() -> None:
        async with AsyncExitStack() as stack:
            a_channel, b_channel = await linked(stack, ALICE, BOB)
            a = comparison(a_channel, ALICE, initiator=True)
            b = comparison(b_channel, BOB, initiator=False)
            shown: dict[str, str] = {}

            def owner(who: str, machine: NumericComparison, pause: float) -> Any:
                async def on_event(event: PairingEvent) -> None:
                    if isinstance(event, ShowCode):
                        shown[who] = event.code
                        await asyncio.sleep(pause)  # each owner at their own pace
                        machine.confirm(True)

                return on_event

            async def bob() -> None:
                # Bob's owner answers last, so Bob finishes first and talks on at once: his next
                # message follows his PairConfirm closely, and Alice's driver must not take it.
                await drive_pair(b, b_channel, on_event=owner("bob", b, 0.1))
                await b_channel.send(note("after pairing"))

            a.start()
            driver, _ = await asyncio.gather(
                drive_pair(a, a_channel, on_event=owner("alice", a, 0.0)), bob()
            )
            assert not driver.timed_out and not driver.ended
            assert shown["alice"] == shown["bob"] and len(shown["alice"]) == 6
            assert not reads_waiting()
            assert a.result is not None and b.result is not None
            assert a.result.advert_key == b.result.advert_key
            assert await asyncio.wait_for(a_channel.receive(), 5) == note("after pairing")

    run(main())


def reads_waiting() -> list[asyncio.Task[Any]]:
    """Tasks still waiting in ``SessionChannel.receive``."""
    return [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "SessionChannel.receive"
    ]


def profile(tastes: dict[Value, float]) -> Profile:
    utility = LinearAdditiveUtility(SPACE, {"dinner": 1.0}, {"dinner": tastes})
    return Profile(SPACE, utility, reservation_value=0.2)


def test_a_three_party_negotiation_runs_on_the_driver_and_cleans_up() -> None:
    async def main() -> None:
        async with AsyncExitStack() as stack:
            to_bob, bob_end = await linked(stack, ALICE, BOB)
            to_carol, carol_end = await linked(stack, ALICE, CAROL)
            mediator = Mediator(
                ALICE,
                LittleDan(profile({"pizza": 3, "curry": 2, "salad": 0})),
                [BOB.public_key, CAROL.public_key],
                negotiation_id=NID,
                deadline=time.time() + 10,
            )
            bob = Participant(BOB, LittleDan(profile({"pizza": 0, "curry": 3, "salad": 2})))
            carol = Participant(CAROL, LittleDan(profile({"pizza": 2, "curry": 3, "salad": 0})))
            participants = [
                drive(party, {ALICE.public_key: end}, clock=time.time)
                for party, end in ((bob, bob_end), (carol, carol_end))
            ]
            seen: list[Event] = []

            async def mediate() -> CoreDriver[Event]:
                channels = {BOB.public_key: to_bob, CAROL.public_key: to_carol}
                mediator.start(time.time())
                async with CoreDriver(mediator, channels, clock=time.time) as driver:
                    async for event in driver.events():
                        seen.append(event)
                return driver

            driver, *_ = await asyncio.gather(mediate(), *participants)
            assert not driver.timed_out and not driver.ended
            (agreed,) = [e for e in seen if isinstance(e, Agreed)]
            assert dict(agreed.accord.outcome)["dinner"] == "curry"
            assert mediator.accord == bob.accord == carol.accord == agreed.accord
            assert not reads_waiting()  # the drivers cancelled their reads

    run(main())


def test_the_owner_is_asked_through_an_event_and_the_deadline_ends_a_silent_negotiation() -> None:
    async def main() -> None:
        async with AsyncExitStack() as stack:
            to_bob, bob_end = await linked(stack, ALICE, BOB)
            mediator = Mediator(
                ALICE,
                LittleDan(profile({"pizza": 3, "curry": 2, "salad": 0})),
                [BOB.public_key],
                negotiation_id=NID,
                deadline=time.time() + 0.5,
            )
            mediator.start(time.time())
            seen: list[Event] = []

            async def on_event(event: Event) -> None:
                seen.append(event)

            started = time.monotonic()
            driver = await drive(
                mediator, {BOB.public_key: to_bob}, on_event=on_event, clock=time.time
            )
            assert time.monotonic() - started < 3
            assert not driver.timed_out
            assert [type(e) for e in seen] == [Failed]
            assert isinstance(seen[0], Failed) and seen[0].code is WithdrawCode.DEADLINE
            # Bob's end heard the invitation and, at the deadline, why it ended.
            assert isinstance(await asyncio.wait_for(bob_end.receive(), 5), Invite)
            assert await asyncio.wait_for(bob_end.receive(), 5) == Withdraw(
                NID, WithdrawCode.DEADLINE
            )

    run(main())


def test_a_timeout_stops_the_driver_without_the_core_finishing() -> None:
    async def main() -> None:
        async with AsyncExitStack() as stack:
            _, b_channel = await linked(stack, ALICE, BOB)
            waiting = comparison(b_channel, BOB, initiator=False)  # Alice never commits
            started = time.monotonic()
            driver = await drive_pair(waiting, b_channel, timeout=0.3)
            assert driver.timed_out and not waiting.finished
            assert 0.3 <= time.monotonic() - started < 2

    run(main())


def test_the_driver_stops_when_every_channel_ended_and_no_timer_is_pending() -> None:
    async def main() -> None:
        async with AsyncExitStack() as stack:
            a_channel, b_channel = await linked(stack, ALICE, BOB)
            waiting = comparison(b_channel, BOB, initiator=False)
            await a_channel.close()
            driver = await drive_pair(waiting, b_channel, timeout=10)
            assert not driver.timed_out and not waiting.finished
            assert isinstance(driver.ended[ALICE.public_key], SessionClosed)

    run(main())


def test_the_driver_stops_when_every_channel_ended_even_with_a_deadline_far_off() -> None:
    """A mediator whose every session ended is over: its deadline an hour away does not keep
    the driver (and the core) alive."""

    async def main() -> None:
        async with AsyncExitStack() as stack:
            to_bob, bob_end = await linked(stack, ALICE, BOB)
            mediator = Mediator(
                ALICE,
                LittleDan(profile({"pizza": 3, "curry": 2, "salad": 0})),
                [BOB.public_key],
                negotiation_id=NID,
                deadline=time.time() + 3600,
            )
            mediator.start(time.time())
            await bob_end.close()
            driver = await asyncio.wait_for(drive(mediator, {BOB.public_key: to_bob}), 10)
            assert not mediator.finished and mediator.next_deadline() is not None
            assert isinstance(driver.ended[BOB.public_key], SessionClosed)

    run(main())


def test_one_peer_drops_what_another_sender_says() -> None:
    machine = NumericComparison(
        initiator=True,
        handshake_hash=bytes(64),
        initiator_static=bytes(32),
        responder_static=bytes(range(32)),
    )
    single = OnePeer(machine, b"peer")
    machine.start()
    (commit,) = single.take_outgoing()
    assert commit.recipient == b"peer"
    single.receive(Incoming(b"stranger", PairConfirm(True)), 0.0)
    assert machine.state is State.WAIT_NONCE and single.take_events() == []
    single.receive(Incoming(b"peer", PairConfirm(True)), 0.0)  # out of order: it fails
    assert single.finished and single.next_deadline() is None
    assert [type(e) for e in single.take_events()] == [PairingFailed]
