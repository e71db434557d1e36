"""Reference codec of the firmware bridge messages (``firmware_bridge/PROTOCOL.md``, section 2).

Strict both ways: ``encode`` refuses a field out of its range, ``decode`` accepts exactly the bytes
``encode`` produces and classifies everything else. The decoder reads the message once, front to
back, and stops at the first problem, in the order PROTOCOL.md section 5 fixes, so that the C
library (``firmware_bridge/c/src/edb_msg.c``) reports the same error class for the same bytes; the
shared vectors and the differential fuzzer hold both to that.

It does not use cbor2: the subset is small and a hand-written cursor is what makes the error
classes line up with a one-pass C decoder. Tests check that what it encodes is canonical by cbor2's
own rules and passes ``edge_dan.wire.messages.strict_cbor.check_strict``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, cast

from edge_dan.wire.errors import MessageError

FORMAT_VERSION = 1  # the edge_dan wire envelope
PROTOCOL_VERSION = 1
MAX_PAYLOAD = 240  # bytes of one message; a frame is then at most 245 bytes + delimiter
MAX_POINTS = 6
MAX_KIND_LEN = 16
MAX_NAME_LEN = 12
MAX_DETAIL_LEN = 32
DEVICE_ID_LEN = 8
ACCORD_ID_LEN = 32
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class BridgeMessageError(MessageError):
    """A bridge message did not decode or a value cannot be encoded; ``error_class`` says why."""

    error_class: ClassVar[str] = "schema"


class MalformedMessage(BridgeMessageError):
    """Truncated, trailing bytes, CBOR outside the subset, or invalid UTF-8."""

    error_class = "malformed"


class NonCanonicalMessage(BridgeMessageError):
    """A head not in its shortest form, or map keys not strictly ascending."""

    error_class = "noncanonical"


class UnsupportedFormat(BridgeMessageError):
    """The envelope's format version is not 1."""

    error_class = "version"


class UnknownMessageType(BridgeMessageError):
    """The type id is not one of the bridge's."""

    error_class = "unknown_type"


class SchemaViolation(BridgeMessageError):
    """Wrong CBOR type, wrong shape, unknown or missing key, or a value out of range."""

    error_class = "schema"


ERROR_CLASSES: tuple[type[BridgeMessageError], ...] = (
    MalformedMessage,
    NonCanonicalMessage,
    UnsupportedFormat,
    UnknownMessageType,
    SchemaViolation,
)


class ErrorCode(enum.IntEnum):
    """ERROR codes (PROTOCOL.md section 4). Receivers accept codes they do not know."""

    BAD_MESSAGE = 1
    UNKNOWN_TYPE = 2
    UNEXPECTED = 3
    UNSUPPORTED_VERSION = 4
    UNKNOWN_POINT = 5
    OUT_OF_RANGE = 6
    READ_ONLY = 7
    BUSY = 8
    INTERNAL = 9


@dataclass(frozen=True)
class PointSpec:
    """One point a device exposes: an integer with a range, perhaps writable."""

    id: int
    name: str
    min: int
    max: int
    writable: bool


class _Kind(enum.Enum):
    UINT = enum.auto()
    INT32 = enum.auto()
    TEXT = enum.auto()
    BYTES = enum.auto()
    VALUES = enum.auto()  # map point id -> int32
    POINTS = enum.auto()  # array of point specs


@dataclass(frozen=True)
class _Field:
    key: int
    name: str
    kind: _Kind
    low: int  # value range (UINT, INT32) or length range (TEXT, BYTES, VALUES, POINTS)
    high: int
    allow_empty: bool = False  # BYTES: length 0 accepted besides low..high


def _seq(key: int = 0) -> _Field:
    return _Field(key, "seq", _Kind.UINT, 0, 0xFFFF)


@dataclass(frozen=True)
class BridgeMessage:
    """Base of the bridge messages; each subclass lists its wire fields in ``FIELDS``."""

    TYPE_ID: ClassVar[int]
    NAME: ClassVar[str]
    FIELDS: ClassVar[tuple[_Field, ...]]

    seq: int


