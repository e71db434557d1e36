"""The shared test vectors in ``firmware_bridge/vectors/``, generated from the reference codec.

``python -m edge_dan_bridge.vectors [DIR]`` (re)writes ``frames.json`` and ``messages.json``; the C
test runner turns them into a header and must agree with every entry. Hand-written cases name each
rule of PROTOCOL.md; the mutation cases (every byte of a few messages replaced by a few values, and
every prefix) cover the orderings between rules, so the C decoder must classify exactly as this one
does. Output is deterministic: no randomness, sorted keys, so a diff shows real drift.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from edge_dan.bridge.codec import (
    MAX_PAYLOAD,
    Ack,
    ApplyAccord,
    BridgeMessage,
    BridgeMessageError,
    Capabilities,
    Error,
    GetState,
    Hello,
    PointSpec,
    Set,
    State,
    decode,
    encode,
    to_json,
)
from edge_dan.wire.framing.serial import SerialDeframer, cobs_encode, encode_serial_frame

VECTORS_DIR = Path(__file__).resolve().parents[2] / "vectors"
ACCORD = bytes(range(0xA0, 0xC0))
THERMOSTAT_POINTS = (
    PointSpec(0, "setpoint", 50, 300, True),
    PointSpec(1, "temp", -400, 1000, False),
    PointSpec(2, "heating", 0, 1, False),
)


def valid_messages() -> list[tuple[str, BridgeMessage]]:
    return [
        ("hello", Hello(1, 1)),
        ("hello_max", Hello(65535, 65535)),
        (
            "capabilities_thermostat",
            Capabilities(1, 1, "thermostat", b"EDB-0001", 240, THERMOSTAT_POINTS),
        ),
        ("capabilities_no_points", Capabilities(0, 1, "x", bytes(8), 0, ())),
        (
            "capabilities_full",
            Capabilities(
                65535,
                65535,
                "k" * 16,
                b"\xff" * 8,
                65535,
                tuple(
                    PointSpec(200 + i, "n" * 12, -(2**31), 2**31 - 1, i % 2 == 0) for i in range(6)
                ),
            ),
        ),
        (
            "capabilities_utf8",
            Capabilities(
                2, 1, "thermostät", b"\x00" * 8, 240, (PointSpec(23, "température", -1, 24, True),)
            ),
        ),
        ("get_state", GetState(3)),
        ("state_fresh", State(0, {0: 200, 1: 185, 2: 0}, b"")),
        ("state_applied", State(4, {0: 215, 1: 190, 2: 1}, ACCORD)),
        ("state_empty", State(9, {}, b"")),
        (
            "state_extremes",
            State(
                1000,
                {0: -(2**31), 23: -24, 24: -25, 255: 2**31 - 1, 100: 65536, 101: -65537},
                ACCORD,
            ),
        ),
        ("set_setpoint", Set(5, 0, 215)),
        ("set_negative", Set(6, 1, -1)),
        ("set_min", Set(24, 255, -(2**31))),
        ("set_max", Set(256, 24, 2**31 - 1)),
        ("apply_accord", ApplyAccord(7, ACCORD, {0: 215})),
        ("apply_accord_many", ApplyAccord(8, ACCORD, {i: i * 1000 - 3000 for i in range(6)})),
        ("ack", Ack(7)),
        ("ack_zero", Ack(0)),
        ("error_out_of_range", Error(5, 6, "setpoint 50..300")),
        ("error_empty_detail", Error(0, 1, "")),
        ("error_long", Error(65535, 255, "d" * 32)),
    ]


def _h(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text.replace(" ", ""))


# [1, 1280, {0: 1, 1: 1}] is 83 01 19 0500 a2 00 01 01 01; cases below vary it byte by byte.
HELLO = "83 01 190500 a2 0001 0101"
SET = "83 01 190504 a3 0005 0100 02 18d7"


def invalid_messages() -> list[tuple[str, bytes]]:
    cases = [
        ("empty", ""),
        ("trailing_byte", HELLO + "00"),
        ("truncated_body", "83 01 190500 a2 0001 01"),
        ("tag", "c1 " + HELLO),
        ("float_seq", "83 01 190500 a2 00 f93c00 0101"),
        ("null_seq", "83 01 190500 a2 00f6 0101"),
        ("undefined_seq", "83 01 190500 a2 00f7 0101"),
        ("simple_value", "83 01 190500 a2 00f0 0101"),
        ("indefinite_envelope", "9f 01 190500 a2 0001 0101 ff"),
        ("indefinite_body", "83 01 190500 bf 0001 0101 ff"),
        ("reserved_info", "83 01 190500 a2 00 1c 0101"),
        ("seq_not_shortest_1", "83 01 190500 a2 00 1801 0101"),
        ("seq_not_shortest_2", "83 01 190500 a2 00 190017 0101"),
        ("seq_not_shortest_4", "83 01 190500 a2 00 1a0000ffff 0101"),
        ("type_not_shortest_8", "83 01 1b0000000000000500 a2 0001 0101"),
        ("envelope_count_not_shortest", "9803 01 190500 a2 0001 0101"),
        ("keys_descending", "83 01 190500 a2 0101 0001"),
        ("keys_duplicate", "83 01 190500 a2 0001 0001"),
        ("format_version_2", "83 02 190500 a2 0001 0101"),
        ("format_version_0", "83 00 190500 a2 0001 0101"),
        ("format_version_text", "83 6131 190500 a2 0001 0101"),
        ("type_1279", "83 01 1904ff a2 0001 0101"),
        ("type_1288", "83 01 190508 a1 0001"),
        ("type_huge", "83 01 1b0100000000000500 a2 0001 0101"),
        ("type_negative", "83 01 390500 a2 0001 0101"),
        ("envelope_2", "82 01 190500"),
        ("envelope_4", "84 01 190500 a2 0001 0101 00"),
        ("envelope_map", "a1 01 190500"),
        ("body_array", "83 01 190500 82 0001"),
        ("body_too_many_entries", "83 01 190500 a3 0001 0101 0201"),
        ("missing_version", "83 01 190500 a1 0001"),
        ("missing_seq", "83 01 190500 a1 0101"),
        ("unknown_key", "83 01 190500 a2 0001 0201"),
        ("text_key", "83 01 190500 a2 6130 01 0101"),
        ("negative_key", "83 01 190500 a2 20 01 0101"),
        ("seq_65536", "83 01 190500 a2 00 1a00010000 0101"),
        ("seq_huge", "83 01 190500 a2 00 1b0000000100000000 0101"),
        ("seq_negative", "83 01 190500 a2 00 20 0101"),
        ("seq_bool", "83 01 190500 a2 00 f5 0101"),
        ("set_value_2pow31", "83 01 190504 a3 0005 0100 02 1a80000000"),
        ("set_value_below_int32", "83 01 190504 a3 0005 0100 02 3a80000000"),
        ("set_value_text", "83 01 190504 a3 0005 0100 02 6131"),
        ("set_point_256", "83 01 190504 a3 0005 01 190100 02 18d7"),
        ("apply_accord_id_31", "83 01 190505 a3 0007 01 581f" + ACCORD[:31].hex() + " 02 a10018d7"),
        ("apply_accord_id_33", "83 01 190505 a3 0007 01 5821" + ACCORD.hex() + "00 02 a10018d7"),
        ("apply_accord_id_empty", "83 01 190505 a3 0007 01 40 02 a10018d7"),
        ("apply_accord_id_text", "83 01 190505 a3 0007 01 7820" + "61" * 32 + " 02 a10018d7"),
        ("apply_accord_no_values", "83 01 190505 a3 0007 01 5820" + ACCORD.hex() + " 02 a0"),
        (
            "apply_accord_7_values",
            "83 01 190505 a3 0007 01 5820"
            + ACCORD.hex()
            + " 02 a7 0000 0100 0200 0300 0400 0500 0600",
        ),
        (
            "apply_accord_values_unordered",
            "83 01 190505 a3 0007 01 5820" + ACCORD.hex() + " 02 a2 0100 0000",
        ),
        (
            "apply_accord_values_duplicate",
            "83 01 190505 a3 0007 01 5820" + ACCORD.hex() + " 02 a2 0000 0000",
        ),
        (
            "apply_accord_values_key_256",
            "83 01 190505 a3 0007 01 5820" + ACCORD.hex() + " 02 a1 190100 00",
        ),
        ("apply_accord_truncated_id", "83 01 190505 a3 0007 01 5820" + ACCORD[:10].hex()),
        ("state_accord_16", "83 01 190503 a3 0000 01 a0 02 50" + ACCORD[:16].hex()),
        ("error_detail_33", "83 01 190507 a3 0000 0101 02 7821" + "64" * 33),
        ("error_detail_bad_utf8", "83 01 190507 a3 0000 0101 02 62 c328"),
        ("error_detail_surrogate", "83 01 190507 a3 0000 0101 02 63 eda080"),
        ("error_detail_overlong", "83 01 190507 a3 0000 0101 02 62 c0af"),
        ("error_detail_bytes", "83 01 190507 a3 0000 0101 02 41 64"),
        ("error_code_256", "83 01 190507 a3 0000 01 190100 02 60"),
        (
            "capabilities_kind_empty",
            "83 01 190501 a6 0001 0101 02 60 0348" + "00" * 8 + " 04 18f0 05 80",
        ),
        (
            "capabilities_device_id_7",
            "83 01 190501 a6 0001 0101 02 6178 0347" + "00" * 7 + " 04 18f0 05 80",
        ),
        (
            "capabilities_point_4_items",
            "83 01 190501 a6 0001 0101 02 6178 0348" + "00" * 8 + " 04 18f0 05 81 84 00 6161 00 00",
        ),
        (
            "capabilities_point_writable_int",
            "83 01 190501 a6 0001 0101 02 6178 0348"
            + "00" * 8
            + " 04 18f0 05 81 85 00 6161 00 00 01",
        ),
        (
            "capabilities_point_name_empty",
            "83 01 190501 a6 0001 0101 02 6178 0348"
            + "00" * 8
            + " 04 18f0 05 81 85 00 60 00 00 f5",
        ),
        (
            "capabilities_point_name_13",
            "83 01 190501 a6 0001 0101 02 6178 0348"
            + "00" * 8
            + " 04 18f0 05 81 85 00 6d"
            + "61" * 13
            + " 00 00 f5",
        ),
        (
            "capabilities_7_points",
            "83 01 190501 a6 0001 0101 02 6178 0348"
            + "00" * 8
            + " 04 18f0 05 87"
            + " 85 00 6161 00 00 f5" * 7,
        ),
        (
            "capabilities_points_map",
            "83 01 190501 a6 0001 0101 02 6178 0348" + "00" * 8 + " 04 18f0 05 a0",
        ),
    ]
    return [(name, _h(text)) for name, text in cases]


def classify(data: bytes) -> str | None:
    """None if ``data`` decodes, else the error class the decoder reports."""
    try:
        decode(data)
    except BridgeMessageError as exc:
        return exc.error_class
    return None


def mutation_messages() -> list[tuple[str, bytes]]:
    """Every prefix and single-byte replacement of a few messages (valid or not, as classified).

    Only bytes and class are recorded: a mutation that decodes is checked by re-encoding it, which
    must give the same bytes (canonical form), on both sides."""
    seeds = [
        ("hello", encode(Hello(1, 1))),
        ("set", encode(Set(300, 1, -1000))),
        ("apply", encode(ApplyAccord(7, ACCORD[:4] * 8, {0: 215, 30: -70000}))),
        (
            "caps",
            encode(
                Capabilities(1, 1, "ab", b"12345678", 240, (PointSpec(0, "sp", 50, 300, True),))
            ),
        ),
        ("error", encode(Error(5, 6, "é"))),
    ]
    out: list[tuple[str, bytes]] = []
    # Heads at the edges of each size and major type, a tag, a boolean, null.
    replacements = (
        0x00,
        0x17,
        0x18,
        0x19,
        0x1B,
        0x20,
        0x38,
        0x40,
        0x5F,
        0x60,
        0x80,
        0xA0,
        0xC0,
        0xF5,
        0xF6,
        0xFF,
    )
    for seed_name, seed in seeds:
        for length in range(len(seed)):
            out.append((f"{seed_name}_prefix_{length}", seed[:length]))
        for pos in range(len(seed)):
            for value in replacements:
                if value != seed[pos]:
                    mutated = seed[:pos] + bytes((value,)) + seed[pos + 1 :]
                    out.append((f"{seed_name}_at{pos}_{value:02x}", mutated))
    return out


def messages_document() -> dict[str, object]:
    valid = []
    for name, message in valid_messages():
        data = encode(message)
        assert decode(data) == message, name
        valid.append(
            {
                "name": name,
                "hex": data.hex(),
                "frame": encode_serial_frame(data).hex(),
                "message": to_json(message),
            }
        )
    invalid = []
    for name, data in invalid_messages():
        error = classify(data)
        assert error is not None, f"invalid vector {name} decodes"
        invalid.append({"name": name, "hex": data.hex(), "error": error})
    mutations = []
    for name, data in mutation_messages():
        error = classify(data)
        mutations.append({"name": name, "hex": data.hex(), "error": error})
    return {"max_payload": MAX_PAYLOAD, "valid": valid, "invalid": invalid, "mutations": mutations}


def frame_events(stream: bytes, max_payload: int = MAX_PAYLOAD) -> list[str]:
    """What edge_dan's deframer makes of ``stream`` fed byte by byte: payload hex or error class."""
    deframer = SerialDeframer(max_payload)
    events: list[str] = []
    counts = vars(deframer.errors).copy()
    for byte in stream:
        for payload in deframer.feed(bytes((byte,))):
            events.append(payload.hex())
        now = vars(deframer.errors)
        for kind in ("cobs", "short", "crc", "oversize"):
            events.extend([f"!{kind}"] * (now[kind] - counts[kind]))
        counts = now.copy()
    return events


