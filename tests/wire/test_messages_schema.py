"""The schema layer: deterministic encoding, strict decoding, declaration checks, fuzzing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_dan.wire.errors import MessageError
from edge_dan.wire.messages import (
    MAX_MESSAGE_SIZE,
    U8,
    Bool,
    Bytes,
    Close,
    FieldType,
    Int,
    List,
    Map,
    Message,
    Ping,
    Text,
    Wire,
    decode,
    decode_as,
    encode,
    register,
    registered,
)


@register
@dataclass(frozen=True)
class Sample(Message):
    """Exercises every field type; its id sits at the top of the unassigned range."""

    TYPE_ID: ClassVar[int] = 0xFFF0
    flag: Annotated[bool, Wire(0, Bool())]
    small: Annotated[int, Wire(1, Int(-1000, 1000))]
    wide: Annotated[int, Wire(2, Int(-(2**64), 2**64 - 1))]
    blob: Annotated[bytes, Wire(3, Bytes(16))]
    name: Annotated[str, Wire(4, Text(8))]
    octets: Annotated[tuple[int, ...], Wire(5, List(U8, max_items=4))]
    switches: Annotated[dict[str, bool], Wire(6, Map(Text(4), Bool(), max_items=3))]
    table: Annotated[
        dict[int, tuple[bytes, ...]],
        Wire(23, Map(Int(-5, 300), List(Bytes(2), max_items=2), max_items=3)),
    ]


@register
@dataclass(frozen=True)
class Empty(Message):
    TYPE_ID: ClassVar[int] = 0xFFF1


def _values(field_type: FieldType) -> st.SearchStrategy[Any]:
    """Every valid Python value of a declared type."""
    if isinstance(field_type, Int):
        return st.integers(field_type.min_value, field_type.max_value)
    if isinstance(field_type, Bool):
        return st.booleans()
    if isinstance(field_type, Bytes):
        return st.binary(min_size=field_type.min_len, max_size=field_type.max_len)
    if isinstance(field_type, Text):
        low, high = field_type.min_len, field_type.max_len
        return st.text(min_size=low, max_size=high).filter(lambda s: low <= len(s.encode()) <= high)
    if isinstance(field_type, List):
        return st.lists(_values(field_type.item), max_size=field_type.max_items).map(tuple)
    assert isinstance(field_type, Map)
    return st.dictionaries(
        _values(field_type.key), _values(field_type.value), max_size=field_type.max_items
    )


def _messages(cls: type[Message]) -> st.SearchStrategy[Message]:
    return st.builds(cls, **{name: _values(wire.type) for name, wire in cls.WIRE_FIELDS})


any_message = st.sampled_from(sorted(registered().items())).flatmap(lambda item: _messages(item[1]))


def _cbor(value: object) -> bytes:
    return bytes(cbor2.dumps(value, canonical=True))


def test_every_control_message_is_registered() -> None:
    names = {cls.__name__ for cls in registered().values()}
    assert {"HandshakePayload", "Ping", "Pong", "Close", "Error"} <= names


@settings(max_examples=300)
@given(any_message)
def test_every_registered_message_round_trips(message: Message) -> None:
    data = encode(message)
    assert decode(data) == message
    assert data == _cbor(cbor2.loads(data))  # canonical


@given(_messages(Sample))
def test_decoded_values_have_the_declared_python_types(message: Message) -> None:
    decoded = decode(encode(message))
    assert isinstance(decoded, Sample)
    assert isinstance(decoded.octets, tuple)
    assert all(isinstance(v, tuple) for v in decoded.table.values())
    assert type(decoded.flag) is bool


def test_envelope_layout() -> None:
    assert encode(Empty()).hex() == "8301" + "19fff1" + "a0"
    assert encode(Ping(5)).hex() == "830102a10005"
    assert decode(bytes.fromhex("8301" + "19fff1" + "a0")) == Empty()


def test_equal_messages_encode_to_equal_bytes_whatever_the_dict_order() -> None:
    one = Sample(True, 1, 2, b"", "", (), {"b": True, "a": False}, {300: (), -5: (b"x",)})
    two = Sample(True, 1, 2, b"", "", (), {"a": False, "b": True}, {-5: (b"x",), 300: ()})
    assert encode(one) == encode(two)


def test_lists_may_be_given_as_lists_and_come_back_as_tuples() -> None:
    message = Sample(False, 0, 0, b"", "", [1, 2], {}, {})  # type: ignore[arg-type]
    assert decode(encode(message)) == Sample(False, 0, 0, b"", "", (1, 2), {}, {})


def test_decode_as_checks_the_type() -> None:
    assert decode_as(encode(Ping(1)), Ping) == Ping(1)
    with pytest.raises(MessageError, match="expected Close, got Ping"):
        decode_as(encode(Ping(1)), Close)


PING = "830102"  # [1, 2, ...: the envelope of a Ping up to its body


@pytest.mark.parametrize(
    ("data_hex", "match"),
    [
        ("", "truncated"),
        ("83", "truncated"),
        ("830102a100", "truncated"),
        ("830102a1005bffffffffffffffff", "truncated"),  # claims 2^64-1 bytes
        ("9bffffffffffffffff", "truncated"),  # claims 2^64-1 items
        ("830102a1000500", "trailing"),
        ("830102a10005830102a10005", "trailing"),
        ("830102a100f93c00", "floating-point"),
        ("830102a100fa3f800000", "floating-point"),
        ("830102a100fb3ff0000000000000", "floating-point"),
        ("830102a100f6", "simple value"),  # null
        ("830102a100f7", "simple value"),  # undefined
        ("830102a100f0", "simple value"),
        ("830102a100f820", "simple value"),
        ("ff", "simple value"),  # a lone break
        ("9f0102a10005ff", "indefinite"),
        ("830102bf0005ff", "indefinite"),
        ("830104a200000" + "17f6162ff", "indefinite"),  # text in chunks
        ("830103a1005f4101ff", "indefinite"),
        ("830102a100c100", "tags"),
        ("830102a100c24101", "tags"),  # a bignum
        ("d81c830102a10005", "tags"),  # shareable
        ("d9d9f7830102a10005", "tags"),  # self-described CBOR
        ("830102a1001c", "malformed CBOR head"),
        ("830102a1001f", "malformed CBOR head"),
        ("830102a200010002", "duplicate key"),
        ("830102a1810000", "map keys must be"),
        ("830102a1f500", "map keys must be"),
        ("830104a200000161ff", "UTF-8"),
        ("830104a2000001" + "63eda080", "UTF-8"),  # an encoded surrogate
        ("81" * 20 + "00", "nesting deeper"),
        ("830104a2016000" + "00", "canonical"),  # keys out of order
        ("830102a1001805", "canonical"),  # 5 in two bytes
        ("830104a20000017800", "canonical"),  # length 0 in two bytes
    ],
)
def test_malformed_cbor_is_a_message_error(data_hex: str, match: str) -> None:
    with pytest.raises(MessageError, match=match):
        decode(bytes.fromhex(data_hex))


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({0: 1}, "array of"),
        ([1, 2], "array of"),
        ([1, 2, {0: 1}, 0], "array of"),
        ([2, 2, {0: 1}], "format version 2"),
        ([True, 2, {0: 1}], "format version True"),
        ([1, 9999, {}], "unknown message type 9999"),
        ([1, 0, {}], "unknown message type 0"),
        ([1, True, {0: 1}], "unknown message type True"),
        ([1, "ping", {0: 1}], "unknown message type 'ping'"),
        ([1, 2, [1]], "body must be a map"),
        ([1, 2, {}], r"missing fields \[0\]"),
        ([1, 2, {0: 1, 1: 2}], r"unexpected keys \['1'\]"),
        ([1, 2, {0: 1, "x": 2}], "unexpected keys"),
        ([1, 2, {0: "1"}], "Ping.counter: expected an integer, got str"),
        ([1, 2, {0: True}], "expected an integer, got bool"),
        ([1, 2, {0: -1}], "outside 0..18446744073709551615"),
        ([1, 4, {0: 0, 1: b"bytes"}], "Close.reason: expected text"),
        ([1, 4, {0: 0, 1: "x" * 121}], "121 UTF-8 bytes, allowed 0..120"),
        ([1, 4, {0: 0, 1: "é" * 61}], "122 UTF-8 bytes"),
    ],
)
def test_schema_violations_are_message_errors(value: object, match: str) -> None:
    with pytest.raises(MessageError, match=match):
        decode(_cbor(value))


def _sample_body(**changes: object) -> dict[int, object]:
    body: dict[int, object] = {0: False, 1: 0, 2: 0, 3: b"", 4: "", 5: [], 6: {}, 23: {}}
    body.update({int(k[1:]): v for k, v in changes.items()})
    return body


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"k0": 1}, "Sample.flag: expected a bool, got int"),
        ({"k1": 1001}, "outside -1000..1000"),
        ({"k2": 2**64}, "tags"),  # cbor2 writes a bignum, which is a tag
        ({"k3": b"x" * 17}, "17 bytes, allowed 0..16"),
        ({"k3": "text"}, "expected bytes"),
        ({"k4": "123456789"}, "9 UTF-8 bytes"),
        ({"k5": [1, 2, 3, 4, 5]}, "5 items, allowed 0..4"),
        ({"k5": [256]}, r"Sample.octets\[0\]: 256 is outside 0..255"),
        ({"k5": {}}, "expected an array"),
        ({"k6": {"abcde": True}}, "5 UTF-8 bytes"),
        ({"k6": {1: True}}, "key: expected text"),
        ({"k6": {"a": 1}}, r"Sample.switches\['a'\]: expected a bool"),
        ({"k6": {"a": True, "b": True, "c": True, "d": True}}, "4 entries, allowed 0..3"),
        ({"k6": []}, "expected a dict"),
        ({"k23": {301: []}}, "301 is outside -5..300"),
        ({"k23": {"1": []}}, "expected an integer"),
        ({"k23": {1: [b"abc"]}}, "3 bytes, allowed 0..2"),
    ],
)
def test_every_field_type_checks_what_it_decodes(changes: dict[str, object], match: str) -> None:
    decode(_cbor([1, Sample.TYPE_ID, _sample_body()]))  # the unchanged body is valid
    with pytest.raises(MessageError, match=match):
        decode(_cbor([1, Sample.TYPE_ID, _sample_body(**changes)]))


def test_oversize_input_is_refused_before_parsing() -> None:
    with pytest.raises(MessageError, match="exceeds the limit"):
        decode(b"\x00" * (MAX_MESSAGE_SIZE + 1))
    with pytest.raises(MessageError, match="9 bytes exceeds the limit 6"):
        decode(encode(Close(0, "a")), max_size=6)


def test_every_truncation_of_a_valid_message_is_refused() -> None:
    data = encode(Sample(True, -7, -(2**64), b"\x01", "é", (1,), {"a": True}, {-5: (b"xy",)}))
    for end in range(len(data)):
        with pytest.raises(MessageError):
            decode(data[:end])


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (Ping(-1), "outside"),
        (Ping(2**64), "outside"),
        (Ping(True), "expected an integer, got bool"),
        (Ping(1.0), "expected an integer, got float"),  # type: ignore[arg-type]
        (Close(0, "x" * 121), "121 UTF-8 bytes"),
        (Close(0, "\udc80"), "not encodable as UTF-8"),
        (Close(0, b"bytes"), "expected text"),  # type: ignore[arg-type]
        (Sample(1, 0, 0, b"", "", (), {}, {}), "expected a bool, got int"),  # type: ignore[arg-type]
        (Sample(False, 0, 0, bytearray(), "", (), {}, {}), "expected bytes"),  # type: ignore[arg-type]
        (Sample(False, 0, 0, b"", "", "ab", {}, {}), "expected a tuple"),  # type: ignore[arg-type]
        (Sample(False, 0, 0, b"", "", (), [], {}), "expected a dict"),  # type: ignore[arg-type]
    ],
)
def test_encode_refuses_what_decode_would_refuse(message: Message, match: str) -> None:
    with pytest.raises(MessageError, match=match):
        encode(message)


def test_encode_enforces_the_size_limit() -> None:
    with pytest.raises(MessageError, match="limit 5"):
        encode(Ping(1), max_size=5)


def test_encode_refuses_an_unregistered_type() -> None:
    @dataclass(frozen=True)
    class Stray(Message):
        TYPE_ID: ClassVar[int] = 0xFFF2

    with pytest.raises(MessageError, match="not a registered message type"):
        encode(Stray())


def test_declaration_mistakes_fail_at_import_time() -> None:
    with pytest.raises(TypeError, match="taken by Ping"):

        @register
        @dataclass(frozen=True)
        class Twin(Message):
            TYPE_ID: ClassVar[int] = Ping.TYPE_ID

    for bad_id in (0, 65536):
        with pytest.raises(TypeError, match="TYPE_ID must be"):

            @register
            @dataclass(frozen=True)
            class BadId(Message):
                TYPE_ID: ClassVar[int] = bad_id

    with pytest.raises(TypeError, match="TYPE_ID must be"):

        @register
        @dataclass(frozen=True)
        class Inherited(Ping):
            pass

    with pytest.raises(TypeError, match="must be decorated"):

        @register
        class Bare(Message):
            TYPE_ID: ClassVar[int] = 0xFFF3

    with pytest.raises(TypeError, match="exactly one Wire"):

        @register
        @dataclass(frozen=True)
        class Unkeyed(Message):
            TYPE_ID: ClassVar[int] = 0xFFF4
            value: int

    with pytest.raises(TypeError, match=r"distinct and 0\.\.23"):

        @register
        @dataclass(frozen=True)
        class SameKey(Message):
            TYPE_ID: ClassVar[int] = 0xFFF5
            a: Annotated[int, Wire(0, U8)]
            b: Annotated[int, Wire(0, U8)]

    with pytest.raises(TypeError, match=r"distinct and 0\.\.23"):

        @register
        @dataclass(frozen=True)
        class BigKey(Message):
            TYPE_ID: ClassVar[int] = 0xFFF6
            a: Annotated[int, Wire(24, U8)]

    with pytest.raises(TypeError, match="frozen"):  # raised by dataclasses itself

        @dataclass
        class Mutable(Message):  # type: ignore[misc]
            TYPE_ID: ClassVar[int] = 0xFFF7

    assert not {0xFFF3, 0xFFF4, 0xFFF5, 0xFFF6, 0xFFF7} & registered().keys()


@pytest.mark.parametrize(("low", "high"), [(5, 1), (-(2**64) - 1, 0), (0, 2**64)])
def test_int_bounds_must_fit_cbor(low: int, high: int) -> None:
    with pytest.raises(ValueError, match="Int bounds"):
        Int(low, high)


# Fuzzing: whatever arrives, decode returns a message that re-encodes to exactly the input, or
# raises MessageError. Anything else escaping is a bug.


def _decode_or_refuse(data: bytes) -> None:
    try:
        message = decode(data)
    except MessageError:
        return
    assert encode(message) == data


@settings(max_examples=1000)
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    _decode_or_refuse(data)


keys = st.integers(-(2**70), 2**70) | st.text(max_size=5) | st.binary(max_size=5) | st.booleans()
cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.binary(max_size=40)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(keys, inner, max_size=4)
        | st.builds(cbor2.CBORTag, st.integers(0, 2**64 - 1), inner)
    ),
    max_leaves=12,
)


@settings(max_examples=1000)
@given(cbor_values, st.booleans())
def test_fuzz_arbitrary_cbor_items(value: object, canonical: bool) -> None:
    _decode_or_refuse(bytes(cbor2.dumps(value, canonical=canonical)))


@settings(max_examples=1000)
@given(
    st.sampled_from(sorted(registered())),
    cbor_values | st.dictionaries(st.integers(0, 24), cbor_values),
)
def test_fuzz_arbitrary_bodies_of_known_types(type_id: int, body: object) -> None:
    _decode_or_refuse(_cbor([1, type_id, body]))


@settings(max_examples=1000)
@given(any_message, st.data())
def test_fuzz_mutated_valid_messages(message: Message, data: st.DataObject) -> None:
    encoded = bytearray(encode(message))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(encoded)))
        action = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "insert" or at == len(encoded):
            encoded[at:at] = data.draw(st.binary(min_size=1, max_size=3))
        elif action == "flip":
            encoded[at] ^= data.draw(st.integers(1, 255))
        else:
            del encoded[at]
    _decode_or_refuse(bytes(encoded))
