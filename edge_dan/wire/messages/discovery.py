"""Messages of discovery (type ids 1024..1279): handing a partner our advertising key.

Sent inside an established, authenticated session with a paired peer (right after pairing, and
at the start of later sessions so a rotated key reaches every partner), never in the clear. The
receiver keeps the key only if the sender is paired; see ``edge_dan.discovery.tokens``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from edge_dan.wire.messages.schema import Bytes, Message, Wire, register

# The wire layer sits below discovery, so it states the length itself; it is
# edge_dan.discovery.tokens.ADVERTISING_KEY_LEN (a test checks they agree).
ADVERTISING_KEY_LEN = 32


@register
@dataclass(frozen=True, repr=False)
class AdvertisingKeyGrant(Message):
    """The sender's current advertising key: with it, the receiver recognises its adverts."""

    TYPE_ID: ClassVar[int] = 0x0400
    key: Annotated[bytes, Wire(0, Bytes(ADVERTISING_KEY_LEN, min_len=ADVERTISING_KEY_LEN))]

    def __repr__(self) -> str:  # never log the key
        return "AdvertisingKeyGrant(key=...)"
