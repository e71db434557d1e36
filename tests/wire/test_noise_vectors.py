"""Every applicable cacophony and snow test vector, byte for byte, through Handshake and split()."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from conftest import NOISE_VECTORS

from edge_dan.wire.errors import UnsupportedProtocol
from edge_dan.wire.noise import Handshake, parse_protocol_name

VECTORS = NOISE_VECTORS  # vendored: tests/data/noise/PROVENANCE.md

# Counted once over the vendored files (2 vectors per protocol name, BLAKE2b and SHA256 each):
# cacophony 59 patterns x 2, snow 51 patterns x 2. A drop means a pattern or file silently
# stopped applying, which must fail rather than pass with fewer checks.
EXPECTED_APPLIED = {"cacophony.txt": 118, "snow.txt": 102}


def _applicable(protocol_name: str) -> bool:
    try:
        parse_protocol_name(protocol_name)
    except UnsupportedProtocol:
        return False
    return True


def _side(vector: dict[str, Any], prefix: str, initiator: bool) -> Handshake:
    def key(name: str) -> bytes | None:
        value = vector.get(f"{prefix}_{name}")
        return None if value is None else bytes.fromhex(value)

    return Handshake(
        vector["protocol_name"],
        initiator,
        key("prologue") or b"",
        s=key("static"),
        rs=key("remote_static"),
        psks=[bytes.fromhex(psk) for psk in vector.get(f"{prefix}_psks", [])],
        e=key("ephemeral"),
    )


def _run_vector(vector: dict[str, Any]) -> None:
    initiator = _side(vector, "init", True)
    responder = _side(vector, "resp", False)
    one_way = parse_protocol_name(vector["protocol_name"])[0].one_way
    transport: dict[bool, tuple[Any, Any]] = {}
    for index, message in enumerate(vector["messages"]):
        payload = bytes.fromhex(message["payload"])
        expected = bytes.fromhex(message["ciphertext"])
        # Messages alternate, initiator first; one-way patterns only send initiator to responder.
        from_initiator = one_way or index % 2 == 0
        sender, receiver = (initiator, responder) if from_initiator else (responder, initiator)
        if not initiator.complete:
            assert sender.write_message(payload) == expected, f"handshake message {index}"
            assert receiver.read_message(expected) == payload, f"handshake message {index}"
            continue
        if not transport:
            assert initiator.handshake_hash == responder.handshake_hash
            if "handshake_hash" in vector:
                assert initiator.handshake_hash.hex() == vector["handshake_hash"]
            transport = {True: initiator.split(), False: responder.split()}
        send = transport[from_initiator][0]
        receive = transport[not from_initiator][1]
        assert send.encrypt(payload) == expected, f"transport message {index}"
        assert receive.decrypt(expected) == payload, f"transport message {index}"
    assert initiator.complete
    assert responder.complete
    assert transport, "every vector carries transport messages after the handshake"


@pytest.mark.parametrize("filename", sorted(EXPECTED_APPLIED))
def test_vectors(filename: str) -> None:
    path = VECTORS / filename
    assert path.is_file(), f"the vendored Noise test vectors are missing at {path}"
    vectors = json.loads(path.read_text())["vectors"]
    applied: Counter[str] = Counter()
    for vector in vectors:
        name = vector["protocol_name"]
        if not _applicable(name):
            continue
        try:
            _run_vector(vector)
        except AssertionError as error:
            raise AssertionError(f"{filename}: {name}: {error}") from error
        applied[parse_protocol_name(name)[0].name] += 1
    total = sum(applied.values())
    print(f"{filename}: {total} vectors applied; per pattern: {dict(sorted(applied.items()))}")
    assert total >= EXPECTED_APPLIED[filename], (
        f"only {total} of the expected {EXPECTED_APPLIED[filename]} vectors in {filename} applied"
    )
