"""Declarative message schemas and the strict CBOR codec behind them.

A message on the wire is one canonical CBOR array ``[format_version, type_id, body]``, where body is
a map from small integer field keys (0..23, one byte each) to values. Encoding is deterministic:
equal messages give equal bytes, so messages can be signed and hashed. Canonical here is cbor2's
``canonical=True``: shortest integer and length forms, definite lengths, map keys sorted by the
length of their encoding and then bytewise (RFC 7049 section 3.9; for the non-negative field keys
this equals RFC 8949's bytewise order, for ``Map(Int(...))`` with negative keys it does not).
Decoding accepts exactly the bytes ``encode`` would produce and nothing else; every failure is a
``MessageError``.

Adding a message type (see ``control.py`` for examples)::

    @register
    @dataclass(frozen=True)
    class Offer(Message):
        '''What the message is for, and who sends it when.'''

        TYPE_ID: ClassVar[int] = 0x0200  # unique, never reused; see the ranges in __init__.py
        turn: Annotated[int, Wire(0, U16)]
        options: Annotated[tuple[str, ...], Wire(1, List(Text(64), max_items=10))]

Python types per field type: ``Int`` int, ``Bool`` bool, ``Bytes`` bytes, ``Text`` str,
``List`` tuple, ``Map`` dict. Every field has a limit, so a decoder's memory is bounded by its
schema; put all constraints in the field types (not in ``__post_init__``) so that encode and
decode enforce the same ones. Every registered type is picked up by the round-trip and fuzz tests
in ``tests/wire/test_messages_schema.py``; add a byte-exact golden encoding in
``tests/wire/test_messages_control.py`` or beside it.

Once released, a message's fields never change meaning: a new layout takes a new type id, so peers
of different ages fail loudly instead of misreading each other. ``FORMAT_VERSION`` changes only if
the envelope itself does.
"""

from __future__ import annotations

import dataclasses
import typing
from abc import ABC, abstractmethod
from typing import Any, ClassVar, TypeVar

import cbor2

from edge_dan.wire.errors import MessageError
from edge_dan.wire.messages.strict_cbor import check_strict

FORMAT_VERSION = 1
MAX_MESSAGE_SIZE = 65535 - 16  # the plaintext of one Noise transport message (16-byte tag)
MAX_FIELD_KEY = 23  # keys up to 23 take one byte in CBOR
_CBOR_INT_MIN, _CBOR_INT_MAX = -(2**64), 2**64 - 1


class FieldType(ABC):
    """A declared type: checks a value on its way to or from the wire."""

    @abstractmethod
    def to_wire(self, value: object, where: str) -> object:
        """Validate a Python value and return what cbor2 should encode."""

    @abstractmethod
    def from_wire(self, value: object, where: str) -> object:
        """Validate a value cbor2 decoded and return the Python value."""


@dataclasses.dataclass(frozen=True)
class Int(FieldType):
    min_value: int
    max_value: int

    def __post_init__(self) -> None:
        if not _CBOR_INT_MIN <= self.min_value <= self.max_value <= _CBOR_INT_MAX:
            raise ValueError(f"Int bounds must lie in -2^64..2^64-1 and be ordered: {self}")

    def to_wire(self, value: object, where: str) -> object:
        # bool is an int in Python but a different type on the wire; IntEnum members are fine.
        if not isinstance(value, int) or isinstance(value, bool):
            raise MessageError(f"{where}: expected an integer, got {type(value).__name__}")
        if not self.min_value <= value <= self.max_value:
            raise MessageError(f"{where}: {value} is outside {self.min_value}..{self.max_value}")
        return int(value)

    from_wire = to_wire


U8, U16, U32, U64 = (Int(0, 2**bits - 1) for bits in (8, 16, 32, 64))


@dataclasses.dataclass(frozen=True)
class Bool(FieldType):
    def to_wire(self, value: object, where: str) -> object:
        if not isinstance(value, bool):
            raise MessageError(f"{where}: expected a bool, got {type(value).__name__}")
        return value

    from_wire = to_wire