def frames_document() -> dict[str, object]:
    hello = encode(Hello(1, 1))
    frame = encode_serial_frame(hello)
    biggest = bytes((i % 255) + 1 for i in range(MAX_PAYLOAD))
    bad_crc = bytearray(frame)
    bad_crc[3] ^= 0x01
    crc_flipped = cobs_encode(hello + b"\x00\x00\x00\x00") + b"\x00"
    cases: list[tuple[str, bytes]] = [
        ("hello", frame),
        ("leading_flush", b"\x00" + frame),
        ("empty_frames", b"\x00\x00\x00" + frame + b"\x00\x00"),
        ("two_frames", frame + encode_serial_frame(encode(Ack(1)))),
        ("payload_with_zeros", encode_serial_frame(b"\x00\x11\x00\x00\x22\x00")),
        ("payload_all_zero", encode_serial_frame(bytes(40))),
        ("payload_one_byte", encode_serial_frame(b"\x01")),
        ("payload_max", encode_serial_frame(biggest)),
        ("payload_max_zeros", encode_serial_frame(bytes(MAX_PAYLOAD))),
        ("bad_crc", bytes(bad_crc)),
        ("crc_zeroed", crc_flipped),
        ("bad_crc_then_good", bytes(bad_crc) + frame),
        ("short_1", cobs_encode(b"\x07") + b"\x00"),
        ("short_4", cobs_encode(b"\x01\x02\x03\x04") + b"\x00"),
        ("short_crc_of_empty", b"\x01\x01\x01\x01\x01\x00"),
        ("cobs_block_past_end", b"\x05\x11\x22\x00" + frame),
        ("cobs_ff_past_end", b"\xff\x11\x00" + frame),
        ("oversize_payload", encode_serial_frame(biggest + b"\x01", max_payload=65535)),
        ("oversize_long_noise", b"\x42" * 600 + b"\x00" + frame),
        ("oversize_no_delimiter_then_frame", b"\x42" * 300 + frame),
        ("mid_frame_start", frame[5:] + frame),
        ("noise_then_frame", b"\x13\x37\xfe\x00" + frame),
    ]
    documents = []
    for name, stream in cases:
        documents.append({"name": name, "stream": stream.hex(), "events": frame_events(stream)})
    return {"max_payload": MAX_PAYLOAD, "cases": documents}


def render(document: dict[str, object]) -> str:
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


def documents() -> dict[str, str]:
    """File name to file text, exactly as committed."""
    return {
        "frames.json": render(frames_document()),
        "messages.json": render(messages_document()),
    }


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else VECTORS_DIR
    target.mkdir(parents=True, exist_ok=True)
    for name, text in documents().items():
        (target / name).write_text(text, encoding="utf-8")
        print(f"wrote {target / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
