"""Noise on the wire: our implementation and the PyPI ``noiseprotocol`` package, side by side.

Run: python bench/wire.py [--handshakes N] [--messages N]

Measures, for Noise_XX_25519_ChaChaPoly_BLAKE2b: CPU time of one complete handshake (both sides,
static keys prepared in advance), encrypt+decrypt throughput for 64-byte and 4 KB messages, and the
bytes on the wire per handshake with empty payloads and with edge_dan's real handshake payload.
CPU time is ``time.process_time``; medians over several rounds, both sides alternating.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

from edge_dan.identity import Identity
from edge_dan.wire.messages import HandshakePayload, encode
from edge_dan.wire.noise import Handshake, KeyPair

NAME = "Noise_XX_25519_ChaChaPoly_BLAKE2b"
ROUNDS = 5


def ours_handshake(i_key: KeyPair, r_key: KeyPair, payload: bytes = b"") -> tuple[Any, Any, int]:
    """A full XX handshake; ``payload`` rides in messages 2 and 3, as edge_dan sends it (message 1
    of XX is not encrypted, so nothing about the sender goes there)."""
    initiator = Handshake(NAME, True, b"bench", s=i_key)
    responder = Handshake(NAME, False, b"bench", s=r_key)
    wire, turn, index = 0, 0, 0
    sides = (initiator, responder)
    while not initiator.complete:
        message = sides[turn].write_message(payload if index else b"")
        wire += len(message)
        sides[1 - turn].read_message(message)
        turn, index = 1 - turn, index + 1
    i_send, i_recv = initiator.split()
    r_send, r_recv = responder.split()
    return (i_send, r_recv), (r_send, i_recv), wire


def theirs_handshake(i_key: KeyPair, r_key: KeyPair, payload: bytes = b"") -> tuple[Any, Any, int]:
    from noise.connection import Keypair, NoiseConnection

    sides = []
    for initiator, key in ((True, i_key), (False, r_key)):
        conn = NoiseConnection.from_name(NAME.encode())
        if initiator:
            conn.set_as_initiator()
        else:
            conn.set_as_responder()
        conn.set_prologue(b"bench")
        conn.set_keypair_from_private_bytes(Keypair.STATIC, key.private)
        conn.start_handshake()
        sides.append(conn)
    wire, turn = 0, 0
    while not sides[0].handshake_finished:
        message = sides[turn].write_message(payload)
        wire += len(message)
        sides[1 - turn].read_message(message)
        turn = 1 - turn
    return (sides[0], sides[1]), (sides[1], sides[0]), wire


def _cpu(fn: Callable[[], object], repeat: int) -> float:
    rounds = []
    for _ in range(ROUNDS):
        start = time.process_time()
        for _ in range(repeat):
            fn()
        rounds.append((time.process_time() - start) / repeat)
    return statistics.median(rounds)


def _throughput(pair: tuple[Any, Any], ours: bool, size: int, count: int) -> float:
    sender, receiver = pair
    data = os.urandom(size)
    if ours:

        def once() -> None:
            receiver.decrypt(sender.encrypt(data))
    else:

        def once() -> None:
            receiver.decrypt(sender.encrypt(data))

    seconds = _cpu(once, count)
    return size / seconds / 1e6  # MB/s of plaintext, encrypt and decrypt both counted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--handshakes", type=int, default=400)
    parser.add_argument("--messages", type=int, default=4000)
    args = parser.parse_args()
    try:
        import noise  # noqa: F401
    except ImportError:
        raise SystemExit("install the reference: pip install noiseprotocol==0.3.1") from None

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    i_key, r_key = KeyPair.generate(), KeyPair.generate()
    rows: list[tuple[str, float, float, str]] = []
    ours_hs = _cpu(lambda: ours_handshake(i_key, r_key), args.handshakes)
    theirs_hs = _cpu(lambda: theirs_handshake(i_key, r_key), args.handshakes)
    rows.append(("XX handshake, both sides (ms CPU)", ours_hs * 1e3, theirs_hs * 1e3, "lower"))
    for size in (64, 4096):
        count = args.messages if size == 64 else args.messages // 4
        ours_pair = ours_handshake(i_key, r_key)[0]
        theirs_pair = theirs_handshake(i_key, r_key)[0]
        rows.append(
            (
                f"encrypt+decrypt {size} B (MB/s)",
                _throughput(ours_pair, True, size, count),
                _throughput(theirs_pair, False, size, count),
                "higher",
            )
        )

    identity = Identity.generate()
    real_payload = encode(
        HandshakePayload(
            version=1,
            identity_key=identity.public_key,
            signature=identity.static_signature,
            capabilities=("negotiate/1", "pair/1"),
        )
    )
    ours_wire = ours_handshake(i_key, r_key)[2]
    theirs_wire = theirs_handshake(i_key, r_key)[2]
    ours_real = ours_handshake(i_key, r_key, real_payload)[2]

    print(f"{'':38} {'edge_dan':>10} {'noiseprotocol':>14} {'ratio':>8}")
    for label, ours, theirs, better in rows:
        ratio = ours / theirs
        print(f"{label:38} {ours:10.3f} {theirs:14.3f} {ratio:7.2f}x ({better} is better)")
    print(f"{'bytes on the wire, empty payloads':38} {ours_wire:10d} {theirs_wire:14d}")
    print(
        f"{'bytes with our handshake payload':38} {ours_real:10d} {'':>14} "
        f"({len(real_payload)} B payload in messages 2 and 3)"
    )


if __name__ == "__main__":
    main()