@dataclass(frozen=True)
class Hello(BridgeMessage):
    """Host to device: who are you? Answered by ``Capabilities``."""

    TYPE_ID = 1280
    NAME = "hello"
    FIELDS = (_seq(), _Field(1, "version", _Kind.UINT, 0, 0xFFFF))
    version: int


@dataclass(frozen=True)
class Capabilities(BridgeMessage):
    """Device to host: what the device is and which points it has."""

    TYPE_ID = 1281
    NAME = "capabilities"
    FIELDS = (
        _seq(),
        _Field(1, "version", _Kind.UINT, 0, 0xFFFF),
        _Field(2, "kind", _Kind.TEXT, 1, MAX_KIND_LEN),
        _Field(3, "device_id", _Kind.BYTES, DEVICE_ID_LEN, DEVICE_ID_LEN),
        _Field(4, "max_payload", _Kind.UINT, 0, 0xFFFF),
        _Field(5, "points", _Kind.POINTS, 0, MAX_POINTS),
    )
    version: int
    kind: str
    device_id: bytes
    max_payload: int
    points: tuple[PointSpec, ...]


@dataclass(frozen=True)
class GetState(BridgeMessage):
    """Host to device: report your state. Answered by ``State``."""

    TYPE_ID = 1282
    NAME = "get_state"
    FIELDS = (_seq(),)


@dataclass(frozen=True)
class State(BridgeMessage):
    """Device to host: current point values and the last accord applied (b"" if none)."""

    TYPE_ID = 1283
    NAME = "state"
    FIELDS = (
        _seq(),
        _Field(1, "values", _Kind.VALUES, 0, MAX_POINTS),
        _Field(2, "accord_id", _Kind.BYTES, ACCORD_ID_LEN, ACCORD_ID_LEN, allow_empty=True),
    )
    values: Mapping[int, int]
    accord_id: bytes


@dataclass(frozen=True)
class Set(BridgeMessage):
    """Host to device: set one writable point. Answered by ``Ack`` or ``Error``."""

    TYPE_ID = 1284
    NAME = "set"
    FIELDS = (
        _seq(),
        _Field(1, "point", _Kind.UINT, 0, 0xFF),
        _Field(2, "value", _Kind.INT32, INT32_MIN, INT32_MAX),
    )
    point: int
    value: int


@dataclass(frozen=True)
class ApplyAccord(BridgeMessage):
    """Host to device: apply the values an accord settled, all or nothing; idempotent."""

    TYPE_ID = 1285
    NAME = "apply_accord"
    FIELDS = (
        _seq(),
        _Field(1, "accord_id", _Kind.BYTES, ACCORD_ID_LEN, ACCORD_ID_LEN),
        _Field(2, "values", _Kind.VALUES, 1, MAX_POINTS),
    )
    accord_id: bytes
    values: Mapping[int, int]


@dataclass(frozen=True)
class Ack(BridgeMessage):
    """Device to host: the request with this seq is in effect."""

    TYPE_ID = 1286
    NAME = "ack"
    FIELDS = (_seq(),)


@dataclass(frozen=True)
class Error(BridgeMessage):
    """Either way: the request with this seq (0 if unreadable) failed; ``code`` says why."""

    TYPE_ID = 1287
    NAME = "error"
    FIELDS = (
        _seq(),
        _Field(1, "code", _Kind.UINT, 0, 0xFF),
        _Field(2, "detail", _Kind.TEXT, 0, MAX_DETAIL_LEN),
    )
    code: int
    detail: str


AnyMessage = Hello | Capabilities | GetState | State | Set | ApplyAccord | Ack | Error
MESSAGE_TYPES: dict[int, type[BridgeMessage]] = {
    cls.TYPE_ID: cls for cls in (Hello, Capabilities, GetState, State, Set, ApplyAccord, Ack, Error)
}

# --- encoding ---------------------------------------------------------------------------------

_UINT, _NINT, _BYTES, _TEXT, _ARRAY, _MAP = range(6)
_FALSE, _TRUE = 0xF4, 0xF5


