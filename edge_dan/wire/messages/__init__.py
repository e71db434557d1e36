"""Wire messages: versioned schemas encoded as canonical CBOR and decoded strictly.

Envelope: ``[format_version, type_id, {field_key: value}]`` (see ``schema.py`` for the rules and
how to add a type). Type ids are unique across edge_dan and never reused:

- 1..255: session control (``control.py``)
- 256..511: pairing
- 512..1023: negotiation
- 1024..1279: discovery (advertising keys)
- 1280..1535: firmware bridge
- 1536..65535: unassigned
"""

from edge_dan.wire.messages import (  # noqa: F401  (registers)
    agenda,
    discovery,
    negotiation,
    negotiation_ao,
    pairing,
)
from edge_dan.wire.messages.control import (
    PROTOCOL_VERSION,
    Close,
    CloseCode,
    Error,
    ErrorCode,
    HandshakePayload,
    Ping,
    Pong,
)
from edge_dan.wire.messages.schema import (
    FORMAT_VERSION,
    MAX_MESSAGE_SIZE,
    U8,
    U16,
    U32,
    U64,
    Bool,
    Bytes,
    FieldType,
    Int,
    List,
    Map,
    Message,
    Text,
    Wire,
    decode,
    decode_as,
    encode,
    register,
    registered,
)

__all__ = [
    "FORMAT_VERSION",
    "MAX_MESSAGE_SIZE",
    "PROTOCOL_VERSION",
    "U8",
    "U16",
    "U32",
    "U64",
    "Bool",
    "Bytes",
    "Close",
    "CloseCode",
    "Error",
    "ErrorCode",
    "FieldType",
    "HandshakePayload",
    "Int",
    "List",
    "Map",
    "Message",
    "Ping",
    "Pong",
    "Text",
    "Wire",
    "decode",
    "decode_as",
    "encode",
    "register",
    "registered",
]
