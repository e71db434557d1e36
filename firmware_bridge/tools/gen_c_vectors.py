"""Turns the JSON vectors into a C header, so the embedded test runner needs no JSON parser.

    python3 gen_c_vectors.py VECTORS_DIR OUT.h

Plain Python 3, no imports from edge_dan: it runs wherever the C library is built. Error classes
and message types become the library's enum names, so a renamed constant fails the build.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ERRORS = {
    None: "EDB_OK",
    "malformed": "EDB_ERR_MALFORMED",
    "noncanonical": "EDB_ERR_NONCANONICAL",
    "version": "EDB_ERR_VERSION",
    "unknown_type": "EDB_ERR_UNKNOWN_TYPE",
    "schema": "EDB_ERR_SCHEMA",
}
FRAME_EVENTS = {
    "!cobs": "EDB_FRAME_ERR_COBS",
    "!short": "EDB_FRAME_ERR_SHORT",
    "!crc": "EDB_FRAME_ERR_CRC",
    "!oversize": "EDB_FRAME_ERR_OVERSIZE",
}
TYPES = {
    "hello": "EDB_MSG_HELLO",
    "capabilities": "EDB_MSG_CAPABILITIES",
    "get_state": "EDB_MSG_GET_STATE",
    "state": "EDB_MSG_STATE",
    "set": "EDB_MSG_SET",
    "apply_accord": "EDB_MSG_APPLY_ACCORD",
    "ack": "EDB_MSG_ACK",
    "error": "EDB_MSG_ERROR",
}


def c_bytes(data: bytes) -> str:
    return "{" + ",".join(str(b) for b in data) + "}" if data else "{0}"


class Header:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0

    def array(self, data: bytes) -> str:
        """Name of a new static byte array holding data."""
        self.count += 1
        name = f"vb{self.count}"
        self.lines.append(f"static const uint8_t {name}[] = {c_bytes(data)};")
        return name

    def span(self, data: bytes) -> str:
        return f"{{{self.array(data)}, {len(data)}}}" if data else "{0, 0}"

    def message(self, msg: dict[str, Any]) -> str:
        parts = [f".type = {TYPES[msg['type']]}", f".seq = {msg['seq']}"]
        for name in ("version", "max_payload", "point", "code", "value"):
            if name in msg:
                parts.append(f".{name} = {int_literal(msg[name])}")
        for name in ("kind", "detail"):
            if name in msg:
                parts.append(f".{name} = {self.span(msg[name].encode('utf-8'))}")
        for name in ("device_id", "accord_id"):
            if name in msg:
                parts.append(f".{name} = {self.span(bytes.fromhex(msg[name]))}")
        if "values" in msg:
            items = ",".join(
                f"{{{k}, {int_literal(v)}}}"
                for k, v in sorted(msg["values"].items(), key=lambda kv: int(kv[0]))
            )
            parts.append(f".n_values = {len(msg['values'])}, .values = {{{items or '{0, 0}'}}}")
        if "points" in msg:
            items = ",".join(
                f"{{{p['id']}, {int(p['writable'])}, {self.span(p['name'].encode('utf-8'))}, "
                f"{int_literal(p['min'])}, {int_literal(p['max'])}}}"
                for p in msg["points"]
            )
            parts.append(f".n_points = {len(msg['points'])}, .points = {{{items or '{0}'}}}")
        return "{" + ", ".join(parts) + "}"


def int_literal(value: int) -> str:
    # -2147483648 is not a C literal (it is -(2147483648)); spell it as an expression.
    return "(-2147483647 - 1)" if value == -(2**31) else str(value)


def generate(vectors: Path) -> str:
    messages = json.loads((vectors / "messages.json").read_text(encoding="utf-8"))
    frames = json.loads((vectors / "frames.json").read_text(encoding="utf-8"))
    header = Header()
    rows: list[str] = []
    for entry in messages["valid"]:
        data, frame = bytes.fromhex(entry["hex"]), bytes.fromhex(entry["frame"])
        header.lines.append(
            f"static const edb_msg vm{len(rows)} = {header.message(entry['message'])};"
        )
        rows.append(
            f'{{"{entry["name"]}", {header.array(data)}, {len(data)}, EDB_OK, '
            f"&vm{len(rows)}, {header.array(frame)}, {len(frame)}}}"
        )
    for entry in messages["invalid"] + messages["mutations"]:
        data = bytes.fromhex(entry["hex"])
        # Mutation names would cost 30 KB of a micro:bit's 256 KB flash; their index is printed.
        name = "0" if entry in messages["mutations"] else f'"{entry["name"]}"'
        rows.append(
            f"{{{name}, {header.array(data)}, {len(data)}, {ERRORS[entry['error']]}, 0, 0, 0}}"
        )
    frame_rows: list[str] = []
    for case in frames["cases"]:
        stream = bytes.fromhex(case["stream"])
        events = []
        for event in case["events"]:
            if event in FRAME_EVENTS:
                events.append(f"{{{FRAME_EVENTS[event]}, 0, 0}}")
            else:
                payload = bytes.fromhex(event)
                events.append(f"{{EDB_FRAME_READY, {header.array(payload)}, {len(payload)}}}")
        events_name = f"fe{len(frame_rows)}"
        header.lines.append(
            f"static const frame_event {events_name}[] = {{{','.join(events) or '{0, 0, 0}'}}};"
        )
        frame_rows.append(
            f'{{"{case["name"]}", {header.array(stream)}, {len(stream)}, '
            f"{events_name}, {len(events)}}}"
        )
    out = [
        "/* Generated by firmware_bridge/tools/gen_c_vectors.py from firmware_bridge/vectors/. */",
        "#include <stdint.h>",
        '#include "edb_frame.h"',
        '#include "edb_msg.h"',
        "typedef struct { const char *name; const uint8_t *data; uint16_t len; int8_t expect;",
        "                 const edb_msg *message; const uint8_t *frame; uint16_t frame_len;",
        "} msg_vector;",
        "typedef struct { int8_t kind; const uint8_t *payload; uint16_t len; } frame_event;",
        "typedef struct { const char *name; const uint8_t *stream; uint16_t len;",
        "                 const frame_event *events; uint16_t n_events; } frame_vector;",
        f"#define VECTOR_MAX_PAYLOAD {frames['max_payload']}u",
        *header.lines,
        f"static const msg_vector MSG_VECTORS[] = {{{','.join(rows)}}};",
        f"#define N_MSG_VECTORS {len(rows)}u",
        f"static const frame_vector FRAME_VECTORS[] = {{{','.join(frame_rows)}}};",
        f"#define N_FRAME_VECTORS {len(frame_rows)}u",
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    Path(sys.argv[2]).write_text(generate(Path(sys.argv[1])), encoding="utf-8")
