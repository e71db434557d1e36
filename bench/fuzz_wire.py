"""Coverage-guided fuzzing (atheris / libFuzzer) of every wire decoder.

Run: python bench/fuzz_wire.py [--runs-per-target N] [--target NAME]

Each target feeds fuzzer-chosen bytes to one decoder. The only exceptions allowed out are the
documented ``ProtocolError`` subclasses; anything else (or a hang, or a memory blow-up) is a
crash, which libFuzzer reports with the input that caused it. Every target runs in its own process
(libFuzzer exits when done) and the driver adds up the executions. ``pip install atheris`` first.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Callable

TARGETS = (
    "tcp",
    "ble",
    "serial",
    "messages",
    "handshake-responder",
    "handshake-initiator",
    "transport",
    "pairing-numeric",
    "pairing-qr",
)


def _target(name: str) -> Callable[[bytes], None]:
    import atheris

    with atheris.instrument_imports():
        from edge_dan.pairing.numeric import NumericComparison
        from edge_dan.pairing.qr import QrPayload
        from edge_dan.wire import messages
        from edge_dan.wire.errors import ProtocolError
        from edge_dan.wire.framing.ble import BleReassembler
        from edge_dan.wire.framing.serial import SerialDeframer
        from edge_dan.wire.framing.tcp import TcpDeframer
        from edge_dan.wire.noise import CipherState, Handshake, KeyPair

    name_xx = "Noise_XX_25519_ChaChaPoly_BLAKE2b"
    keys = KeyPair.from_private(bytes(range(32))), KeyPair.from_private(bytes(range(1, 33)))

    def split_chunks(data: bytes) -> list[bytes]:
        # The first byte picks a chunk size, so the fuzzer also explores how data arrives.
        if not data:
            return []
        size = data[0] % 64 + 1
        body = data[1:]
        return [body[i : i + size] for i in range(0, len(body), size)]

    def tcp(data: bytes) -> None:
        deframer = TcpDeframer(max_payload=4096)
        for chunk in split_chunks(data):
            deframer.feed(chunk)

    def ble(data: bytes) -> None:
        reassembler = BleReassembler(max_message=4096)
        for chunk in split_chunks(data):
            reassembler.feed(chunk)

    def serial(data: bytes) -> None:
        deframer = SerialDeframer(max_payload=4096)
        for chunk in split_chunks(data):
            deframer.feed(chunk)

    def decode(data: bytes) -> None:
        messages.decode(data)

    def responder(data: bytes) -> None:
        Handshake(name_xx, False, b"fuzz", s=keys[1]).read_message(data)

    first = Handshake(name_xx, True, b"fuzz", s=keys[0], e=bytes(range(2, 34)))
    first_message = first.write_message(b"")

    def initiator(data: bytes) -> None:
        fresh = Handshake(name_xx, True, b"fuzz", s=keys[0], e=bytes(range(2, 34)))
        assert fresh.write_message(b"") == first_message
        fresh.read_message(data)

    def transport(data: bytes) -> None:
        CipherState(bytes(32), nonce=data[0] if data else 0).decrypt(data[1:])

    def numeric(data: bytes) -> None:
        # A responder fed what each chunk decodes to, as its session would deliver it: decoding
        # may refuse a chunk (a ProtocolError), the machine itself must never raise.
        machine = NumericComparison.from_session(
            initiator=False,
            handshake_hash=bytes(64),
            local_static=keys[1].public,
            peer_static=keys[0].public,
        )
        for chunk in split_chunks(data):
            machine.receive(messages.decode(chunk), 0.0)

    def qr(data: bytes) -> None:
        QrPayload.parse(data.decode("utf-8", "replace"))

    chosen = {
        "tcp": tcp,
        "ble": ble,
        "serial": serial,
        "messages": decode,
        "handshake-responder": responder,
        "handshake-initiator": initiator,
        "transport": transport,
        "pairing-numeric": numeric,
        "pairing-qr": qr,
    }[name]

    def one_input(data: bytes) -> None:
        with contextlib.suppress(ProtocolError):  # the documented way to refuse bad input
            chosen(data)

    return one_input


def run_one(name: str, runs: int) -> None:
    import atheris

    atheris.Setup(
        [
            sys.argv[0],
            f"-runs={runs}",
            "-max_len=4096",
            "-timeout=10",
            "-rss_limit_mb=1024",
            "-print_final_stats=1",
        ],
        _target(name),
    )
    atheris.Fuzz()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs-per-target", type=int, default=150_000)
    parser.add_argument("--target", choices=TARGETS)
    args = parser.parse_args()
    if args.target:
        run_one(args.target, args.runs_per_target)
        return
    total, failures = 0, []
    for name in TARGETS:
        start = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--target",
                name,
                "--runs-per-target",
                str(args.runs_per_target),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        done = re.findall(r"Done (\d+) runs", proc.stderr)
        runs = int(done[-1]) if done else 0
        total += runs
        seconds = time.perf_counter() - start
        status = "ok" if proc.returncode == 0 and runs else f"CRASH (exit {proc.returncode})"
        print(
            f"{name:22} {runs:>9} executions  {seconds:6.1f} s  {runs / seconds:8.0f}/s  {status}"
        )
        if status != "ok":
            failures.append(name)
            print(proc.stderr[-3000:])
    print(f"{'total':22} {total:>9} executions, crashes: {len(failures)}")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