def _head(major: int, arg: int) -> bytes:
    if arg < 24:
        return bytes((major << 5 | arg,))
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if arg < 1 << (8 * size):
            return bytes((major << 5 | info,)) + arg.to_bytes(size, "big")
    raise SchemaViolation(f"{arg} does not fit a CBOR head")


def _int(value: int) -> bytes:
    return _head(_UINT, value) if value >= 0 else _head(_NINT, -1 - value)


def _check_range(value: object, low: int, high: int, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise SchemaViolation(f"{where}: expected an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise SchemaViolation(f"{where}: {value} is outside {low}..{high}")
    return value


def _check_len(size: int, field: _Field, where: str, unit: str) -> None:
    if not (field.low <= size <= field.high or (field.allow_empty and size == 0)):
        allowed = f"{field.low}..{field.high}" + (" or 0" if field.allow_empty else "")
        raise SchemaViolation(f"{where}: {size} {unit}, allowed {allowed}")


def _encode_text(value: object, low: int, high: int, where: str) -> bytes:
    if not isinstance(value, str):
        raise SchemaViolation(f"{where}: expected text, got {type(value).__name__}")
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError:
        raise SchemaViolation(f"{where}: text is not encodable as UTF-8") from None
    if not low <= len(raw) <= high:
        raise SchemaViolation(f"{where}: {len(raw)} UTF-8 bytes, allowed {low}..{high}")
    return _head(_TEXT, len(raw)) + raw


def _encode_field(field: _Field, value: object, where: str) -> bytes:
    if field.kind is _Kind.UINT or field.kind is _Kind.INT32:
        return _int(_check_range(value, field.low, field.high, where))
    if field.kind is _Kind.TEXT:
        return _encode_text(value, field.low, field.high, where)
    if field.kind is _Kind.BYTES:
        if not isinstance(value, bytes):
            raise SchemaViolation(f"{where}: expected bytes, got {type(value).__name__}")
        _check_len(len(value), field, where, "bytes")
        return _head(_BYTES, len(value)) + value
    if field.kind is _Kind.VALUES:
        if not isinstance(value, Mapping):
            raise SchemaViolation(f"{where}: expected a mapping, got {type(value).__name__}")
        _check_len(len(value), field, where, "entries")
        out = bytearray(_head(_MAP, len(value)))
        for point in sorted(_check_range(k, 0, 0xFF, f"{where} key") for k in value):
            out += _int(point) + _int(_check_range(value[point], INT32_MIN, INT32_MAX, where))
        return bytes(out)
    if not isinstance(value, tuple | list):
        raise SchemaViolation(f"{where}: expected a tuple of PointSpec")
    _check_len(len(value), field, where, "points")
    out = bytearray(_head(_ARRAY, len(value)))
    for spec in value:
        if not isinstance(spec, PointSpec):
            raise SchemaViolation(f"{where}: expected PointSpec, got {type(spec).__name__}")
        if not isinstance(spec.writable, bool):
            raise SchemaViolation(f"{where}: writable must be a bool")
        out += _head(_ARRAY, 5) + _int(_check_range(spec.id, 0, 0xFF, f"{where} id"))
        out += _encode_text(spec.name, 1, MAX_NAME_LEN, f"{where} name")
        out += _int(_check_range(spec.min, INT32_MIN, INT32_MAX, f"{where} min"))
        out += _int(_check_range(spec.max, INT32_MIN, INT32_MAX, f"{where} max"))
        out.append(_TRUE if spec.writable else _FALSE)
    return bytes(out)


def encode(message: BridgeMessage) -> bytes:
    """Canonical CBOR for ``message``; ``SchemaViolation`` if a field breaks its range."""
    cls = type(message)
    if MESSAGE_TYPES.get(getattr(cls, "TYPE_ID", -1)) is not cls:
        raise SchemaViolation(f"{cls.__name__} is not a bridge message type")
    out = bytearray(_head(_ARRAY, 3) + _int(FORMAT_VERSION) + _int(cls.TYPE_ID))
    out += _head(_MAP, len(cls.FIELDS))
    for field in cls.FIELDS:
        where = f"{cls.__name__}.{field.name}"
        out += _int(field.key) + _encode_field(field, getattr(message, field.name), where)
    if len(out) > MAX_PAYLOAD:
        raise SchemaViolation(f"{cls.__name__} encodes to {len(out)} bytes, limit {MAX_PAYLOAD}")
    return bytes(out)


# --- decoding ---------------------------------------------------------------------------------


class _Reader:
    """A cursor over one message; every method raises the class PROTOCOL.md section 5 gives."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def head(self) -> tuple[int, int]:
        """Major type and argument of the next item (booleans come back as major 7, arg 0/1)."""
        data, pos = self.data, self.pos
        if pos >= len(data):
            raise MalformedMessage("the message is truncated")
        initial = data[pos]
        major, info = initial >> 5, initial & 0x1F
        if major == 7:
            if initial not in (_FALSE, _TRUE):
                raise MalformedMessage(f"CBOR simple/float {initial:#04x} is not allowed")
            self.pos = pos + 1
            return 7, initial - _FALSE
        if major == 6:
            raise MalformedMessage("CBOR tags are not allowed")
        if info >= 28:
            raise MalformedMessage(f"CBOR additional info {info} (reserved or indefinite)")
        if info < 24:
            self.pos = pos + 1
            return major, info
        size = 1 << (info - 24)
        if pos + 1 + size > len(data):
            raise MalformedMessage("the message is truncated")
        arg = int.from_bytes(data[pos + 1 : pos + 1 + size], "big")
        if arg < (24 if size == 1 else 1 << (4 * size)):
            raise NonCanonicalMessage(f"integer {arg} is not in its shortest form")
        self.pos = pos + 1 + size
        return major, arg

    def uint(self, low: int, high: int, where: str) -> int:
        major, arg = self.head()
        if major != _UINT:
            raise SchemaViolation(f"{where}: expected an unsigned integer")
        if not low <= arg <= high:
            raise SchemaViolation(f"{where}: {arg} is outside {low}..{high}")
        return arg

    def int32(self, where: str) -> int:
        major, arg = self.head()
        if major not in (_UINT, _NINT):
            raise SchemaViolation(f"{where}: expected an integer")
        value = arg if major == _UINT else -1 - arg
        if not INT32_MIN <= value <= INT32_MAX:
            raise SchemaViolation(f"{where}: {value} is outside the int32 range")
        return value

    def string(self, major_wanted: int, field: _Field, where: str) -> bytes:
        major, arg = self.head()
        if major != major_wanted:
            raise SchemaViolation(f"{where}: expected {'text' if major_wanted == 3 else 'bytes'}")
        if arg > len(self.data) - self.pos:
            raise MalformedMessage("the message is truncated")
        _check_len(arg, field, where, "bytes")
        raw = self.data[self.pos : self.pos + arg]
        self.pos += arg
        return raw

    def text(self, field: _Field, where: str) -> str:
        raw = self.string(_TEXT, field, where)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedMessage(f"{where}: text is not valid UTF-8") from None

    def count(self, major_wanted: int, field: _Field, where: str) -> int:
        major, arg = self.head()
        if major != major_wanted:
            raise SchemaViolation(
                f"{where}: expected {'a map' if major_wanted == 5 else 'an array'}"
            )
        _check_len(arg, field, where, "items")
        return arg

    def values(self, field: _Field, where: str) -> dict[int, int]:
        result: dict[int, int] = {}
        previous = -1
        for _ in range(self.count(_MAP, field, where)):
            point = self.uint(0, 0xFF, f"{where} key")
            if point <= previous:
                raise NonCanonicalMessage(f"{where}: keys not strictly ascending")
            previous = point
            result[point] = self.int32(f"{where}[{point}]")
        return result

    def points(self, field: _Field, where: str) -> tuple[PointSpec, ...]:
        specs = []
        shape = _Field(0, "point", _Kind.POINTS, 5, 5)
        name = _Field(1, "name", _Kind.TEXT, 1, MAX_NAME_LEN)
        for _ in range(self.count(_ARRAY, field, where)):
            self.count(_ARRAY, shape, f"{where} item")
            point = self.uint(0, 0xFF, f"{where} id")
            label = self.text(name, f"{where} name")
            low, high = self.int32(f"{where} min"), self.int32(f"{where} max")
            major, arg = self.head()
            if major != 7:
                raise SchemaViolation(f"{where} writable: expected a bool")
            specs.append(PointSpec(point, label, low, high, arg == 1))
        return tuple(specs)

    def field(self, field: _Field, where: str) -> object:
        if field.kind is _Kind.UINT:
            return self.uint(field.low, field.high, where)
        if field.kind is _Kind.INT32:
            return self.int32(where)
        if field.kind is _Kind.TEXT:
            return self.text(field, where)
        if field.kind is _Kind.BYTES:
            return self.string(_BYTES, field, where)
        if field.kind is _Kind.VALUES:
            return self.values(field, where)
        return self.points(field, where)


# Fields used only for their length limits: the envelope is an array of exactly 3 items.
_ENVELOPE = _Field(0, "envelope", _Kind.POINTS, 3, 3)


def decode(data: bytes) -> AnyMessage:
    """The message in ``data``; anything else raises a ``BridgeMessageError`` subclass."""
    reader = _Reader(data)
    reader.count(_ARRAY, _ENVELOPE, "envelope")
    if reader.uint(0, 2**64, "format version") != FORMAT_VERSION:
        raise UnsupportedFormat(f"format version is not {FORMAT_VERSION}")
    type_id = reader.uint(0, 2**64, "type id")
    cls = MESSAGE_TYPES.get(type_id)
    if cls is None:
        raise UnknownMessageType(f"unknown message type {type_id}")
    by_key = {field.key: field for field in cls.FIELDS}
    body = _Field(0, "body", _Kind.VALUES, 0, len(cls.FIELDS))
    values: dict[str, object] = {}
    previous = -1
    for _ in range(reader.count(_MAP, body, cls.__name__)):
        key = reader.uint(0, 2**64, f"{cls.__name__} key")
        if key <= previous:
            raise NonCanonicalMessage(f"{cls.__name__}: keys not strictly ascending")
        previous = key
        field = by_key.get(key)
        if field is None:
            raise SchemaViolation(f"{cls.__name__}: unknown key {key}")
        values[field.name] = reader.field(field, f"{cls.__name__}.{field.name}")
    missing = [field.key for field in cls.FIELDS if field.name not in values]
    if missing:
        raise SchemaViolation(f"{cls.__name__}: missing keys {missing}")
    if reader.pos != len(data):
        raise MalformedMessage(f"{len(data) - reader.pos} trailing bytes after the message")
    construct: Any = cls  # the fields were checked one by one against cls.FIELDS
    return cast(AnyMessage, construct(**values))


# --- JSON form, for the shared vectors ----------------------------------------------------------


def to_json(message: BridgeMessage) -> dict[str, object]:
    """A JSON-ready dict: bytes as hex, values maps with string keys, point specs as dicts."""
    out: dict[str, object] = {"type": message.NAME}
    for field in fields(message):
        value = getattr(message, field.name)
        if isinstance(value, bytes):
            value = value.hex()
        elif isinstance(value, Mapping):
            value = {str(k): v for k, v in sorted(value.items())}
        elif isinstance(value, tuple):
            value = [vars(spec) for spec in value]
        out[field.name] = value
    return out


def from_json(obj: Mapping[str, object]) -> AnyMessage:
    """Inverse of ``to_json``."""
    by_name = {cls.NAME: cls for cls in MESSAGE_TYPES.values()}
    cls = by_name[str(obj["type"])]
    kwargs: dict[str, object] = {}
    for field in cls.FIELDS:
        value = obj[field.name]
        if field.kind is _Kind.BYTES:
            value = bytes.fromhex(str(value))
        elif field.kind is _Kind.VALUES:
            assert isinstance(value, Mapping)
            value = {int(k): v for k, v in value.items()}
        elif field.kind is _Kind.POINTS:
            assert isinstance(value, list)
            value = tuple(PointSpec(**spec) for spec in value)
        kwargs[field.name] = value
    construct: Any = cls
    return cast(AnyMessage, construct(**kwargs))
