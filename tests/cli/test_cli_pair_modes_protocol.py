"""The control socket's QR and typed-code pairing requests: fields checked before anything acts."""

from __future__ import annotations

import json

import pytest

from edge_dan.cli.control_protocol import BadMessage, decode_request


def line(op: str, **args: object) -> bytes:
    return json.dumps({"op": op, "args": args}).encode()


@pytest.mark.parametrize("op", ["pair_qr", "pair_code"])
def test_offers_take_seconds_and_the_owners_answer(op: str) -> None:
    request = decode_request(line(op, seconds=60, yes=True, name="Ben"))
    assert request.args == {"seconds": 60.0, "yes": True, "name": "Ben"}
    assert decode_request(line(op, seconds=5)).args == {"seconds": 5.0, "yes": False, "name": None}


@pytest.mark.parametrize("op", ["pair_scan", "pair_code_entry"])
def test_joining_takes_the_secret_and_how_long_to_look(op: str) -> None:
    request = decode_request(line(op, secret="12345678", wait=10))
    assert request.args == {"secret": "12345678", "wait": 10.0, "yes": False, "name": None}


@pytest.mark.parametrize(
    ("op", "args", "why"),
    [
        ("pair_qr", {}, "seconds is required"),
        ("pair_code", {"seconds": 0}, "seconds must be above 0"),
        ("pair_scan", {"wait": 5}, "secret is required"),
        ("pair_scan", {"secret": "", "wait": 5}, "expected text"),
        ("pair_code_entry", {"secret": "1234\n5678", "wait": 5}, "control characters"),
        ("pair_code_entry", {"secret": "12345678", "wait": 5, "code": "x"}, "unknown field"),
    ],
)
def test_bad_fields_are_refused_by_name(op: str, args: dict[str, object], why: str) -> None:
    with pytest.raises(BadMessage, match=why):
        decode_request(line(op, **args))
