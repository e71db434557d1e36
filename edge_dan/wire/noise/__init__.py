"""The Noise Protocol Framework (revision 34) on PyNaCl primitives, sans-IO.

Supported: DH 25519, cipher ChaChaPoly, hash BLAKE2b or SHA256; the one-way, fundamental interactive
and deferred patterns with any psk modifiers. Typical use::

    hs = Handshake("Noise_XX_25519_ChaChaPoly_BLAKE2b", initiator=True, s=my_static)
    link.send(hs.write_message())
    ...
    send, receive = hs.split()
"""

from edge_dan.wire.noise.crypto import KeyPair
from edge_dan.wire.noise.handshake import Handshake, parse_protocol_name
from edge_dan.wire.noise.state import MAX_MESSAGE_LEN, CipherState

__all__ = ["MAX_MESSAGE_LEN", "CipherState", "Handshake", "KeyPair", "parse_protocol_name"]
