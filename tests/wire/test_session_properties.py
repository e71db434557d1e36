"""Property test: any mix of sends, closes, time and link faults keeps the session's promises."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_dan.identity import Identity
from edge_dan.transports.memory import A_TO_B, B_TO_A, Fault, FaultInjector, ManualClock, MemoryLink
from edge_dan.wire.errors import ProtocolError
from edge_dan.wire.messages import Error, ErrorCode
from edge_dan.wire.session import (
    Closed,
    Event,
    HandshakeComplete,
    MessageReceived,
    ProtocolFailure,
    Role,
    Session,
    SessionLimits,
    State,
)

ALICE, BOB = Identity.generate(), Identity.generate()
LIMITS = SessionLimits(handshake_timeout=5.0, keepalive_interval=4.0, close_timeout=3.0)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.sampled_from("ab")),
        st.tuples(st.just("close"), st.sampled_from("ab")),
        st.tuples(st.just("advance"), st.floats(0.0, 6.0)),
    ),
    max_size=30,
)
faults = st.dictionaries(
    st.tuples(st.sampled_from([A_TO_B, B_TO_A]), st.integers(0, 12)),
    st.sampled_from(list(Fault)),
    max_size=3,
)


def check_side(events: list[Event], sent_by_peer: list[Error]) -> None:
    delivered = [e.message for e in events if isinstance(e, MessageReceived)]
    assert delivered == sent_by_peer[: len(delivered)], "only a prefix, in order, never forged"
    terminal = [i for i, e in enumerate(events) if isinstance(e, Closed | ProtocolFailure)]
    assert len(terminal) <= 1 and (not terminal or terminal[0] == len(events) - 1)
    handshakes = [i for i, e in enumerate(events) if isinstance(e, HandshakeComplete)]
    assert len(handshakes) <= 1
    if delivered:
        assert handshakes == [0]
    for event in events:
        if isinstance(event, ProtocolFailure):
            assert isinstance(event.error, ProtocolError)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=st.sampled_from(["XX", "IK"]), ops=operations, link_faults=faults)
def test_any_run_keeps_the_promises(
    pattern: str, ops: list[tuple[str, object]], link_faults: dict[tuple[str, int], Fault]
) -> None:
    clock = ManualClock()
    rs = BOB.static_public_key if pattern == "IK" else None
    link = MemoryLink(
        Session(Role.INITIATOR, ALICE, now=0.0, pattern=pattern, remote_static=rs, limits=LIMITS),
        Session(Role.RESPONDER, BOB, now=0.0, pattern=None, limits=LIMITS),
        clock=clock,
        faults=FaultInjector(dict(link_faults)),
    )
    sent: dict[str, list[Error]] = {"a": [], "b": []}
    link.pump()
    for n, (op, arg) in enumerate(ops):
        side = link.a if arg == "a" else link.b
        if op == "send" and side.state is State.ESTABLISHED:
            message = Error(ErrorCode.INTERNAL, 0, f"{arg}{n}")
            side.send(message)
            sent[str(arg)].append(message)
        elif op == "close":
            side.close()
        elif op == "advance":
            assert isinstance(arg, float)
            link.advance(arg)
        link.pump()
    check_side(link.events_a, sent["b"])
    check_side(link.events_b, sent["a"])
    if not link_faults:  # a clean link loses nothing between two live sessions
        for receiver, sender in ((link.events_b, "a"), (link.events_a, "b")):
            got = [e.message for e in receiver if isinstance(e, MessageReceived)]
            assert got == sent[sender]
    link.advance(60.0, step=1.0)  # whatever happened, time ends every session
    for session in (link.a, link.b):
        assert session.state in (State.ESTABLISHED, State.CLOSED, State.FAILED)
