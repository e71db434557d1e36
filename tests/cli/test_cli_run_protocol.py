"""The control socket's codec (sans-IO): every request field checked, any bytes refused cleanly."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_dan.cli.control_protocol import (
    MAX_LINE,
    BadMessage,
    LineBuffer,
    Request,
    decode_reply,
    decode_request,
    reply,
)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["ao", "mediated", "bob", ""])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
# The machine is shared: slow generation is not a finding.
RELAXED = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIELD_NAMES = st.sampled_from(
    ["seconds", "yes", "name", "peer", "wait", "topic", "options", "issues", "partners",
     "deadline", "protocol", "x"]
)  # fmt: skip


@given(st.binary(max_size=2000))
@RELAXED
def test_any_bytes_decode_or_are_refused_by_name(data: bytes) -> None:
    with contextlib.suppress(BadMessage):
        decode_request(data)
    with contextlib.suppress(BadMessage):
        decode_reply(data)


@given(
    st.sampled_from(["status", "pair_open", "pair_with", "negotiate", "other"]),
    st.dictionaries(FIELD_NAMES, JSON, max_size=6),
)
@RELAXED
def test_requests_with_any_fields_decode_to_checked_values_or_are_refused(
    op: str, args: dict[str, object]
) -> None:
    line = json.dumps({"op": op, "args": args}).encode()
    try:
        request = decode_request(line)
    except BadMessage:
        return
    # What gets through has exactly the operation's fields, with the types the agent relies on.
    assert request.op == op
    if op == "pair_open":
        assert isinstance(request.args["seconds"], float) and request.args["seconds"] > 0
        assert isinstance(request.args["yes"], bool)
    if op == "negotiate":
        assert all(isinstance(p, str) and p for p in request.args["partners"])
        assert request.args["protocol"] in ("mediated", "ao")
    assert decode_request(request.to_line().rstrip(b"\n")) == request


def test_a_well_formed_request_round_trips() -> None:
    request = Request(
        "negotiate",
        {
            "topic": "Saturday",
            "options": ["Cook for grandma", "Go hiking"],
            "issues": {"when": ["morning", "evening"]},
            "partners": ["bob"],
            "deadline": 30.0,
            "protocol": "ao",
            "wait": 10.0,
        },
    )
    assert decode_request(request.to_line().rstrip(b"\n")) == request


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b'{"op": "pair_open"}', "seconds is required"),
        (b'{"op": "pair_open", "args": {"seconds": true}}', "number of seconds"),
        (b'{"op": "pair_open", "args": {"seconds": Infinity}}', "Infinity"),
        (b'{"op": "pair_open", "args": {"seconds": 1e999}}', "at most"),
        (b'{"op": "pair_with", "args": {"wait": 5, "name": "a\\nb"}}', "control characters"),
        (b'{"op": "status", "args": {}, "more": 1}', "only 'op' and 'args'"),
        (b'{"op": "status", "op": "negotiate"}', "required"),  # the last duplicate key wins
    ],
)
def test_bad_requests_say_what_is_wrong(line: bytes, why: str) -> None:
    with pytest.raises(BadMessage, match=why):
        decode_request(line)


def test_line_buffer_splits_lines_and_refuses_an_endless_one_early() -> None:
    lines = LineBuffer()
    assert lines.feed(b'{"a"') == []
    assert lines.feed(b':1}\n{"b":2}\n{"c"') == [b'{"a":1}', b'{"b":2}']
    with pytest.raises(BadMessage, match="at most"):
        lines.feed(b"x" * MAX_LINE)  # no newline in sight: refused before it all arrives
    assert decode_reply(reply("error", {"message": "no", "exit_code": 1}).rstrip()) == (
        "error",
        {"message": "no", "exit_code": 1},
    )
