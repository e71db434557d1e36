"""A gatekeeper run on untrusted bytes before cbor2 sees them.

cbor2 is lenient where a wire protocol must not be: it ignores trailing bytes, keeps the last of
duplicate map keys, and turns tags into datetimes, decimals or shared references. Walking the raw
items first lets ``decode`` accept only the subset our schemas use (unsigned and negative
integers, byte and text strings, arrays, maps, false, true), with definite lengths, a depth limit,
valid UTF-8 and map keys that are integers or strings, each at most once. Key order and shortest
integer forms are checked afterwards, by re-encoding canonically.
"""

from __future__ import annotations

from edge_dan.wire.errors import MessageError

MAX_DEPTH = 16
_UINT, _NINT, _BYTES, _TEXT, _ARRAY, _MAP, _TAG, _SIMPLE = range(8)
_FALSE, _TRUE = 0xF4, 0xF5
_FLOATS = (0xF9, 0xFA, 0xFB)
_INDEFINITE = 31


def check_strict(data: bytes) -> None:
    """Raise ``MessageError`` unless ``data`` is exactly one item of the allowed CBOR subset."""
    end = _item(data, 0, 0)
    if end != len(data):
        raise MessageError(f"{len(data) - end} trailing bytes after the CBOR message")


def _head(data: bytes, pos: int) -> tuple[int, int, int]:
    """Major type, argument and the position after the head of the item at ``pos``."""
    if pos >= len(data):
        raise MessageError("CBOR message is truncated")
    initial = data[pos]
    major, info = initial >> 5, initial & 0x1F
    if major == _TAG:
        raise MessageError("CBOR tags are not allowed")
    if major == _SIMPLE:
        if initial in _FLOATS:
            raise MessageError("floating-point numbers are not allowed (use integers)")
        if initial not in (_FALSE, _TRUE):
            raise MessageError(f"CBOR simple value {initial:#04x} is not allowed")
        return major, 0, pos + 1
    if info == _INDEFINITE and major in (_BYTES, _TEXT, _ARRAY, _MAP):
        raise MessageError("indefinite-length CBOR items are not allowed")
    if info < 24:
        return major, info, pos + 1
    if info > 27:
        raise MessageError(f"malformed CBOR head {initial:#04x}")
    size = 1 << (info - 24)
    if pos + 1 + size > len(data):
        raise MessageError("CBOR message is truncated")
    return major, int.from_bytes(data[pos + 1 : pos + 1 + size], "big"), pos + 1 + size


def _item(data: bytes, pos: int, depth: int) -> int:
    """Check the item at ``pos``; return the position after it."""
    if depth > MAX_DEPTH:
        raise MessageError(f"CBOR nesting deeper than {MAX_DEPTH}")
    major, arg, pos = _head(data, pos)
    if major in (_BYTES, _TEXT):
        if arg > len(data) - pos:
            raise MessageError("CBOR message is truncated")
        if major == _TEXT:
            try:
                data[pos : pos + arg].decode("utf-8")
            except UnicodeDecodeError:
                raise MessageError("CBOR text is not valid UTF-8") from None
        return pos + arg
    # Every element takes at least one byte: a count beyond what is left cannot be honest.
    if major in (_ARRAY, _MAP) and arg > len(data) - pos:
        raise MessageError("CBOR message is truncated")
    if major == _ARRAY:
        for _ in range(arg):
            pos = _item(data, pos, depth + 1)
    elif major == _MAP:
        seen: set[bytes] = set()
        for _ in range(arg):
            start = pos
            if pos < len(data) and data[pos] >> 5 not in (_UINT, _NINT, _BYTES, _TEXT):
                raise MessageError("CBOR map keys must be integers or strings")
            pos = _item(data, pos, depth + 1)
            key = data[start:pos]
            if key in seen:
                raise MessageError("duplicate key in a CBOR map")
            seen.add(key)
            pos = _item(data, pos, depth + 1)
    return pos
