"""The Python reference codec and the shared vectors: strictness, canonical form, no drift."""

from __future__ import annotations

import json
import random
from typing import Any

import cbor2
import pytest
from edge_dan_bridge import vectors
from firmware_helpers import BRIDGE

from edge_dan.bridge import codec
from edge_dan.bridge.codec import (
    ApplyAccord,
    BridgeMessageError,
    Capabilities,
    Error,
    Hello,
    PointSpec,
    SchemaViolation,
    Set,
    State,
    decode,
    encode,
)
from edge_dan.wire.framing.serial import SerialDeframer
from edge_dan.wire.messages.strict_cbor import check_strict

VECTORS = BRIDGE / "vectors"


def load(name: str) -> Any:
    document: Any = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return document


def test_committed_vectors_match_the_generator() -> None:
    """Fails when the codec changed but ``python -m edge_dan_bridge.vectors`` was not rerun."""
    for name, text in vectors.documents().items():
        committed = (VECTORS / name).read_text(encoding="utf-8")
        assert committed == text, (
            f"{name} drifted: regenerate with python -m edge_dan_bridge.vectors"
        )


def test_valid_vectors_round_trip() -> None:
    valid = load("messages.json")["valid"]
    assert isinstance(valid, list) and len(valid) >= 20
    for entry in valid:
        data = bytes.fromhex(entry["hex"])
        message = codec.from_json(entry["message"])
        assert encode(message) == data, entry["name"]
        assert decode(data) == message, entry["name"]
        frame = bytes.fromhex(entry["frame"])
        assert SerialDeframer(codec.MAX_PAYLOAD).feed(frame) == [data], entry["name"]


def test_invalid_vectors_are_rejected_with_their_class() -> None:
    document = load("messages.json")
    seen = set()
    for entry in document["invalid"]:
        with pytest.raises(BridgeMessageError) as caught:
            decode(bytes.fromhex(entry["hex"]))
        assert caught.value.error_class == entry["error"], entry["name"]
        seen.add(entry["error"])
    assert seen == {"malformed", "noncanonical", "version", "unknown_type", "schema"}


def test_every_encoding_is_canonical_cbor_in_the_edge_dan_envelope() -> None:
    for _, message in vectors.valid_messages():
        data = encode(message)
        check_strict(data)  # edge_dan's own gatekeeper accepts it
        value = cbor2.loads(data)
        assert cbor2.dumps(value, canonical=True) == data
        assert value[0] == 1 and value[1] == message.TYPE_ID and 1280 <= value[1] <= 1535
        assert len(data) <= codec.MAX_PAYLOAD


def test_decoder_accepts_only_what_cbor2_calls_canonical() -> None:
    """Whatever the strict decoder accepts, cbor2 reads as the same canonical bytes."""
    for entry in load("messages.json")["mutations"]:
        if entry["error"] is None:
            data = bytes.fromhex(entry["hex"])
            assert cbor2.dumps(cbor2.loads(data), canonical=True) == data, entry["name"]
            assert encode(decode(data)) == data


@pytest.mark.parametrize(
    "message",
    [
        Set(1, 0, 2**31),
        Set(1, 256, 0),
        Set(65536, 0, 0),
        Hello(-1, 1),
        ApplyAccord(1, bytes(31), {0: 1}),
        ApplyAccord(1, bytes(32), {}),
        ApplyAccord(1, bytes(32), {i: 0 for i in range(7)}),
        State(1, {}, bytes(16)),
        Error(1, 1, "x" * 33),
        Error(1, 1, "\ud800"),
        Capabilities(1, 1, "", bytes(8), 240, ()),
        Capabilities(1, 1, "t", bytes(8), 240, (PointSpec(0, "n" * 13, 0, 1, True),)),
        Capabilities(1, 1, "t", bytes(8), 240, (PointSpec(0, "n", 0, 1, 1),)),  # type: ignore[arg-type]
        Set(1, 0, True),
    ],
)
def test_encoder_refuses_out_of_range_fields(message: codec.BridgeMessage) -> None:
    with pytest.raises(SchemaViolation):
        encode(message)


def test_random_bytes_never_escape_as_another_exception() -> None:
    generator = random.Random(7)
    seeds = [encode(m) for _, m in vectors.valid_messages()]
    for _ in range(20000):
        data = bytearray(generator.choice(seeds))
        for _ in range(generator.randint(1, 4)):
            data[generator.randrange(len(data))] = generator.randrange(256)
        try:
            message = decode(bytes(data))
        except BridgeMessageError:
            continue
        assert encode(message) == bytes(data)