@dataclasses.dataclass(frozen=True)
class Bytes(FieldType):
    max_len: int
    min_len: int = 0

    def to_wire(self, value: object, where: str) -> object:
        if not isinstance(value, bytes):
            raise MessageError(f"{where}: expected bytes, got {type(value).__name__}")
        _check_len(len(value), self.min_len, self.max_len, where, "bytes")
        return value

    from_wire = to_wire


@dataclasses.dataclass(frozen=True)
class Text(FieldType):
    """A UTF-8 string; the limits count encoded bytes, which is what a C peer has to buffer."""

    max_len: int
    min_len: int = 0

    def to_wire(self, value: object, where: str) -> object:
        if not isinstance(value, str):
            raise MessageError(f"{where}: expected text, got {type(value).__name__}")
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise MessageError(f"{where}: text is not encodable as UTF-8") from None
        _check_len(size, self.min_len, self.max_len, where, "UTF-8 bytes")
        return value

    from_wire = to_wire


@dataclasses.dataclass(frozen=True)
class List(FieldType):
    item: FieldType
    max_items: int

    def to_wire(self, value: object, where: str) -> object:
        if not isinstance(value, tuple | list):
            raise MessageError(f"{where}: expected a tuple, got {type(value).__name__}")
        _check_len(len(value), 0, self.max_items, where, "items")
        return [self.item.to_wire(v, f"{where}[{i}]") for i, v in enumerate(value)]

    def from_wire(self, value: object, where: str) -> object:
        if not isinstance(value, list):
            raise MessageError(f"{where}: expected an array, got {type(value).__name__}")
        _check_len(len(value), 0, self.max_items, where, "items")
        return tuple(self.item.from_wire(v, f"{where}[{i}]") for i, v in enumerate(value))


@dataclasses.dataclass(frozen=True)
class Map(FieldType):
    """A map whose keys are all ``Int`` or all ``Text``, so canonical key order is unambiguous."""

    key: Int | Text
    value: FieldType
    max_items: int

    def to_wire(self, value: object, where: str) -> object:
        return self._convert(value, where, outgoing=True)

    def from_wire(self, value: object, where: str) -> object:
        return self._convert(value, where, outgoing=False)

    def _convert(self, value: object, where: str, *, outgoing: bool) -> dict[object, object]:
        if not isinstance(value, dict):
            raise MessageError(f"{where}: expected a dict, got {type(value).__name__}")
        _check_len(len(value), 0, self.max_items, where, "entries")
        convert = self.value.to_wire if outgoing else self.value.from_wire
        return {
            self.key.to_wire(k, f"{where} key"): convert(v, f"{where}[{k!r}]")
            for k, v in value.items()
        }


def _check_len(size: int, low: int, high: int, where: str, unit: str) -> None:
    if not low <= size <= high:
        raise MessageError(f"{where}: {size} {unit}, allowed {low}..{high}")


@dataclasses.dataclass(frozen=True)
class Wire:
    """Field metadata: ``Annotated[int, Wire(0, U16)]`` puts the field at key 0 as a U16."""

    key: int
    type: FieldType


@dataclasses.dataclass(frozen=True)
class Message:
    """Base of every wire message; subclasses are frozen dataclasses decorated with ``register``."""

    TYPE_ID: ClassVar[int]
    WIRE_FIELDS: ClassVar[tuple[tuple[str, Wire], ...]]  # (attribute, Wire), set by ``register``


M = TypeVar("M", bound=Message)
_REGISTRY: dict[int, type[Message]] = {}


