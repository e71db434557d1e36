"""Differential fuzzing of the C library against the Python side, through ctypes.

The C decoder must classify every payload exactly as the reference codec does (same error class,
or both accept and agree on the canonical bytes), and the C deframer must produce the same events
as edge_dan's ``SerialDeframer`` fed byte by byte, for any buffer size. Inputs are mutations of the
shared vectors plus noise, from a seeded generator, so a run is reproducible from its seed.

Load the library built by ``make -C firmware_bridge diff-lib`` with ``CLibrary(path)``; ``run``
checks a number of cases and returns the mismatches (an empty list is the goal).
"""

from __future__ import annotations

import ctypes
import random
from dataclasses import dataclass
from pathlib import Path

from edge_dan.bridge.codec import MAX_PAYLOAD, encode
from edge_dan.wire.framing.serial import MAX_SERIAL_PAYLOAD, cobs_encode, encode_serial_frame
from edge_dan_bridge.vectors import classify, frame_events, invalid_messages, valid_messages

C_CLASSES = {
    0: None,
    -1: "malformed",
    -2: "noncanonical",
    -3: "version",
    -4: "unknown_type",
    -5: "schema",
}
C_FRAME_EVENTS = {-1: "!cobs", -2: "!short", -3: "!crc", -4: "!oversize"}
MAX_EVENTS = 4096


@dataclass(frozen=True)
class Mismatch:
    kind: str  # "message" or "frames"
    data: bytes
    python: object
    c: object


class CLibrary:
    """The C decoder and deframer, loaded from the differential shared library."""

    def __init__(self, path: Path) -> None:
        self.lib = ctypes.CDLL(str(path))
        self.lib.diff_decode.restype = ctypes.c_int
        self.lib.diff_deframe.restype = ctypes.c_size_t
        self._out = ctypes.create_string_buffer(MAX_PAYLOAD)
        self._out_len = ctypes.c_size_t()
        self._events = (ctypes.c_int * MAX_EVENTS)()
        self._payloads = ctypes.create_string_buffer(1 << 20)

    def decode(self, data: bytes) -> tuple[str | None, bytes]:
        """The C decoder's class (None: accepted) and, if accepted, its re-encoding."""
        rc = self.lib.diff_decode(
            data,
            ctypes.c_size_t(len(data)),
            self._out,
            ctypes.c_size_t(MAX_PAYLOAD),
            ctypes.byref(self._out_len),
        )
        if rc not in C_CLASSES:
            return f"C error {rc}", b""
        return C_CLASSES[rc], self._out.raw[: self._out_len.value]

    def deframe(self, stream: bytes, max_payload: int) -> list[str]:
        """Events like ``vectors.frame_events``: payload hex, or ``!class``."""
        count = self.lib.diff_deframe(
            stream,
            ctypes.c_size_t(len(stream)),
            ctypes.c_size_t(max_payload + 4),
            self._events,
            ctypes.c_size_t(MAX_EVENTS),
            self._payloads,
            ctypes.c_size_t(len(self._payloads)),
        )
        events: list[str] = []
        pos = 0
        ready = [i for i in range(count) if self._events[i] == 1]
        lengths = _payload_lengths(stream, max_payload, len(ready))
        for i in range(count):
            code = self._events[i]
            if code == 1:
                length = lengths.pop(0)
                events.append(self._payloads.raw[pos : pos + length].hex())
                pos += length
            else:
                events.append(C_FRAME_EVENTS.get(code, f"?{code}"))
        return events


def _payload_lengths(stream: bytes, max_payload: int, count: int) -> list[int]:
    """Payload lengths the C side delivered, read back from the Python events (same order).

    The shim only returns concatenated payloads; splitting them needs lengths, and when the
    events agree the Python lengths are the C lengths. When they do not, the comparison fails
    anyway, so the split only has to be plausible."""
    lengths = [len(e) // 2 for e in frame_events(stream, max_payload) if not e.startswith("!")]
    return (lengths + [0] * count)[:count]


def mutate(generator: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(generator.randint(1, 4)):
        choice = generator.randrange(6)
        pos = generator.randrange(len(out) + 1)
        if choice == 0 and out:
            out[min(pos, len(out) - 1)] = generator.randrange(256)
        elif choice == 1:
            out.insert(
                pos,
                generator.choice(
                    (0x00, 0x18, 0x19, 0x1A, 0x1B, 0x20, 0x5F, 0xF4, generator.randrange(256))
                ),
            )
        elif choice == 2 and out:
            del out[min(pos, len(out) - 1)]
        elif choice == 3:
            del out[pos:]
        elif choice == 4 and out:
            out[min(pos, len(out) - 1)] ^= 1 << generator.randrange(8)
        else:
            out += bytes(generator.randrange(256) for _ in range(generator.randint(1, 8)))
    return bytes(out)


def message_seeds() -> list[bytes]:
    return [encode(m) for _, m in valid_messages()] + [d for _, d in invalid_messages()]


def random_stream(generator: random.Random, payloads: list[bytes]) -> bytes:
    pieces: list[bytes] = []
    for _ in range(generator.randint(1, 5)):
        payload = generator.choice(payloads)
        kind = generator.randrange(5)
        if kind == 0:
            pieces.append(encode_serial_frame(payload, MAX_SERIAL_PAYLOAD))
        elif kind == 1:
            pieces.append(mutate(generator, encode_serial_frame(payload, MAX_SERIAL_PAYLOAD)))
        elif kind == 2:
            pieces.append(cobs_encode(mutate(generator, payload)) + b"\x00")
        elif kind == 3:
            pieces.append(bytes(generator.randrange(256) for _ in range(generator.randint(0, 40))))
        else:
            pieces.append(
                bytes(generator.choice((0, 1, 0xFF)) for _ in range(generator.randint(1, 9)))
            )
    return b"".join(pieces)


def run(library: CLibrary, seed: int, cases: int) -> list[Mismatch]:
    """``cases`` message cases and ``cases // 10`` frame streams; the mismatches found."""
    generator = random.Random(seed)  # noqa: S311  (reproducible test inputs, not secrets)
    seeds = message_seeds()
    mismatches: list[Mismatch] = []
    for _ in range(cases):
        data = mutate(generator, generator.choice(seeds))
        python_class = classify(data)
        c_class, c_bytes = library.decode(data)
        if python_class != c_class or (c_class is None and c_bytes != data):
            mismatches.append(Mismatch("message", data, python_class, (c_class, c_bytes.hex())))
    long_payloads = [s for s in seeds if s] + [
        bytes(generator.randrange(1, 256) for _ in range(300)),
        bytes(260),
    ]
    for _ in range(cases // 10):
        stream = random_stream(generator, long_payloads)
        max_payload = generator.choice((1, 2, 7, 40, 239, 240, 250, 253, 300))
        python_events = frame_events(stream, max_payload)
        c_events = library.deframe(stream, max_payload)
        if python_events != c_events:
            mismatches.append(Mismatch("frames", stream, python_events, c_events))
    return mismatches