def register(cls: type[M]) -> type[M]:
    """Make a message class known to ``decode``; checks its declaration once, at import time."""
    type_id = cls.__dict__.get("TYPE_ID")
    if not isinstance(type_id, int) or not 1 <= type_id <= 0xFFFF:
        raise TypeError(f"{cls.__name__}.TYPE_ID must be an int in 1..65535")
    if type_id in _REGISTRY:
        raise TypeError(f"type id {type_id} is taken by {_REGISTRY[type_id].__name__}")
    if "__dataclass_fields__" not in cls.__dict__:  # an inherited one would hide the fields
        raise TypeError(f"{cls.__name__} must be decorated with @dataclass(frozen=True)")
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = []
    for field in dataclasses.fields(cls):
        wires = [m for m in getattr(hints[field.name], "__metadata__", ()) if isinstance(m, Wire)]
        if len(wires) != 1:
            raise TypeError(f"{cls.__name__}.{field.name} needs exactly one Wire(key, type)")
        fields.append((field.name, wires[0]))
    keys = [wire.key for _, wire in fields]
    if len(set(keys)) != len(keys) or not all(0 <= k <= MAX_FIELD_KEY for k in keys):
        raise TypeError(f"{cls.__name__} field keys must be distinct and 0..{MAX_FIELD_KEY}")
    cls.WIRE_FIELDS = tuple(fields)
    _REGISTRY[type_id] = cls
    return cls


def registered() -> dict[int, type[Message]]:
    """Every message type ``decode`` knows, by type id."""
    return dict(_REGISTRY)


def encode(message: Message, max_size: int = MAX_MESSAGE_SIZE) -> bytes:
    """Canonical CBOR for ``message``; ``MessageError`` if a field breaks its declaration."""
    cls = type(message)
    if _REGISTRY.get(getattr(cls, "TYPE_ID", -1)) is not cls:
        raise MessageError(f"{cls.__name__} is not a registered message type")
    body = {
        wire.key: wire.type.to_wire(getattr(message, name), f"{cls.__name__}.{name}")
        for name, wire in cls.WIRE_FIELDS
    }
    data: bytes = cbor2.dumps([FORMAT_VERSION, cls.TYPE_ID, body], canonical=True)
    if len(data) > max_size:
        raise MessageError(f"{cls.__name__} encodes to {len(data)} bytes, limit {max_size}")
    return data


def decode(data: bytes, max_size: int = MAX_MESSAGE_SIZE) -> Message:
    """The message in ``data``, checked against its schema; anything else is a ``MessageError``."""
    if len(data) > max_size:
        raise MessageError(f"message of {len(data)} bytes exceeds the limit {max_size}")
    check_strict(data)
    try:
        value: Any = cbor2.loads(data)
        canonical = cbor2.dumps(value, canonical=True) == data
    except (cbor2.CBORError, ValueError, TypeError) as exc:  # not reached after check_strict
        raise MessageError(f"malformed CBOR: {exc}") from None
    if not canonical:
        raise MessageError("message is not in canonical CBOR form (key order or integer size)")
    if not isinstance(value, list) or len(value) != 3:
        raise MessageError("a message is an array of [format version, type id, body]")
    version, type_id, body = value
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise MessageError(f"unsupported message format version {version!r}")
    cls = _REGISTRY.get(type_id) if isinstance(type_id, int) else None
    if cls is None or isinstance(type_id, bool):
        raise MessageError(f"unknown message type {type_id!r}")
    if not isinstance(body, dict):
        raise MessageError(f"{cls.__name__}: the body must be a map")
    expected = {wire.key for _, wire in cls.WIRE_FIELDS}
    if body.keys() != expected:
        missing, extra = sorted(expected - body.keys()), sorted(map(repr, body.keys() - expected))
        raise MessageError(f"{cls.__name__}: missing fields {missing}, unexpected keys {extra}")
    values = {
        name: wire.type.from_wire(body[wire.key], f"{cls.__name__}.{name}")
        for name, wire in cls.WIRE_FIELDS
    }
    return cls(**values)


def decode_as(data: bytes, cls: type[M], max_size: int = MAX_MESSAGE_SIZE) -> M:
    """Like ``decode``, but a message of another type is a ``MessageError`` too."""
    message = decode(data, max_size)
    if not isinstance(message, cls):
        raise MessageError(f"expected {cls.__name__}, got {type(message).__name__}")
    return message
